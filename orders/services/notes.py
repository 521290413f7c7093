"""Staff notes on orders and customers: who wrote what, when.

A note is an entry in the one audit log (``core.audit``, action ``note``) on the order or
the customer it is about, so it is audited by being written, shows on the order's timeline
and the customer's page, and is never edited or deleted (a correction is another note). Notes
may hold personal details a customer gave on the phone, which is why they are kept with the
audit entries and never logged.
"""

from __future__ import annotations

import logging

from core.audit import AuditRecord, audit_record
from core.exceptions import ValidationFailed
from orders.models import Customer, Order

logger = logging.getLogger(__name__)

NOTE_ACTION = "note"
NOTE_MAX_LENGTH = 2000
ORDER_TYPE = "orders.order"
CUSTOMER_TYPE = "orders.customer"


def _text_clean(text: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValidationFailed("A note cannot be empty.")
    if len(cleaned) > NOTE_MAX_LENGTH:
        raise ValidationFailed(f"A note holds at most {NOTE_MAX_LENGTH} characters.")
    return cleaned


def _note_write(
    *, object_type: str, object_id: str, object_repr: str, staff: str, text: str
) -> AuditRecord:
    cleaned = _text_clean(text)
    first_line = cleaned.splitlines()[0]
    record = audit_record(
        staff=staff,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        action=NOTE_ACTION,
        summary=f"Note: {first_line[:200]}",
        after={"text": cleaned},
    )
    logger.info("note added", extra={"object_type": object_type, "length": len(cleaned)})
    return record


def order_note_add(*, order: Order, staff: str, text: str) -> AuditRecord:
    """Add a note by ``staff`` to ``order`` (``ValidationFailed`` if empty or too long)."""
    return _note_write(
        object_type=ORDER_TYPE,
        object_id=order.order_id,
        object_repr=order.order_id,
        staff=staff,
        text=text,
    )


def customer_note_add(*, customer: Customer, staff: str, text: str) -> AuditRecord:
    """Add a note by ``staff`` to ``customer`` (``ValidationFailed`` if empty or too long)."""
    return _note_write(
        object_type=CUSTOMER_TYPE,
        object_id=customer.customer_id,
        object_repr=f"{customer.name} ({customer.customer_id})",
        staff=staff,
        text=text,
    )
