"""The admin's one-time forms, kept in the back-office table (``dynamo_admin.once`` says what
they are for; this is its ``Submissions`` store, named by ``DYNAMO_ADMIN_SUBMISSIONS``).

Two kinds of item (``core.models``)::

    ONCE#{nonce}          {object type}#{id}   one submit of one form for one object (TTL 2 days)
    ACTIONS#{type}#{id}   SEQ                  the object's action sequence and its last action

``claim`` is one ``TransactWriteItems``: put the submit's item if there is none, and move the
object's sequence on from the number the form was rendered at. Either condition failing
cancels both, so two submits of one form, or two colleagues' forms rendered at one sequence,
cannot both pass; the loser reads the winner's item to say what it did (a second submit of the
same form waits a few seconds for the first to finish, so a double click's page says what the
first did rather than "in progress"). A claim stays
``in_progress`` until ``finish`` (its outcome, kept for a second submit to be told) or
``release`` (it raised before doing anything staff should see: the same form may be sent
again, and the sequence's ``last_nonce`` lets it past its own move). A claim whose request
died keeps its lease for ``LEASE_SECONDS`` (longer than a Lambda may run), then the form may
be sent again and takes it over: every action it guards is idempotent on our side (a refund's
Stripe idempotency key derives from the nonce), so running it again does not double it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from pynamodb.exceptions import DeleteError, PynamoDBException, TransactWriteError

from core.backoffice import ACTIONS, ONCE
from core.dynamodb import cancellation_codes, transaction, utc_now, utc_now_iso
from core.exceptions import Conflict
from core.formatting import when
from core.models import ActionSequence, SubmissionRecord
from dynamo_admin.once import AlreadySubmitted, ChangedMeanwhile, Earlier

IN_PROGRESS, DONE, FAILED = "in_progress", "done", "failed"
LEASE_SECONDS = 60
# How long a second submit waits for the first to finish, to say what it did (a refund at
# Stripe takes a second or two; a double click comes within a fraction of one).
WAIT_FOR_FIRST_SECONDS = 8
RECORD_TTL = timedelta(days=2)  # longer than a form token lives (12 hours)
SEQUENCE_TTL = timedelta(days=30)  # refreshed by every claim; far longer than a token lives
SEQUENCE_SK = ACTIONS.sk
_CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT_RETRIES = 4

logger = logging.getLogger(__name__)


class SubmissionBusy(Conflict):
    code = "submission_busy"
    message = "Another request on this object is being written right now; submit again."


def _record_key(nonce: str, object_type: str, object_id: str) -> tuple[str, str]:
    return ONCE.pk(nonce), f"{object_type}#{object_id}"


def _sequence_key(object_type: str, object_id: str) -> str:
    return ACTIONS.pk(object_type, object_id)


def _earlier_submit(record: SubmissionRecord) -> Earlier:
    return Earlier(
        user=record.user,
        at=when(record.done_at or record.claimed_at),
        action=record.action,
        summary=record.summary or "",
        finished=record.status != IN_PROGRESS,
        failed=record.status == FAILED,
    )


def _earlier_action(sequence: ActionSequence | None) -> Earlier:
    if sequence is None:  # expired meanwhile: nothing more to tell
        return Earlier(user="someone", at="-", action="an action", summary="", finished=False)
    return Earlier(
        user=sequence.last_user or "someone",
        at=when(sequence.last_at),
        action=sequence.last_action or "an action",
        summary=sequence.last_summary or "",
        finished=sequence.last_summary is not None,
    )


def _first_submit_outcome(pk: str, sk: str) -> SubmissionRecord:
    """The first submit of a form sent twice, once it has finished: a double click's second
    request arrives while the first is still running, and its page should say what the first
    did, not "in progress". Waits at most ``WAIT_FOR_FIRST_SECONDS`` (then: as it is), and not
    at all for a claim whose lease ran out (its request died)."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
    while True:
        record = SubmissionRecord.get(pk, sk, consistent_read=True)
        if record.status != IN_PROGRESS or record.lease_until <= time.time():
            return record
        if time.monotonic() >= deadline:
            return record
        time.sleep(0.2)


def _sequence_get(object_type: str, object_id: str) -> ActionSequence | None:
    try:
        return ActionSequence.get(
            _sequence_key(object_type, object_id), SEQUENCE_SK, consistent_read=True
        )
    except ActionSequence.DoesNotExist:
        return None


