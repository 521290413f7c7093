"""The audit log: every change staff make, in the back-office table.

One item per change (``pk = AUDIT#{object type}#{object id}``, ``sk = {time}#{random}``): who,
when, what (an action name and a one-line summary), and the object's fields before and after.
An object's history is one Query of its partition, newest first; a staff member's recent
actions (the admin index's sidebar) are one Query of ``gsi1`` (``AUDITBY#{username}``).

Entries are never updated or deleted and carry no TTL. They may hold personal data (a
customer's name before and after an edit), which is why they live here and never in logs.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from tickets.backoffice import BackOfficeMeta
from tickets.dynamodb import utc_now_iso


class _AuditGsi1(GlobalSecondaryIndex["AuditEntry"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class AuditEntry(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="audit")
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    at = UnicodeAttribute()
    staff = UnicodeAttribute()
    action = UnicodeAttribute()  # "add", "change", or an action's name ("refund", ...)
    object_type = UnicodeAttribute()  # "{app_label}.{model_name}", e.g. "orders.order"
    object_id = UnicodeAttribute()
    object_repr = UnicodeAttribute()
    summary = UnicodeAttribute(default="")
    before = UnicodeAttribute(default="{}")  # JSON
    after = UnicodeAttribute(default="{}")  # JSON

    gsi1 = _AuditGsi1()


@dataclass(frozen=True)
class AuditRecord:
    """An entry as pages show it, with the attributes the admin's templates expect of a
    ``LogEntry`` (so the stock "Recent actions" sidebar renders it)."""

    at: datetime
    staff: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    summary: str
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def action_time(self) -> datetime:
        return self.at

    @property
    def is_addition(self) -> bool:
        return self.action == "add"

    @property
    def is_change(self) -> bool:
        return self.action != "add"

    @property
    def is_deletion(self) -> bool:
        return False

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """``(field, before, after)`` for each field that differs."""
        names = sorted(set(self.before) | set(self.after))
        return [
            (n, self.before.get(n), self.after.get(n))
            for n in names
            if self.before.get(n) != self.after.get(n)
        ]

    def get_admin_url(self) -> str:
        from django.urls import NoReverseMatch, reverse

        app_label, _, model_name = self.object_type.partition(".")
        try:
            return reverse(f"admin:{app_label}_{model_name}_change", args=[self.object_id])
        except NoReverseMatch:
            return ""

    @property
    def content_type(self) -> Any:
        from django.apps import apps

        app_label, _, model_name = self.object_type.partition(".")
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            return None
        return type("ContentTypeName", (), {"name": model._meta.verbose_name})()


def _record(entry: AuditEntry) -> AuditRecord:
    return AuditRecord(
        at=datetime.fromisoformat(entry.at),
        staff=entry.staff,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        object_repr=entry.object_repr,
        summary=entry.summary,
        before=json.loads(entry.before),
        after=json.loads(entry.after),
    )


def _jsonable(values: dict[str, Any]) -> str:
    return json.dumps(values, default=str, sort_keys=True)


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
) -> AuditRecord:
    """Write one audit entry. Call it after the change succeeded, with the values the change
    left (``after``) and the ones it replaced (``before``)."""
    at = utc_now_iso()
    entry = AuditEntry(
        pk=f"AUDIT#{object_type}#{object_id}",
        sk=f"{at}#{secrets.token_hex(4)}",
        gsi1pk=f"AUDITBY#{staff}",
        gsi1sk=at,
        at=at,
        staff=staff,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        summary=summary[:500],
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
    )
    entry.save(condition=AuditEntry.pk.does_not_exist())
    return _record(entry)


def audit_history(*, object_type: str, object_id: str, limit: int = 100) -> list[AuditRecord]:
    """An object's changes, newest first (one Query)."""
    return [
        _record(e)
        for e in AuditEntry.query(
            f"AUDIT#{object_type}#{object_id}", scan_index_forward=False, limit=limit
        )
    ]


def audit_recent_by(*, staff: str, limit: int = 10) -> list[AuditRecord]:
    """What ``staff`` changed most recently (one Query of ``gsi1``)."""
    return [
        _record(e)
        for e in AuditEntry.gsi1.query(f"AUDITBY#{staff}", scan_index_forward=False, limit=limit)
    ]


class RecentActions:
    """Stands in for the ``LogEntry`` queryset the admin index's sidebar filters and slices
    (``{% get_admin_log 10 as admin_log for_user user %}``), reading the audit log instead."""

    def __init__(self, staff: str | None = None) -> None:
        self.staff = staff

    def filter(self, user__pk: Any = None, **kwargs: Any) -> RecentActions:
        return RecentActions(str(user__pk) if user__pk is not None else self.staff)

    def __getitem__(self, item: slice) -> list[AuditRecord]:
        if not isinstance(item, slice) or self.staff is None:
            return []
        return audit_recent_by(staff=self.staff, limit=item.stop or 10)
