"""``order_create``: a storefront order, with its seats and (now or when the buyer pays) its
Stripe PaymentIntent; ``order_payment_open``: the PaymentIntent of a deferred order.

Two flows (``docs/onsale.md``): the original one (API version ``2025-01-01``, the default)
opens the PaymentIntent while placing the order, steps 3 and 4 below; the deferred one
(``defer_payment``, API version ``2026-12-07``) stops after step 2: placing an order costs
DynamoDB only, and ``order_payment_open`` runs steps 3 and 4 when the buyer presses "Pay"
(Stripe's deferred intent creation: the Payment Element collected the card with the amount and
currency the order's answer gave). A cart abandoned before "Pay" never costs a Stripe call, and
its expiry has nothing to cancel there.

The steps, and what each guarantees:

1. Prices and names come from the catalog (one strongly consistent BatchGet), never from the
   client. Unknown or inactive skus are refused before anything is written.
2. One DynamoDB transaction writes the order (``pending_payment``), takes the seats from each
   limited ticket type (``available >= q``), and, for a first order, creates the customer and
   claims its normalised email. Either all of it happens or none of it: no seat is taken without
   an order, two buyers never get the last seat, and two first orders with one email make one
   customer (the loser of the email claim retries with the winner's customer).
3. The payment is opened through ``orders.payment_port`` (the payments app creates the Stripe
   PaymentIntent with the idempotency key ``order:{order_id}``).
4. A second transaction records the PaymentIntent on the order, and the payments app adds its
   payment item to that same transaction (this module never writes a ``Payment`` itself).

If Stripe fails or times out (3), or the last write fails (4), the order is *abandoned*: one
transaction deletes it and gives its seats back, and the caller answers 503 with Retry-After.
If even that fails, the order stays ``pending_payment`` with no PaymentIntent, and the expiry
job cancels it and gives the seats back: nothing is left half-made for long, nothing is lost.

DynamoDB round trips for a new order: BatchGet catalog, GetItem email claim, two
TransactWriteItems; plus the Stripe call.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from core.dynamodb import cancellation_codes, new_id, transaction, utc_now_iso
from core.exceptions import (
    Conflict,
    NotFound,
    PaymentProviderBusy,
    PaymentProviderUnavailable,
    ServiceUnavailable,
    ValidationFailed,
)
from core.idempotency import idempotency_claim, idempotency_complete, idempotency_release
from core.logging import order_id_var
from core.metrics import metric_emit
from orders.emails import email_mask, email_normalise
from orders.models import Customer, CustomerEmailClaim, Order, OrderItem, OrderStatus
from orders.payment_port import PaymentRefused, PaymentStarted, payment_gateway
from orders.selectors import customer_id_for_email, order_get, ticket_types_get
from orders.services.customers import customers_first_day_note
from orders.services.line import LineError, SeatsInCarts, line_pass_check, line_sold_out
from orders.services.seats import (
    TRANSIENT_CODES,
    seats_failure,
    seats_give_back,
    seats_plan,
    seats_take,
)

logger = logging.getLogger(__name__)

# DynamoDB cancels a transaction that collides with another on the same item (a hot ticket
# type on sale) or finds an item's partition over its write budget: retried (on another shard
# of a sharded type, else with jittered backoff), this bounds the wait.
TRANSACTION_ATTEMPTS = 6


class SoldOut(Conflict):
    code = "sold_out"
    message = "Not enough seats are left for this order."


class SeatsContended(Conflict):
    """Every try lost the seats it planned on to other orders (the last seats of an on-sale,
    taken while this one was writing): DynamoDB answered, others were faster. Nothing was
    ordered; the same order sent again may find seats."""

    code = "conflict"
    message = (
        "Other orders took the seats this one was about to take; nothing was ordered. "
        "Send it again."
    )

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    message = "This order can no longer be paid (it expired or was canceled, or is paid)."


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class CreatedOrder:
    order: Order
    client_secret: str | None  # None: deferred, ``order_payment_open`` gives it

    def __repr__(self) -> str:
        return f"CreatedOrder(order_id={self.order.order_id!r})"


def order_create(
    *,
    email: str,
    name: str,
    phone: str | None,
    lines: list[OrderLine],
    order_id: str | None = None,
    resume: bool = False,
    defer_payment: bool = False,
    line_token: str | None = None,
) -> CreatedOrder:
    """Create an order awaiting payment, with id ``order_id`` if given. ``resume`` is set when
    an idempotent request runs again after its first run died: the work that run already did
    for ``order_id`` is reused, not repeated. ``defer_payment``: no PaymentIntent now (the
    buyer's "Pay" opens it, ``order_payment_open``)."""
    if resume and order_id and (existing := order_get(order_id=order_id)) is not None:
        order_id_var.set(order_id)
        return _resume(existing, defer_payment=defer_payment)
    order_id = order_id or new_id("ord")
    onsales = set()
    for index, line in enumerate(lines):  # an on-sale admits through its line
        try:
            if line_pass_check(sku=line.sku, token=line_token):
                onsales.add(line.sku)
        except LineError as refused:
            refused.fields = {f"items.{index}.sku": [refused.message]}
            raise

    email = email_normalise(email)
    try:
        items, currency = _priced_items(lines)
        order = _order_write(
            order_id=order_id, email=email, name=name, phone=phone, items=items, currency=currency
        )
    except SoldOut as sold_out:
        _sold_out_or_in_carts(sold_out, lines, onsales)
        raise
    # From here on the order exists: its lines carry its id (a refusal before, e.g. an unknown
    # sku or no seats left, logs none: there is no such order).
    order_id_var.set(order_id)
    if defer_payment:
        _daily_totals_count(order)
        logger.info(
            "order created, payment deferred",
            extra={"total_amount": order.total_amount, "currency": order.currency},
        )
        return CreatedOrder(order=order, client_secret=None)
    gateway = payment_gateway()
    try:
        started = gateway.payment_start(
            order_id=order.order_id, amount=int(order.total_amount), currency=order.currency
        )
    except (PaymentProviderUnavailable, PaymentRefused) as error:
        logger.warning(
            "payment intent not created; abandoning the order",
            extra={"error": type(error).__name__},
        )
        _order_abandon(order)
        order_id_var.set(None)  # deleted: the answer's log line names no order
        if isinstance(error, PaymentProviderBusy):
            raise  # a 429 with its Retry-After: nothing kept, try again then
        raise PaymentProviderUnavailable() from None
    try:
        _payment_record(order, started)
    except PynamoDBException:
        logger.exception("payment not recorded; canceling the payment intent and the order")
        gateway.payment_abandon(
            order_id=order.order_id, payment_intent_id=started.payment_intent_id
        )
        _order_abandon(order)
        order_id_var.set(None)
        raise ServiceUnavailable() from None
    _daily_totals_count(order)
    logger.info(
        "order created", extra={"total_amount": order.total_amount, "currency": order.currency}
    )
    return CreatedOrder(order=order, client_secret=started.client_secret)


def _sold_out_or_in_carts(sold_out: SoldOut, lines: list[OrderLine], onsales: set[str]) -> None:
    """An admitted buyer of an on-sale is told ``sold_out`` only when the on-sale is over;
    while unpaid carts hold the seats it wanted, ``SeatsInCarts`` (try again later)."""
    short = {
        lines[int(field.split(".")[1])].sku
        for field in (sold_out.fields or {})
        if field.startswith("items.")
    }
    if any(sku in onsales and not line_sold_out(sku=sku) for sku in short):
        raise SeatsInCarts(fields=sold_out.fields) from None


@dataclass(frozen=True)
class OrderCreateAnswer:
    """The HTTP answer to an order creation: the first one, or the stored one replayed."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


def order_create_idempotent(
    *,
    idempotency_key: str | None,
    payload: Any,
    email: str,
    name: str,
    phone: str | None,
    lines: list[OrderLine],
    render: Callable[[CreatedOrder], dict[str, Any]],
    client: str = "",
    defer_payment: bool = False,
    line_token: str | None = None,
) -> OrderCreateAnswer:
    """``order_create`` behind an ``Idempotency-Key`` (``core.idempotency``): the same key
    and body get the first answer again; a run that died is resumed (same order id), never
    repeated. ``render`` turns the created order into the answer's body (the API's
    serialiser), which is what is stored for replays. Without a key, one plain creation. The
    key is ``client``'s (the caller's address): another client's same key is another claim,
    never a replay of this one's answer (``core.idempotency``, "Scoped to the client")."""
    claim = None
    if idempotency_key is not None:
        claim = idempotency_claim(
            scope="orders",
            key=idempotency_key,
            payload=payload,
            subject_id=new_id("ord"),
            client=client,
        )
        if claim.replay is not None:
            return OrderCreateAnswer(claim.replay[0], claim.replay[1], replayed=True)
    try:
        created = order_create(
            email=email,
            name=name,
            phone=phone,
            lines=lines,
            order_id=claim.subject_id if claim else None,
            resume=bool(claim and claim.taken_over),
            defer_payment=defer_payment,
            line_token=line_token,
        )
    except Exception:
        if claim is not None:
            idempotency_release(claim=claim)
        raise
    body = render(created)
    if claim is not None:
        idempotency_complete(claim=claim, status=201, body=body)
    metric_emit("OrdersCreated")
    return OrderCreateAnswer(201, body)


