"""The audit log, the one record of what happened to an object: services write it, for
staff actions and system events alike; the admin's History page, "Recent actions" and an
order's timeline read it.

One item per event (``core.models.AuditEntry``, in the back-office table:
``pk = AUDIT#{object type}#{object id}``, ``sk = {time}#{random}``): who (a staff username, or
a system actor: ``SYSTEM_STRIPE``, ``SYSTEM_SCHEDULER``, ``SYSTEM_FULFILLMENT``), when, what (an
action name and a one-line summary), why (``reason``), and the object's fields before and
after. An object's whole story is one Query of its partition (``audit_entries_of``); a staff
member's recent actions (the admin index's sidebar) are one Query of ``gsi1``
(``AUDITBY#{username}``), which system entries stay out of.

Services that change state with a conditional write put the entry in the same transaction
(``audit_entry_build`` + ``TransactWrite.save``), so a change is never left unrecorded and a
repeated event whose condition fails records nothing. Other callers use ``audit_record``.

Entries are never deleted by the app, and never updated except by a customer's erasure
(``audit_entries_rewrite``: personal data replaced by a pseudonym, and the retention policy's
TTL set). They may hold personal data (a customer's name before and after an edit), which is
why they live here and never in logs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import PutError

from core.backoffice import AUDIT, AUDIT_BY
from core.dynamodb import condition_failed, utc_now_iso
from core.models import AuditEntry

# Actors that are not staff. ``#`` never appears in a username, so these cannot collide.
SYSTEM_STRIPE = "system#stripe"  # a Stripe webhook
SYSTEM_SCHEDULER = "system#scheduler"  # a scheduled job (order expiry, fulfillment sweep)
SYSTEM_FULFILLMENT = "system#fulfillment"  # a fulfillment attempt and the vendor's answer
SYSTEM_BACKOFFICE = "system#backoffice"  # a back-office call made with no staff member
SYSTEM_MAIL = "system#mail"  # an e-mail to a buyer sent, and what SES said of it
SYSTEM_PREFIX = "system#"


@dataclass(frozen=True)
class AuditRecord:
    """An entry as pages show it (the admin's sink turns it into ``dynamo_admin``'s own
    ``LogEntry``-like shape, ``tickets.admin_site``)."""

    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    summary: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str = ""

    @property
    def is_system(self) -> bool:
        return self.actor.startswith(SYSTEM_PREFIX)

    @property
    def staff(self) -> str:
        """Who, for reading: the username, or ``"Stripe (system)"`` and the like."""
        if self.is_system:
            return f"{self.actor.removeprefix(SYSTEM_PREFIX).capitalize()} (system)"
        return self.actor


def _record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        at=datetime.fromisoformat(entry.at),
        actor=entry.staff,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_repr=entry.object_repr,
        summary=entry.summary,
        before=json.loads(entry.before),
        after=json.loads(entry.after),
        reason=entry.reason or "",
    )


def _jsonable(values: dict[str, Any]) -> str:
    return json.dumps(values, default=str, sort_keys=True)


def audit_entry_build(
    *,
    actor: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    action: str,
    summary: str = "",
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: str | None = None,
) -> AuditEntry:
    """The entry for one event, not yet written: a service saves it inside the transaction
    that makes the change (condition ``AUDIT_NEW``), or ``audit_record`` saves it alone."""
    at = at or utc_now_iso()
    system = actor.startswith(SYSTEM_PREFIX)
    return AuditEntry(
        pk=AUDIT.pk(object_type, object_id),
        sk=f"{at}#{secrets.token_hex(4)}",
        gsi1pk=None if system else AUDIT_BY.pk(actor),
        gsi1sk=None if system else at,
        at=at,
        staff=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        summary=summary[:500],
        reason=reason[:500],
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
    )


# The condition every entry is written with: a new item, never an overwrite.
AUDIT_NEW = AuditEntry.pk.does_not_exist()


def audit_record(
    *,
    staff: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    action: str,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditRecord:
    """Write one audit entry on its own (``staff``: the actor, a username or a ``SYSTEM_*``).
    Call it after the change succeeded, with the values the change left (``after``) and the
    ones it replaced (``before``)."""
    entry = audit_entry_build(
        actor=staff,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        action=action,
        summary=summary,
        reason=reason,
        before=before,
        after=after,
    )
    audit_entry_save(entry)
    return _record(entry)


def audit_entry_save(entry: AuditEntry) -> None:
    """Write one entry on its own (outside a transaction), once."""
    try:
        entry.save(condition=AUDIT_NEW)
    except PutError as error:
        # The key ends in random bits, so an entry already there is this one: DynamoDB wrote
        # it, its answer was lost and the SDK sent the put again.
        if not condition_failed(error):
            raise


def audit_entries_of(
    *, object_type: str, object_id: str, newest_first: bool = False, limit: int | None = None
) -> list[AuditRecord]:
    """Everything recorded about one object, oldest first unless ``newest_first``: staff
    actions and system events in one list (one Query, paged through)."""
    return [
        _record(e)
        for e in AuditEntry.query(
            AUDIT.pk(object_type, object_id), scan_index_forward=not newest_first, limit=limit
        )
    ]


def audit_history(*, object_type: str, object_id: str, limit: int = 100) -> list[AuditRecord]:
    """An object's history, newest first (one Query): what the admin's History page shows."""
    return audit_entries_of(
        object_type=object_type, object_id=object_id, newest_first=True, limit=limit
    )


def audit_recent_by(*, staff: str, limit: int = 10) -> list[AuditRecord]:
    """What ``staff`` changed most recently (one Query of ``gsi1``)."""
    return [
        _record(e)
        for e in AuditEntry.gsi1.query(AUDIT_BY.pk(staff), scan_index_forward=False, limit=limit)
    ]


def _years_after(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February, into a year without one
        return moment.replace(year=moment.year + years, day=28)


# The text of an entry an erasure may rewrite (ids, actor, action and time are kept).
REWRITABLE = ("object_repr", "summary", "reason", "before", "after")


def audit_entries_rewrite(
    *,
    object_type: str,
    object_id: str,
    rewrite: Callable[[str, dict[str, str]], dict[str, str]],
    keep_years: int | None = None,
) -> int:
    """Rewrite the text of every entry about one object (one Query of its partition, then one
    UpdateItem per entry that changes): ``rewrite(action, fields)`` gets ``REWRITABLE``'s
    fields and returns them as they should be. With ``keep_years``, an entry without a TTL
    gets one at its time plus that many years. Returns how many entries changed; running it
    again changes none."""
    changed = 0
    for entry in AuditEntry.query(AUDIT.pk(object_type, object_id), consistent_read=True):
        fields = {name: getattr(entry, name) or "" for name in REWRITABLE}
        rewritten = rewrite(entry.action, dict(fields))
        actions = [
            getattr(AuditEntry, name).set(value)
            for name, value in rewritten.items()
            if name in fields and value != fields[name]
        ]
        if keep_years is not None and entry.expires_at is None:
            at = datetime.fromisoformat(entry.at.replace("Z", "+00:00")).astimezone(UTC)
            actions.append(AuditEntry.expires_at.set(_years_after(at, keep_years)))
        if actions:
            entry.update(actions=actions)
            changed += 1
    return changed