class BackOfficeSubmissions:
    """``dynamo_admin.once.Submissions`` over the back-office table."""

    def sequences(self, *, object_type: str, keys: list[str]) -> dict[str, int]:
        """Each object's action sequence (0: none yet), in one BatchGet per 100 objects."""
        found = {key: 0 for key in keys}
        wanted = [(_sequence_key(object_type, key), SEQUENCE_SK) for key in dict.fromkeys(keys)]
        prefix = len(_sequence_key(object_type, ""))
        for item in ActionSequence.batch_get(wanted, consistent_read=True):
            found[item.pk[prefix:]] = int(item.seq or 0)
        return found

    def claim(
        self,
        *,
        nonce: str,
        object_type: str,
        object_id: str,
        action: str,
        user: str,
        sequence: int | None,
    ) -> None:
        """Claim this submit (see the module docstring); raises ``AlreadySubmitted`` or
        ``ChangedMeanwhile`` when it must not run."""
        pk, sk = _record_key(nonce, object_type, object_id)
        taking_over: SubmissionRecord | None = None
        for attempt in range(_CONFLICT_RETRIES):
            now, at = time.time(), utc_now_iso()
            try:
                with transaction() as writes:
                    if taking_over is None:
                        writes.save(
                            SubmissionRecord(
                                pk=pk,
                                sk=sk,
                                status=IN_PROGRESS,
                                action=action,
                                user=user,
                                claimed_at=at,
                                lease_until=int(now) + LEASE_SECONDS,
                                expires_at=utc_now() + RECORD_TTL,
                                gsi1pk=f"{SubmissionRecord.PER_OBJECT}{object_type}#{object_id}",
                                gsi1sk=at,
                            ),
                            condition=SubmissionRecord.pk.does_not_exist(),
                        )
                    else:  # its first run died halfway: take the claim over
                        writes.update(
                            SubmissionRecord(pk=pk, sk=sk),
                            actions=[
                                SubmissionRecord.lease_until.set(int(now) + LEASE_SECONDS),
                                SubmissionRecord.claimed_at.set(at),
                            ],
                            condition=(SubmissionRecord.status == IN_PROGRESS)
                            & (SubmissionRecord.lease_until == taking_over.lease_until),
                        )
                    if sequence is not None:
                        self._sequence_move(
                            writes, object_type, object_id, sequence, nonce, action, user, at
                        )
                return
            except TransactWriteError as error:
                codes = cancellation_codes(error)
                if not codes:
                    raise
            if codes[0] == _CONDITION_FAILED:
                existing = _first_submit_outcome(pk, sk)
                if existing.status != IN_PROGRESS or existing.lease_until > time.time():
                    raise AlreadySubmitted(_earlier_submit(existing))
                taking_over = existing
                continue
            if len(codes) > 1 and codes[1] == _CONDITION_FAILED:
                raise ChangedMeanwhile(_earlier_action(_sequence_get(object_type, object_id)))
            time.sleep(0.05 * (attempt + 1))  # TransactionConflict: a concurrent claim
        raise SubmissionBusy()

    @staticmethod
    def _sequence_move(
        writes: object,
        object_type: str,
        object_id: str,
        sequence: int,
        nonce: str,
        action: str,
        user: str,
        at: str,
    ) -> None:
        writes.update(  # type: ignore[attr-defined]
            ActionSequence(pk=_sequence_key(object_type, object_id), sk=SEQUENCE_SK),
            actions=[
                ActionSequence.kind.set("action_sequence"),
                ActionSequence.seq.set(sequence + 1),
                ActionSequence.last_nonce.set(nonce),
                ActionSequence.last_action.set(action),
                ActionSequence.last_user.set(user),
                ActionSequence.last_at.set(at),
                ActionSequence.last_summary.remove(),
                ActionSequence.expires_at.set(utc_now() + SEQUENCE_TTL),
            ],
            condition=ActionSequence.pk.does_not_exist()
            | (ActionSequence.seq == sequence)
            | (ActionSequence.last_nonce == nonce),
        )

    def finish(
        self, *, nonce: str, object_type: str, object_id: str, summary: str, failed: bool
    ) -> None:
        """Record what the claimed submit did (kept for a second submit to be told)."""
        pk, sk = _record_key(nonce, object_type, object_id)
        at = utc_now_iso()
        try:
            SubmissionRecord(pk=pk, sk=sk).update(
                actions=[
                    SubmissionRecord.status.set(FAILED if failed else DONE),
                    SubmissionRecord.summary.set(summary[:1000]),
                    SubmissionRecord.done_at.set(at),
                ],
                condition=SubmissionRecord.status == IN_PROGRESS,
            )
            ActionSequence(pk=_sequence_key(object_type, object_id), sk=SEQUENCE_SK).update(
                actions=[ActionSequence.last_summary.set(summary[:1000])],
                condition=ActionSequence.last_nonce == nonce,
            )
        except PynamoDBException as error:
            # The action took effect already: failing to note its outcome must not turn it
            # into an error page. The claim stays in progress; a resend of the form waits out
            # its lease, then takes it over and runs the (idempotent) action again.
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                logger.warning(
                    "the outcome of an admin submit was not recorded",
                    extra={"object_type": object_type, "error": type(error).__name__},
                )

    def release(self, *, nonce: str, object_type: str, object_id: str) -> None:
        """Forget a claim whose submit did nothing (it raised first), so the same form may be
        sent again. Best effort: if this fails, the lease runs out and it is taken over."""
        pk, sk = _record_key(nonce, object_type, object_id)
        try:
            SubmissionRecord(pk=pk, sk=sk).delete(condition=SubmissionRecord.status == IN_PROGRESS)
        except DeleteError:
            pass


def submissions_rewrite(*, object_type: str, object_id: str, rewrite: Callable[[str], str]) -> int:
    """Rewrite the outcome texts kept of an object's submits (its ``ONCEOF#`` partition of
    ``gsi1``, and its sequence's last one): how a customer's erasure takes their name out of
    "Already done: …" messages. Returns how many items changed; running it again changes
    none. (Submits made before the index are not in it; they expire within ``RECORD_TTL``.)"""
    changed = 0
    for item in SubmissionRecord.by_object.query(
        f"{SubmissionRecord.PER_OBJECT}{object_type}#{object_id}"
    ):
        summary = rewrite(item.summary or "")
        if summary != (item.summary or ""):
            SubmissionRecord(pk=item.pk, sk=item.sk).update(
                actions=[SubmissionRecord.summary.set(summary)],
                condition=SubmissionRecord.pk.exists(),
            )
            changed += 1
    try:
        sequence = ActionSequence.get(_sequence_key(object_type, object_id), SEQUENCE_SK)
    except ActionSequence.DoesNotExist:
        return changed
    summary = rewrite(sequence.last_summary or "")
    if sequence.last_summary and summary != sequence.last_summary:
        sequence.update(
            actions=[ActionSequence.last_summary.set(summary)],
            condition=ActionSequence.last_nonce == sequence.last_nonce,
        )
        changed += 1
    return changed