def _customers_first_day_note(customer: Customer) -> None:
    """The admin customer list's bound (``orders.services.customers``). Best effort: a lost
    write is repaired by ``admin_indexes_backfill``."""
    try:
        customers_first_day_note(day=customer.created_at[:10])
    except PynamoDBException:
        logger.exception("customers' first day not noted; run admin_indexes_backfill")


def _daily_totals_count(order: Order) -> None:
    """One more order on the dashboard's day (revenue counts when it is paid). Best effort: a
    lost increment is repaired by ``daily_totals_rebuild``."""
    from orders.daily_totals import daily_totals_record

    try:
        daily_totals_record(day=order.created_at[:10], orders=1, currency=order.currency)
    except PynamoDBException:
        logger.exception("daily totals not updated; run daily_totals_rebuild")


def _priced_items(lines: list[OrderLine]) -> tuple[list[OrderItem], str]:
    types = ticket_types_get(skus=[line.sku for line in lines])
    unknown = {
        f"items.{index}.sku": ["Unknown ticket type."]
        for index, line in enumerate(lines)
        if line.sku not in types or not types[line.sku].active
    }
    if unknown:
        raise ValidationFailed(fields=unknown)
    currencies = {types[line.sku].currency for line in lines}
    if len(currencies) > 1:
        raise ValidationFailed(fields={"items": ["All items of an order must be in one currency."]})
    # (A sharded type's ``available`` is not read here: its shards answer in the transaction.)
    short = {
        f"items.{index}.quantity": ["Not enough seats left."]
        for index, line in enumerate(lines)
        if types[line.sku].available is not None and types[line.sku].available < line.quantity
    }
    if short:  # a cheap early answer; the transaction's condition is what really decides
        raise SoldOut(fields=short)
    items = [
        OrderItem(
            sku=line.sku,
            name=types[line.sku].name,
            quantity=line.quantity,
            unit_amount=int(types[line.sku].unit_amount),
            amount=int(types[line.sku].unit_amount) * line.quantity,
        )
        for line in lines
    ]
    seats_plan(items=items, ticket_types=types)
    return items, currencies.pop()


