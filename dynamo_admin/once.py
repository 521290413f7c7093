"""One-time forms: every admin form that changes something takes effect once.

A double click, a browser that resubmits, the same confirmation open in two tabs, or two
colleagues confirming on the same order at the same moment: each would run the action twice.
So every such form the admin renders (an edit, an object action's button or confirmation, a
list's bulk action) carries a **form token**, signed with the project's secret key and bound to

- the object type, the action (``"change"`` for the edit form, ``"*"`` for a list's actions)
  and the staff member the page was rendered for;
- a random ``nonce``: the submit's identity (a refund derives its Stripe idempotency key
  from it, ``ObjectAction.run`` gets it as ``data[SUBMISSION_ID]``);
- for each object, its **action sequence** as the page was rendered: how many staff actions
  the object had had (``Submissions.sequences``).

Submitting claims ``(nonce, object)`` through the project's ``Submissions`` store, atomically
(one conditional write, never read-then-write), together with moving the object's sequence on
from the number the page carried. The first submit takes effect; a second one of the same
form is ``AlreadySubmitted`` (told what the first did, by whom, when) and does nothing; a form
rendered before someone else's action on the object is ``ChangedMeanwhile`` (told what they
did) and does nothing until its owner confirms again on the page as it is now. An action that
adds rather than changes (``checks_version=False``: a note) is claimed once but leaves the
sequence alone, so it stales nobody's page.

The store is the project's (``DYNAMO_ADMIN_SUBMISSIONS``, a dotted path to a class built with
no arguments, as the audit sink): this package writes no table.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib import messages
from django.core import signing
from django.http import HttpRequest

from dynamo_admin import conf

ONCE_FIELD = "_once"  # the hidden input carrying the form token
SUBMISSION_ID = "_submission_id"  # the nonce, as ``ObjectAction.run`` finds it in its data
LIST_ACTIONS = "*"  # the action a list page's token is for: any of its bulk actions
_SALT = "dynamo_admin.once"
# A form older than a staff session cannot be submitted (the page must be opened again).
TOKEN_MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True)
class FormToken:
    object_type: str
    action: str
    user: str
    nonce: str
    # object key -> the action sequence the page showed it at; None: not checked (an addition)
    sequences: dict[str, int] | None

    def sequence_of(self, key: str) -> int | None:
        """The sequence the page showed ``key`` at (None: not checked). Raises ``StaleForm``
        for an object the page did not show (a forged or mangled list submit)."""
        if self.sequences is None:
            return None
        if key not in self.sequences:
            raise StaleForm("That object was not on the page you submitted.")
        return self.sequences[key]


class StaleForm(Exception):
    """The form cannot be submitted as it is: no token, a forged or expired one, another
    staff member's, or for another object or action. Nothing was done."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Earlier:
    """What an earlier submit (or a colleague's action) did: who, when, and its outcome."""

    user: str
    at: str  # when, as staff read it
    action: str
    summary: str  # what happened ("" while it still runs)
    finished: bool = True
    failed: bool = False


class AlreadySubmitted(Exception):
    """This very form was submitted before: its first submit is ``earlier``."""

    def __init__(self, earlier: Earlier) -> None:
        super().__init__(earlier.summary)
        self.earlier = earlier


class ChangedMeanwhile(Exception):
    """Someone acted on the object after this page was rendered: ``earlier`` says what."""

    def __init__(self, earlier: Earlier) -> None:
        super().__init__(earlier.summary)
        self.earlier = earlier


class Submissions(Protocol):
    """Where claims are kept (the project's). ``claim`` is atomic: of two claims of one
    ``(nonce, object)``, or two with the same ``sequence`` for one object, one wins."""

    def sequences(self, *, object_type: str, keys: list[str]) -> dict[str, int]: ...

    def claim(
        self,
        *,
        nonce: str,
        object_type: str,
        object_id: str,
        action: str,
        user: str,
        sequence: int | None,
    ) -> None: ...

    def finish(
        self, *, nonce: str, object_type: str, object_id: str, summary: str, failed: bool
    ) -> None: ...

    def release(self, *, nonce: str, object_type: str, object_id: str) -> None: ...


class NullSubmissions:
    """Keeps nothing: every claim succeeds (the default until a project names its store)."""

    def sequences(self, *, object_type: str, keys: list[str]) -> dict[str, int]:
        return dict.fromkeys(keys, 0)

    def claim(self, **kwargs: Any) -> None:
        return None

    def finish(self, **kwargs: Any) -> None:
        return None

    def release(self, **kwargs: Any) -> None:
        return None


def submissions() -> Submissions:
    return conf.setting_object("DYNAMO_ADMIN_SUBMISSIONS") or NullSubmissions()


