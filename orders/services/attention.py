"""The needs-attention flag: orders whose money and state disagree in a way no index of their
status shows, and the one staff action that puts such an order right again.

``attention`` on the order holds the reason (``orders.models.ATTENTION_FLAGGED``) and puts it
in the sparse ``order-attention-index``; the services that move an order into such a state set
it, and the writes that resolve it remove it in the same write (``order_mark_paid``,
``order_record_refund``, ``order_reinstate``, and the payments app's sync through
``order_attention_clear``). Setting it is one conditional UpdateItem: only when it is not set
to that reason already, so a repeated event writes nothing.

The other reasons of the queue (paid but not fulfilled, fulfillment failed, dispute open) are
states with an index of their own; ``orders.selectors.orders_needing_attention`` reads them all.
"""

from __future__ import annotations

import logging

from pynamodb.exceptions import PynamoDBException, UpdateError
from pynamodb.transactions import TransactWrite

from core.dynamodb import utc_now_iso
from core.exceptions import Conflict, NotFound
from orders.models import AttentionReason, Order, OrderStatus
from orders.selectors import order_get
from orders.services.changes import conditional_failure, order_change
from orders.services.fulfillment import fulfillment_start
from orders.services.seats import seats_take

logger = logging.getLogger(__name__)


class OrderNotReinstatable(Conflict):
    code = "order_not_reinstatable"
    message = "Only a canceled order whose payment went through can be reinstated."


def order_attention_set(
    *,
    order_id: str,
    reason: AttentionReason,
    order: Order | None = None,
    only_pending: bool = False,
    unless_refunded: bool = False,
) -> bool:
    """Put the order in the needs-attention queue for ``reason``; False if it was there already
    (or the condition below failed). ``only_pending``: only while it awaits payment.
    ``unless_refunded``: not once its whole amount is refunded (the money went back)."""
    order = order or order_get(order_id=order_id)
    if order is None:
        return False
    condition = Order.attention.does_not_exist() | (Order.attention != reason.value)
    if only_pending:
        condition &= Order.status == OrderStatus.PENDING_PAYMENT.value
    if unless_refunded:
        condition &= Order.refunded_amount.does_not_exist() | (
            Order.refunded_amount < int(order.total_amount)
        )
    try:
        order.update(
            actions=[Order.attention.set(reason.value)],
            condition=condition,
            add_version_condition=False,
        )
    except UpdateError as error:
        if conditional_failure(error):
            return False
        raise
    logger.info("order needs attention", extra={"order_id": order_id, "reason": reason.value})
    return True


def order_attention_clear(*, order_id: str, reason: AttentionReason) -> bool:
    """Take the order out of the queue for ``reason`` (not for another one set since)."""
    order = order_get(order_id=order_id)
    if order is None or order.attention != reason.value:
        return False
    try:
        order.update(
            actions=[Order.attention.remove()],
            condition=Order.attention == reason.value,
            add_version_condition=False,
        )
    except UpdateError as error:
        if conditional_failure(error):
            return False
        raise
    return True


def _revenue_add(order: Order) -> None:
    """The dashboard's revenue counter, as when an order is paid (its payment did not count
    while the order was canceled). Best effort, like every counter write."""
    from orders.daily_totals import daily_totals_record

    try:
        daily_totals_record(
            day=utc_now_iso()[:10], revenue=int(order.total_amount), currency=order.currency
        )
    except PynamoDBException:
        logger.exception("daily totals not updated; run daily_totals_rebuild")


def order_reinstate(*, order_id: str, staff: str) -> bool:
    """A canceled order whose payment went through anyway becomes ``paid`` again, if its seats
    are still free: the seats are taken back (with the same conditions as a new order's) in the
    transaction that reinstates it, then fulfillment starts. False, and nothing written, if the
    seats are gone (then refund it instead). Raises ``OrderNotReinstatable`` otherwise."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    if order.status != OrderStatus.CANCELED or order.attention != AttentionReason.PAID_CANCELED:
        raise OrderNotReinstatable()
    held = any(item.reserved for item in order.items)

    def seats_back(writes: TransactWrite) -> None:
        seats_take(writes, items=order.items)

    changed = order_change(
        order,
        actions=[
            *Order.status_actions(order_id=order.order_id, status=OrderStatus.PAID.value),
            Order.seats_held.set(False),
            Order.attention.remove(),
        ],
        condition=(Order.status == OrderStatus.CANCELED.value)
        & (Order.attention == AttentionReason.PAID_CANCELED.value),
        actor=staff,
        action="reinstate",
        summary="Reinstated: paid in Stripe after it was canceled, its seats taken again",
        before={"status": order.status},
        after={"status": OrderStatus.PAID.value},
        extra=seats_back if held else None,
    )
    if not changed:
        current = order_get(order_id=order_id)
        if current is not None and current.attention == AttentionReason.PAID_CANCELED:
            return False  # a seat's condition failed: sold out meanwhile
        raise OrderNotReinstatable()
    logger.info("order reinstated", extra={"order_id": order_id, "staff": staff})
    _revenue_add(order)
    fulfillment_start(order_id=order_id)
    return True