def _order_write(
    *,
    order_id: str,
    email: str,
    name: str,
    phone: str | None,
    items: list[OrderItem],
    currency: str,
) -> Order:
    customer_id = customer_id_for_email(email=email)
    for attempt in range(TRANSACTION_ATTEMPTS):
        now = utc_now_iso()
        customer = None
        if customer_id is None:
            customer = Customer(
                customer_id=new_id("cus"),
                email=email,
                name=name,
                phone=phone,
                created_at=now,
                updated_at=now,
            )
        order = Order(
            order_id=order_id,
            created_at=now,
            customer_id=customer_id or customer.customer_id,
            customer_email_masked=email_mask(email),
            status=OrderStatus.PENDING_PAYMENT.value,
            currency=currency,
            total_amount=sum(item.amount for item in items),
            items=items,
            seats_held=any(item.reserved for item in items),
            updated_at=now,
        )
        puts = []
        try:
            with transaction() as t:
                if customer is not None:
                    t.save(
                        CustomerEmailClaim(
                            pk=CustomerEmailClaim.key_for(email), customer_id=customer.customer_id
                        ),
                        condition=CustomerEmailClaim.pk.does_not_exist(),
                    )
                    t.save(customer, condition=Customer.customer_id.does_not_exist())
                    puts += ["email", "customer"]
                t.save(order, condition=Order.order_id.does_not_exist())
                puts.append("order")
                seats_take(t, items=items)
            if customer is not None:
                _customers_first_day_note(customer)
            return order
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if not codes:
                raise
            failed_puts = {
                puts[i]
                for i, code in enumerate(codes[: len(puts)])
                if code == "ConditionalCheckFailed"
            }
            seats = seats_failure(items=items, codes=codes[len(puts) :])
            sold_out = {
                f"items.{index}.quantity": ["Not enough seats left."] for index in seats.sold_out
            }
            if sold_out:
                raise SoldOut(fields=sold_out) from None
            if "email" in failed_puts:
                # Another first order with this email won the claim: use its customer.
                customer_id = customer_id_for_email(email=email)
                continue
            if "order" in failed_puts:
                raise Conflict("This order already exists.") from None
            if seats.moved and not seats.busy and attempt + 1 < TRANSACTION_ATTEMPTS:
                continue  # another shard of a sharded ticket type: no need to wait
            if TRANSIENT_CODES.intersection(codes) and attempt + 1 < TRANSACTION_ATTEMPTS:
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter
                continue
            logger.warning("order transaction canceled", extra={"cancellation_codes": codes})
            if seats.moved or seats.busy:
                raise SeatsContended() from None
            raise ServiceUnavailable() from None
    raise ServiceUnavailable()


