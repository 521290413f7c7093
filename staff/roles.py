"""Staff roles and the Django permissions each one grants.

Roles are cumulative (each includes the one before it) and are the only source of
permissions: there are no per-user grants or groups, because those would need tables and a UI
nobody asked for. ``Staff.has_perm`` answers from ``ROLE_PERMISSIONS``; the admin's own
``has_view_permission`` / ``has_change_permission`` checks and our action checks all go
through it.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    SUPPORT = "support"
    FINANCE = "finance"
    ADMIN = "admin"


ROLE_CHOICES = [
    (Role.VIEWER.value, "Viewer (read only)"),
    (Role.SUPPORT.value, "Support (customers, cancel unpaid, retry fulfillment)"),
    (Role.FINANCE.value, "Finance (support plus refunds and ticket types)"),
    (Role.ADMIN.value, "Admin (everything, including staff accounts)"),
]

_VIEWER = {
    "orders.view_order",
    "orders.view_customer",
    "orders.view_tickettype",
    "payments.view_payment",
    "payments.view_stripeevent",
    "orders.view_dashboard",
}
_SUPPORT = _VIEWER | {
    "orders.change_customer",
    "orders.cancel_order",
    "orders.retry_fulfillment_order",
    "orders.export_order",
    # Notes on orders and customers (they add to the timeline, change nothing).
    "orders.add_note",
    # "Sync with Stripe": applies only what Stripe already decided, forward only.
    "orders.sync_payment_order",
    # "Replay" of a failed Stripe event: the same sync, from the event inbox.
    "payments.replay_stripeevent",
}
_FINANCE = _SUPPORT | {
    "orders.refund_order",
    # A customer's personal data: exported on request, erased on request (GDPR 15, 20, 17).
    "orders.export_personal_data_customer",
    "orders.erase_customer",
    "orders.add_tickettype",
    "orders.change_tickettype",
    # An event's cancellation: stop selling a ticket type, refund every order holding it.
    "orders.cancel_event_tickettype",
}
_ADMIN = _FINANCE | {
    "staff.view_staff",
    "staff.add_staff",
    "staff.change_staff",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.SUPPORT: frozenset(_SUPPORT),
    Role.FINANCE: frozenset(_FINANCE),
    Role.ADMIN: frozenset(_ADMIN),
}


def role_permissions(role: str) -> frozenset[str]:
    """The permissions of ``role``; an unknown role (a typo in a hand-edited item) has none."""
    return ROLE_PERMISSIONS.get(role, frozenset())