def token_issue(
    request: HttpRequest,
    *,
    object_type: str,
    action: str,
    sequences: dict[str, int] | None,
) -> str:
    """A new form token (a new nonce each time: each rendered form is its own submit)."""
    payload = {
        "t": object_type,
        "a": action,
        "u": request.user.get_username(),
        "n": secrets.token_urlsafe(16),
        "s": sequences,
    }
    return signing.dumps(payload, salt=_SALT, compress=True)


def token_read(request: HttpRequest, *, object_type: str, action: str) -> FormToken:
    """The posted form's token, checked (``token_check``)."""
    return token_check(
        request.POST.get(ONCE_FIELD, ""),
        user=request.user.get_username(),
        object_type=object_type,
        action=action,
    )


def token_check(raw: str, *, user: str, object_type: str, action: str) -> FormToken:
    """A token, checked: signed by us, not expired, rendered for this staff member, this
    object type and this action. Raises ``StaleForm`` otherwise."""
    if not raw:
        raise StaleForm("This form is out of date (it has no one-time token), so nothing was done.")
    try:
        payload = signing.loads(raw, salt=_SALT, max_age=TOKEN_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise StaleForm("This form was opened too long ago, so nothing was done.") from None
    except signing.BadSignature:
        raise StaleForm("This form's one-time token is not valid, so nothing was done.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("n"), str):
        raise StaleForm("This form's one-time token is not valid, so nothing was done.")
    if payload.get("u") != user:
        raise StaleForm("This form was opened by another staff member, so nothing was done.")
    if payload.get("t") != object_type or payload.get("a") != action:
        raise StaleForm("This form's one-time token is for another page, so nothing was done.")
    sequences = payload.get("s")
    try:
        checked = (
            {str(k): int(v) for k, v in sequences.items()} if isinstance(sequences, dict) else None
        )
    except (TypeError, ValueError):
        raise StaleForm("This form's one-time token is not valid, so nothing was done.") from None
    return FormToken(
        object_type=object_type, action=action, user=user, nonce=payload["n"], sequences=checked
    )


@dataclass
class Claim:
    """A claimed submit of one form for one object: ``finish`` records what it did (a second
    submit is told), ``release`` forgets it (it did nothing; the form may be sent again)."""

    store: Submissions
    nonce: str
    object_type: str
    object_id: str

    def finish(self, summary: str, *, failed: bool) -> None:
        self.store.finish(
            nonce=self.nonce,
            object_type=self.object_type,
            object_id=self.object_id,
            summary=summary,
            failed=failed,
        )

    def release(self) -> None:
        self.store.release(nonce=self.nonce, object_type=self.object_type, object_id=self.object_id)


@dataclass(frozen=True)
class Refusal:
    """Why a submit did not run, as staff read it (``level``: a ``django.contrib.messages``
    level: a repeat is a warning, a colleague's change an error)."""

    level: int
    text: str


def already_submitted_text(label: str, name: str, earlier: Earlier) -> str:
    by = f"by {earlier.user}, {earlier.at}"
    if not earlier.finished:
        return (
            f"{label} “{name}”: this form was already sent ({by}) and is still being carried "
            "out. This second submit did nothing: reload the page in a moment to see its result."
        )
    if earlier.failed:
        return (
            f"{label} “{name}”: this form was already sent ({by}) and did not go through: "
            f"{earlier.summary} This second submit did nothing."
        )
    return f"Already done ({by}): {earlier.summary} This second submit did nothing."


def changed_meanwhile_text(label: str, name: str, noun: str, earlier: Earlier) -> str:
    outcome = earlier.summary or "still being carried out."
    return (
        f"{label} “{name}” was not done: the {noun} was changed by someone else since you "
        "opened the page. "
        f"{earlier.user} ran “{earlier.action}” at {earlier.at}: {outcome} Nothing of yours "
        "was applied. The page now shows it as it is: confirm again if you still want to."
    )


def claim_submit(
    store: Submissions,
    token: FormToken,
    *,
    object_id: str,
    label: str,
    name: str,
    noun: str,
    user: str,
) -> tuple[Claim | None, Refusal]:
    """Claim ``token``'s submit for one object: the claim, or None and why not."""
    try:
        store.claim(
            nonce=token.nonce,
            object_type=token.object_type,
            object_id=object_id,
            action=label,
            user=user,
            sequence=token.sequence_of(object_id),
        )
    except StaleForm as stale:
        return None, Refusal(messages.ERROR, f"{label} “{name}”: {stale.message}")
    except AlreadySubmitted as again:
        return None, Refusal(messages.WARNING, already_submitted_text(label, name, again.earlier))
    except ChangedMeanwhile as changed:
        return None, Refusal(
            messages.ERROR, changed_meanwhile_text(label, name, noun, changed.earlier)
        )
    return Claim(store, token.nonce, token.object_type, object_id), Refusal(messages.SUCCESS, "")