def _payment_record(order: Order, started: PaymentStarted) -> None:
    now = utc_now_iso()
    order.payment_intent_id = started.payment_intent_id
    order.updated_at = now
    with transaction() as t:
        t.update(
            order,
            actions=[
                Order.payment_intent_id.set(started.payment_intent_id),
                Order.updated_at.set(now),
            ],
            condition=(Order.status == OrderStatus.PENDING_PAYMENT.value)
            & Order.payment_intent_id.does_not_exist(),
        )
        payment_gateway().payment_record_new(
            t,
            order_id=order.order_id,
            started=started,
            amount=int(order.total_amount),
            currency=order.currency,
            at=now,
        )


def _order_abandon(order: Order) -> None:
    """Delete an order that never got its PaymentIntent recorded, giving its seats back, in
    one transaction. Best effort: the expiry job is the safety net."""
    try:
        with transaction() as t:
            t.delete(
                order,
                condition=(Order.status == OrderStatus.PENDING_PAYMENT.value)
                & Order.payment_intent_id.does_not_exist(),
                add_version_condition=False,
            )
            seats_give_back(t, items=order.items)
    except PynamoDBException:
        logger.exception("could not abandon the order; the expiry job will cancel it")


def _resume(order: Order, *, defer_payment: bool) -> CreatedOrder:
    """The same request again after its first run died: finish what is missing."""
    gateway = payment_gateway()
    if order.payment_intent_id:
        secret = gateway.payment_client_secret(payment_intent_id=order.payment_intent_id)
        return CreatedOrder(order=order, client_secret=secret)
    if order.status != OrderStatus.PENDING_PAYMENT.value:
        raise Conflict("This order can no longer be paid.")
    if defer_payment:
        return CreatedOrder(order=order, client_secret=None)
    started = gateway.payment_start(
        order_id=order.order_id, amount=int(order.total_amount), currency=order.currency
    )
    _payment_record(order, started)
    return CreatedOrder(order=order, client_secret=started.client_secret)


def order_payment_open(*, order_id: str) -> CreatedOrder:
    """The buyer pays a deferred order: its PaymentIntent, created now (Stripe's idempotency
    key ``order:{order_id}``, so a second click or a retry gets the same one) and recorded on
    the order with the condition that it still awaits payment. An order expired or canceled
    meanwhile is ``OrderNotPayable`` and the intent just made is canceled, so nobody can pay
    it. ``PaymentProviderBusy`` (429, ``Retry-After``) when Stripe's budget has no slot in
    time: nothing changed, the buyer presses "Pay" again then."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No order with this id.")
    order_id_var.set(order_id)
    if order.status != OrderStatus.PENDING_PAYMENT.value:
        raise OrderNotPayable()
    gateway = payment_gateway()
    if order.payment_intent_id:
        secret = gateway.payment_client_secret(payment_intent_id=order.payment_intent_id)
        return CreatedOrder(order=order, client_secret=secret)
    try:
        started = gateway.payment_start(
            order_id=order.order_id, amount=int(order.total_amount), currency=order.currency
        )
    except PaymentRefused:
        raise PaymentProviderUnavailable() from None
    try:
        _payment_record(order, started)
    except PynamoDBException:
        current = order_get(order_id=order_id)
        if current is not None and current.payment_intent_id == started.payment_intent_id:
            return CreatedOrder(order=current, client_secret=started.client_secret)  # a twin
        if current is None or current.status != OrderStatus.PENDING_PAYMENT.value:
            gateway.payment_abandon(order_id=order_id, payment_intent_id=started.payment_intent_id)
            raise OrderNotPayable() from None
        # Still payable: the intent stays open (nobody has its secret yet), and "Pay" again
        # gets the same one from Stripe (same idempotency key) and records it. Canceling it
        # here made that retry get a canceled intent, and the buyer lost the order.
        raise ServiceUnavailable() from None
    logger.info("payment opened", extra={"total_amount": order.total_amount})
    return CreatedOrder(order=order, client_secret=started.client_secret)
