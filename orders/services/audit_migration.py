"""``audit_legacy_entries_migrate``: move the audit entries order services wrote before the
one audit log (``orders.models.LegacyOrderAuditEntry``, ``AUDIT#order#{id}``) into it
(``core.models.AuditEntry``, ``AUDIT#orders.order#{id}``), so the admin's History and the
order's timeline show them.

MAINTENANCE ONLY: it Scans the back-office table (filtered on the old key prefix). Each entry
moves in one transaction (the new item, conditional on its absence, and the old one's delete),
keeping its time and random suffix, so a run that dies halfway loses and doubles nothing, and
running it again only finishes what is left.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.audit import AUDIT_NEW, audit_entry_build
from core.dynamodb import transaction
from orders.models import LegacyOrderAuditEntry
from orders.services.changes import conditional_failure

_SUMMARIES = {"cancel": "Order canceled", "refund": "Refund requested"}


@dataclass
class MigrationReport:
    moved: int = 0
    already_moved: int = 0  # by a concurrent run


def _loads(value: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(value or "{}")
    except ValueError:
        return {"value": value}
    return loaded if isinstance(loaded, dict) else {"value": loaded}


def _converted(legacy: LegacyOrderAuditEntry) -> Any:
    order_id = legacy.pk.removeprefix(LegacyOrderAuditEntry.PREFIX)
    after = _loads(legacy.after)
    reason = str(after.pop("reason", "") or "")
    entry = audit_entry_build(
        actor=legacy.staff,
        object_type="orders.order",
        object_id=order_id,
        object_repr=order_id,
        action=legacy.action,
        summary=_SUMMARIES.get(legacy.action, legacy.action),
        reason=reason,
        before=_loads(legacy.before),
        after=after,
        at=legacy.at,
    )
    entry.sk = legacy.sk  # same time and suffix: a re-run finds it already there
    return entry


def audit_legacy_entries_migrate(
    *, progress: Callable[[MigrationReport], None] | None = None
) -> MigrationReport:
    """Move every legacy order audit entry; ``progress`` is called after each one."""
    report = MigrationReport()
    legacy_entries = LegacyOrderAuditEntry.scan(
        LegacyOrderAuditEntry.pk.startswith(LegacyOrderAuditEntry.PREFIX)
    )
    for legacy in legacy_entries:
        try:
            with transaction() as writes:
                writes.save(_converted(legacy), condition=AUDIT_NEW)
                writes.delete(legacy)
            report.moved += 1
        except Exception as error:
            if not conditional_failure(error):
                raise
            legacy.delete()  # a concurrent run moved it first
            report.already_moved += 1
        if progress is not None:
            progress(report)
    return report
