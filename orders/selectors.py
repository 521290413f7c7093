"""Reads of orders, customers and the catalog: the only place that knows their keys and indexes.

No function here Scans: each is a key lookup, a BatchGet or a Query of one index partition.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from pynamodb.exceptions import DoesNotExist

from core.audit import audit_entries_of
from core.backoffice import EMAIL_CLAIM, LIST_BOUND, TICKET_CODE
from core.dynamodb import iso_utc
from core.formatting import money_format
from orders.emails import email_normalise
from orders.models import (
    ATTENTION_FLAGGED,
    CATALOG_ACTIVE,
    CUSTOMERS_BY_EMAIL_PREFIX,
    CUSTOMERS_BY_NAME,
    CUSTOMERS_BY_SURNAME,
    CUSTOMERS_FIRST_DAY,
    DISPUTE_OPEN,
    ORDERS_BY_MONTH,
    ORDERS_BY_STATUS,
    VOID_FAILED,
    AttentionReason,
    Customer,
    CustomerEmailClaim,
    ListBound,
    Order,
    OrderStatus,
    TicketCodeLookup,
    TicketType,
    search_bucket,
    search_key,
    time_bucket,
)
from orders.services.seats import seats_fill
from orders.timeline import TimelineEvent, timeline_sources

ORDER_ID_PATTERN = re.compile(r"^ord_[A-Za-z0-9_-]{16,64}$")


def catalog_list() -> list[TicketType]:
    """The active ticket types, by sku: one Query of the sparse catalog index, plus one
    BatchGet of the shards of the sharded ones (their ``available`` is the sum)."""
    types = list(TicketType.catalog_index.query(CATALOG_ACTIVE))
    seats_fill(ticket_types=types, consistent=False)
    return types


def ticket_types_get(*, skus: Iterable[str]) -> dict[str, TicketType]:
    """The ticket types with these skus (active or not), strongly consistent, in one BatchGet.
    A sharded type's ``available`` is not read (None; ``limited`` says it counts seats): the
    order path leaves it to the shards' conditions. ``ticket_type_get`` reads it."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    return {t.sku: t for t in TicketType.batch_get(wanted, consistent_read=True)}


def order_get(*, order_id: str) -> Order | None:
    """The order with this id, or None. (The table's range key is ``created_at``, so this is a
    one-item Query of the order's partition rather than a GetItem.)"""
    if not ORDER_ID_PATTERN.match(order_id):
        return None
    return next(iter(Order.query(order_id, limit=1, consistent_read=True)), None)


def customer_id_for_email(*, email: str) -> str | None:
    """The customer owning a normalised email, from its claim (strongly consistent, unlike the
    customers table's email-index)."""
    try:
        claim = CustomerEmailClaim.get(
            CustomerEmailClaim.key_for(email), EMAIL_CLAIM.sk, consistent_read=True
        )
    except DoesNotExist:
        return None
    return claim.customer_id


