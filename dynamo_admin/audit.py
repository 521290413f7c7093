"""The audit sink: where the admin records each change staff make and reads history back.

The package stores nothing itself. A project gives it a sink, in settings
(``DYNAMO_ADMIN_AUDIT_SINK = "myproject.admin.AuditSink"``, a class built with no arguments)
or in code (``DynamoAdminSite(audit_sink=...)``), with three methods::

    record(*, user, object_type, object_id, object_repr, action, summary, before, after) -> None
    history(*, object_type, object_id, limit) -> list[AuditEntry]   # newest first
    recent(*, user, limit) -> list[AuditEntry]                      # the index's sidebar

``object_type`` is ``"{app_label}.{model_name}"`` of the admin's shape model; ``action`` is
``"add"``, ``"change"`` or an object action's name; ``before``/``after`` hold the values the
change replaced and left. Without a sink nothing is recorded (the system check
``dynamo_admin.W001`` says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class AuditEntry:
    """One recorded change as the admin's pages show it. It also answers what the stock
    templates ask of Django's ``LogEntry``, so the index's "Recent actions" renders it."""

    at: datetime
    user: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    summary: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    reason: str = ""  # why, when the change was made for a reason (a refund's, a cancel's)
    # Set for an entry about a whole list rather than one object (a CSV export): where its
    # link goes (None: no link). It then reads as neither an addition nor a change.
    list_url: str | None = None
    about_list: bool = False

    @property
    def action_time(self) -> datetime:
        return self.at

    @property
    def is_addition(self) -> bool:
        return self.action == "add"

    @property
    def is_change(self) -> bool:
        return self.action != "add" and not self.about_list

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
        if self.about_list:
            return self.list_url or ""
        app_label, _, model_name = self.object_type.partition(".")
        try:
            return reverse(f"admin:{app_label}_{model_name}_change", args=[self.object_id])
        except NoReverseMatch:
            return ""

    @property
    def content_type(self) -> Any:
        app_label, _, model_name = self.object_type.partition(".")
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            return None
        name = model._meta.verbose_name_plural if self.about_list else model._meta.verbose_name
        return type("ContentTypeName", (), {"name": name})()


class AuditSink(Protocol):
    def record(
        self,
        *,
        user: str,
        object_type: str,
        object_id: str,
        object_repr: str,
        action: str,
        summary: str,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None: ...

    def history(self, *, object_type: str, object_id: str, limit: int) -> list[AuditEntry]: ...

    def recent(self, *, user: str, limit: int) -> list[AuditEntry]: ...


class NullAuditSink:
    """Records nothing, remembers nothing: the default until a project names its sink."""

    def record(self, **kwargs: Any) -> None:
        return None

    def history(self, *, object_type: str, object_id: str, limit: int) -> list[AuditEntry]:
        return []

    def recent(self, *, user: str, limit: int) -> list[AuditEntry]:
        return []


class RecentActions:
    """Stands in for the ``LogEntry`` queryset the admin index's sidebar filters and slices
    (``{% get_admin_log 10 as admin_log for_user user %}``), reading the sink instead."""

    def __init__(self, sink: AuditSink, user: str | None = None) -> None:
        self.sink = sink
        self.user = user

    def filter(self, user__pk: Any = None, **kwargs: Any) -> RecentActions:
        return RecentActions(self.sink, str(user__pk) if user__pk is not None else self.user)

    def __getitem__(self, item: slice) -> list[AuditEntry]:
        if not isinstance(item, slice) or self.user is None:
            return []
        return self.sink.recent(user=self.user, limit=item.stop or 10)