def customer_get(*, customer_id: str, consistent: bool = False) -> Customer | None:
    """By key. ``consistent``: a strongly consistent read (the admin, which edits it next)."""
    try:
        return Customer.get(customer_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def ticket_type_get(*, sku: str) -> TicketType | None:
    """By key, strongly consistent (its seats left change with every order), with the seats
    left of a sharded type summed over its shards (one more BatchGet)."""
    try:
        ticket_type = TicketType.get(sku, consistent_read=True)
    except DoesNotExist:
        return None
    seats_fill(ticket_types=[ticket_type])
    return ticket_type


def customers_by_email(*, email: str, limit: int = 5) -> list[Customer]:
    """``email-index`` on the normalised e-mail (eventually consistent); none for a malformed
    address. (To decide who owns an address, ``customer_id_for_email`` reads the claim.)"""
    try:
        normalised = email_normalise(email)
    except ValueError:
        return []
    return list(Customer.email_index.query(normalised, limit=limit))


def orders_of_customer(*, customer_id: str, limit: int = 50) -> list[Order]:
    """A customer's orders, newest first (``customer-id-index``)."""
    return list(Order.customer_index.query(customer_id, scan_index_forward=False, limit=limit))


# --- Searches (the admin's search box) ----------------------------------------------------------

SEARCH_CUSTOMERS = 10  # customers a name or e-mail search reads at most, per index


def customers_by_name(*, term: str, limit: int = SEARCH_CUSTOMERS) -> list[Customer]:
    """Customers whose name, or its last word, starts with ``term`` (accents and case
    ignored), by name: ``customer-name-index`` and ``customer-surname-index``, each in the
    bucket of the term's first two characters (one Query per shard of it) and at most
    ``limit`` items. Nothing for a term shorter than two characters."""
    key = search_key(term)
    bucket = search_bucket(key)
    if bucket is None:
        return []
    found: dict[str, Customer] = {}
    for index, attribute in (
        (CUSTOMERS_BY_NAME, Customer.name_key),
        (CUSTOMERS_BY_SURNAME, Customer.surname_key),
    ):
        for customer in index.query(
            bucket, range_key_condition=attribute.startswith(key), limit=limit
        ):
            found.setdefault(customer.customer_id, customer)
    return sorted(found.values(), key=lambda c: c.name_key or "")[:limit]


def customers_by_email_prefix(*, term: str, limit: int = SEARCH_CUSTOMERS) -> list[Customer]:
    """Customers whose normalised e-mail starts with ``term`` (``ada``, ``ada@exa``): one Query
    of ``customer-email-prefix-index`` per shard of the bucket of its first two characters."""
    key = email_normalise(term)
    bucket = search_bucket(key)
    if bucket is None or " " in key:
        return []
    return list(
        CUSTOMERS_BY_EMAIL_PREFIX.query(
            bucket, range_key_condition=Customer.email.startswith(key), limit=limit
        )
    )


def orders_of_customers(*, customers: Iterable[Customer], limit: int) -> list[Order]:
    """The newest ``limit`` orders of these customers (one ``customer-id-index`` Query each,
    at most ``limit`` items), newest first."""
    orders: list[Order] = []
    for customer_id in dict.fromkeys(c.customer_id for c in customers):
        orders.extend(orders_of_customer(customer_id=customer_id, limit=limit))
    return sorted(orders, key=lambda o: o.created_at, reverse=True)[:limit]


def order_by_ticket_code(*, code: str) -> Order | None:
    """The order a ticket code was issued on (its ``TicketCodeLookup``, then the order)."""
    if not code.strip():
        return None
    try:
        lookup = TicketCodeLookup.get(TicketCodeLookup.key_for(code), TICKET_CODE.sk)
    except DoesNotExist:
        return None
    return order_get(order_id=lookup.order_id)


def customers_get_many(*, customer_ids: Iterable[str]) -> dict[str, Customer]:
    """Customers by id, in one BatchGet per 100 (a list page's customers), by id."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return {}
    return {c.customer_id: c for c in Customer.batch_get(wanted)}


def orders_with_status(
    *, status: str, limit: int, created_before: str | None = None, oldest_first: bool = False
) -> list[Order]:
    """Orders in one status, newest first (or oldest first), optionally created before an ISO
    time (``order-status-index``)."""
    condition = Order.created_at < created_before if created_before else None
    return list(
        ORDERS_BY_STATUS.query(
            status, range_key_condition=condition, scan_index_forward=oldest_first, limit=limit
        )
    )


def orders_with_open_dispute(*, limit: int) -> list[Order]:
    """Orders with an open dispute, newest first (the sparse ``order-dispute-index``)."""
    return list(Order.dispute_index.query(DISPUTE_OPEN, scan_index_forward=False, limit=limit))


def orders_of_day(*, day: date, page_size: int) -> Iterator[Order]:
    """Every order created on one UTC day, oldest first, read ``page_size`` at a time
    (``order-day-index``: its month's shards, merged): memory stays flat however many there
    are."""
    text = day.isoformat()
    return ORDERS_BY_MONTH.query(
        time_bucket(text),
        range_key_condition=Order.created_at.between(
            f"{text}T00:00:00.000000Z", f"{text}T23:59:59.999999Z"
        ),
        page_size=page_size,
    )


def orders_oldest_day() -> date | None:
    """The day the oldest order was created, or ``None`` with no orders: every order is in one
    status of ``order-status-index``, so this is one single-item Query per status and shard,
    oldest first (a fixed cost, whatever the table holds). The admin's order list stops its
    day-by-day walk there."""
    oldest = [
        order.created_at
        for status in OrderStatus
        for order in ORDERS_BY_STATUS.query(status.value, scan_index_forward=True, limit=1)
    ]
    return date.fromisoformat(min(oldest)[:10]) if oldest else None


def customers_oldest_day() -> date | None:
    """The day the oldest customer was created, or ``None`` with no customers: one GetItem of
    the bound ``orders.services.customers.customers_first_day_note`` keeps (on a stage whose
    customers predate it, ``admin_indexes_backfill`` sets it). The admin's customer list
    stops its day-by-day walk there."""
    try:
        bound = ListBound.get(CUSTOMERS_FIRST_DAY, LIST_BOUND.sk)
    except DoesNotExist:
        return None
    return date.fromisoformat(bound.day)


def orders_needing_attention(
    *, reason: AttentionReason, limit: int, paid_before: str | None = None
) -> list[Order]:
    """The orders in the needs-attention queue for one reason, oldest first, at most ``limit``:
    one Query of one index partition each (``order-attention-index`` for the reasons kept in
    ``Order.attention``, ``order-status-index`` for paid-not-fulfilled and fulfillment failed,
    ``order-dispute-index`` for open disputes, ``void-queue-index`` for tickets not voided). ``paid_before``: for paid-not-fulfilled, only
    orders created before this ISO time (the threshold)."""
    if reason in ATTENTION_FLAGGED:
        return list(Order.attention_index.query(reason.value, limit=limit))
    if reason == AttentionReason.PAID_NOT_FULFILLED:
        return orders_with_status(
            status=OrderStatus.PAID.value,
            limit=limit,
            created_before=paid_before,
            oldest_first=True,
        )
    if reason == AttentionReason.FULFILLMENT_FAILED:
        return orders_with_status(
            status=OrderStatus.FULFILLMENT_FAILED.value, limit=limit, oldest_first=True
        )
    if reason == AttentionReason.VOID_FAILED:
        return list(Order.void_index.query(VOID_FAILED, limit=limit))
    return list(Order.dispute_index.query(DISPUTE_OPEN, limit=limit))


# --- The order's timeline ----------------------------------------------------------------------

# Audit actions the timeline takes from elsewhere: fulfillment attempts are on the order itself
# (its UpdateItem holds them; the entry is a copy), and the CSV export is not about one order.
_TIMELINE_SKIPPED = {"fulfillment_attempt", "export"}
# How an audit action reads on the timeline: (kind, title when the entry has no summary).
_TIMELINE_KINDS = {
    "paid": ("paid", "Paid"),
    "cancel": ("cancel", "Canceled"),
    "expire": ("cancel", "Expired unpaid"),
    "refund": ("refund", "Refund requested"),
    "refunded": ("refund", "Refunded"),
    "dispute": ("dispute", "Disputed"),
    "dispute_closed": ("dispute", "Dispute closed"),
    "reinstate": ("paid", "Reinstated"),
    "note": ("note", "Note"),
    "change": ("edit", "Changed"),
    "retry_fulfillment": ("fulfillment", "Fulfillment retried"),
    "void_request": ("tickets", "Tickets to void"),
    "contact_change": ("edit", "Buyer's contact corrected"),
    "email": ("email", "E-mail to the buyer"),
    "email_resend": ("email", "E-mail resent"),
    "void_attempt": ("tickets", "Void at the vendor"),
    "retry_void": ("tickets", "Void retried"),
    "void_accepted": ("tickets", "Tickets left valid"),
    # A customer's personal data (orders.services.personal_data).
    "export_personal_data": ("other", "Personal data exported"),
    "erase": ("edit", "Personal data erased"),
    # A Stripe event's outcome on this order, written by the payments app's event inbox.
    "stripe_event": ("webhook", "Stripe event"),
}
TIMELINE_AUDIT_LIMIT = 500  # entries per object read for one page (an order has dozens)


def _audit_event(record: Any, *, note_of: str = "") -> TimelineEvent:
    kind, title = _TIMELINE_KINDS.get(record.action, ("other", record.action.replace("_", " ")))
    if record.action.startswith("webhook") or record.action.startswith("event"):
        kind = "webhook"
    if record.action == "note":
        text = record.after.get("text") or record.summary.removeprefix("Note: ")
        return TimelineEvent(
            at=iso_utc(record.at),
            kind="note",
            title=note_of or "Note",
            actor=record.staff,
            detail=text,
            system=record.is_system,
        )
    detail = record.summary or title
    if record.action == "stripe_event" and record.after.get("event_type"):
        title = f"Stripe event {record.after['event_type']}"
        outcome = str(record.after.get("outcome") or "").replace("_", " ")
        detail = f"{outcome.capitalize()} ({record.after.get('event_id', '')})".strip()
    if record.action == "change" and record.before:
        detail = "; ".join(
            f"{name}: {record.before.get(name) or '-'} → {record.after.get(name) or '-'}"
            for name in sorted(record.after)
        )
        title = "Edited by staff"
    return TimelineEvent(
        at=iso_utc(record.at),
        kind=kind,
        title=title,
        actor=record.staff,
        detail=detail if detail != title else "",
        reason=record.reason,
        system=record.is_system,
        ref=str(record.after.get("refund_id") or ""),
    )


def _order_own_events(order: Order) -> list[TimelineEvent]:
    items = sum(int(i.quantity) for i in order.items)
    events = [
        TimelineEvent(
            at=order.created_at,
            kind="created",
            title="Order placed",
            actor="Buyer (storefront)",
            detail=f"{items} ticket{'s' if items != 1 else ''}, "
            f"{money_format(int(order.total_amount), order.currency)}",
        )
    ]
    outcomes = {
        "success": "Fulfillment succeeded",
        "retryable": "Fulfillment attempt failed, will retry",
        "permanent": "Fulfillment failed for good",
    }
    for n, attempt in enumerate(order.fulfillment_attempts or [], start=1):
        events.append(
            TimelineEvent(
                at=attempt.at,
                kind="fulfillment",
                title=f"Fulfillment attempt {n}: {outcomes.get(attempt.outcome, attempt.outcome)}",
                actor="Fulfillment (system)",
                detail=attempt.detail or "",
                system=True,
            )
        )
        if attempt.outcome == "success" and order.tickets:
            codes = ", ".join(t.code or t.ticket_id for t in order.tickets)
            events.append(
                TimelineEvent(
                    at=attempt.at,
                    kind="tickets",
                    title=f"{len(order.tickets)} ticket{'s' if len(order.tickets) != 1 else ''} "
                    "issued",
                    actor="Ticket vendor (system)",
                    detail=codes,
                    system=True,
                )
            )
    return events


def order_timeline(*, order: Order) -> list[TimelineEvent]:
    """Everything that happened to ``order``, oldest first, each with who or what did it: the
    order's own record (placed, fulfillment attempts, tickets issued), the registered sources
    (the payments app's attempts and refunds), its audit entries (paid, webhook outcomes,
    cancel or expiry, refunds, disputes, staff edits, notes) and its customer's notes. A fact
    two records hold (a refund: on the payment and in the audit log) is shown once.

    Reads: one Query of the order's audit partition, one of its customer's, plus each
    source's own (the payments app: one Query of ``order-id-index``); never a Scan."""
    events = _order_own_events(order)
    for source in timeline_sources():
        events.extend(source(order))
    shown_refs = {e.ref for e in events if e.ref}
    for record in audit_entries_of(
        object_type="orders.order", object_id=order.order_id, limit=TIMELINE_AUDIT_LIMIT
    ):
        if record.action in _TIMELINE_SKIPPED:
            continue
        event = _audit_event(record)
        if event.ref and event.ref in shown_refs and record.action == "refund":
            continue  # the payment's refund line says it, with its reason
        events.append(event)
    events.extend(
        _audit_event(record, note_of="Note on the customer")
        for record in customer_notes(customer_id=order.customer_id)
    )
    return sorted(events, key=lambda e: e.at)


def customer_notes(*, customer_id: str) -> list[Any]:
    """The notes staff wrote on a customer, oldest first (one Query of its audit partition)."""
    return [
        r
        for r in audit_entries_of(
            object_type="orders.customer", object_id=customer_id, limit=TIMELINE_AUDIT_LIMIT
        )
        if r.action == "note"
    ]


def customer_timeline(*, customer_id: str) -> list[TimelineEvent]:
    """A customer's notes and the staff edits of their record, oldest first (one Query)."""
    return [
        _audit_event(r)
        for r in audit_entries_of(
            object_type="orders.customer", object_id=customer_id, limit=TIMELINE_AUDIT_LIMIT
        )
    ]
