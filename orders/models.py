"""DynamoDB tables of the orders app: orders, customers and the catalog of ticket types.

Keys and index names of ``orders`` and ``customers`` are fixed by the spec (they match the
seed system and ``infra/``). Models only describe items; reads live in ``orders.selectors``
and writes, with their conditions, in ``orders.services``.

Money is an integer in the currency's minor unit plus an ISO 4217 code; times are ISO 8601
UTC strings ending in ``Z`` (see ``tickets.dynamodb.iso_utc``), so range keys sort by time.
"""

from __future__ import annotations

from enum import StrEnum

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from tickets.backoffice import BackOfficeMeta
from tickets.dynamodb import BaseMeta, Model, register, table_name


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    FULFILLMENT_FAILED = "fulfillment_failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class FulfillmentStatus(StrEnum):
    NOT_STARTED = "not_started"
    PENDING = "pending"
    FULFILLED = "fulfilled"
    FAILED = "failed"


# --- Orders ------------------------------------------------------------------------------------


class SeatShardTake(MapAttribute):
    """``quantity`` seats taken from shard number ``shard`` of the item's ticket type."""

    shard = NumberAttribute()
    quantity = NumberAttribute()


class OrderItem(MapAttribute):
    sku = UnicodeAttribute()
    name = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_amount = NumberAttribute()
    amount = NumberAttribute()
    # True when the seats came out of a limited ticket type's ``available`` (and so must go
    # back to it if the order is canceled); False for unlimited types.
    reserved = BooleanAttribute(default=False)
    # Sharded ticket types only (``TicketType.seat_shards`` > 1): the shards the seats came
    # from, so that a cancellation gives them back to the same shards.
    shards = ListAttribute(of=SeatShardTake, null=True)
    # The ticket type's shard count when ordered (the fallback needs it to look elsewhere).
    seat_shards = NumberAttribute(null=True)


class Ticket(MapAttribute):
    ticket_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    code = UnicodeAttribute(null=True)


class FulfillmentAttempt(MapAttribute):
    at = UnicodeAttribute()
    outcome = UnicodeAttribute()  # "success", "retryable", "permanent"
    detail = UnicodeAttribute(null=True)  # a short summary of the vendor's answer, no personal data


class OrderCustomerIndex(GlobalSecondaryIndex["Order"]):
    class Meta:
        index_name = "customer-id-index"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrderStatusIndex(GlobalSecondaryIndex["Order"]):
    class Meta:
        index_name = "order-status-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


FULFILLMENT_DUE = "due"


class OrderFulfillmentDueIndex(GlobalSecondaryIndex["Order"]):
    """Sparse: only orders waiting for fulfillment are in it, oldest due first. One partition
    ("due"): fine for thousands of waiting orders; shard the key if it ever holds far more."""

    class Meta:
        index_name = "fulfillment-due-index"
        projection = AllProjection()

    fulfillment_queue = UnicodeAttribute(hash_key=True)
    fulfillment_next_at = UnicodeAttribute(range_key=True)


class OrderDayIndex(GlobalSecondaryIndex["Order"]):
    """Newest first across all orders without a Scan: one partition per UTC day (the admin's
    order list, the date-range filter and the CSV export walk days newest first). A day's
    partition takes that day's writes, far below a partition's limit at this business's
    volume; shard the key (``day#n``) if that ever changes."""

    class Meta:
        index_name = "order-day-index"
        projection = AllProjection()

    created_day = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class OrderDisputeIndex(GlobalSecondaryIndex["Order"]):
    """Sparse: only orders with an open dispute carry ``dispute_flag``, so the dashboard's
    "open disputes" is one small Query whatever the table holds."""

    class Meta:
        index_name = "order-dispute-index"
        projection = AllProjection()

    dispute_flag = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


DISPUTE_OPEN = "open"


@register
class Order(Model):
    class Meta(BaseMeta):
        table_name = table_name("orders")

    order_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)
    customer_id = UnicodeAttribute()
    # Masked (``j***@example.com``): enough for the confirmation page, not a personal record.
    customer_email_masked = UnicodeAttribute()
    status = UnicodeAttribute(default=OrderStatus.PENDING_PAYMENT.value)
    currency = UnicodeAttribute()
    total_amount = NumberAttribute()
    items = ListAttribute(of=OrderItem)
    payment_intent_id = UnicodeAttribute(null=True)
    # True while the order holds seats that a cancellation must give back.
    seats_held = BooleanAttribute(default=False)
    refunded_amount = NumberAttribute(default=0)
    disputed = BooleanAttribute(default=False)
    fulfillment_status = UnicodeAttribute(default=FulfillmentStatus.NOT_STARTED.value)
    fulfillment_id = UnicodeAttribute(null=True)
    fulfillment_attempts = ListAttribute(of=FulfillmentAttempt, default=list)
    fulfillment_failure_reason = UnicodeAttribute(null=True)
    # While fulfillment is due, ``fulfillment_queue`` is "due" and ``fulfillment_next_at`` the
    # time of the next attempt: that puts the order in the sparse fulfillment-due-index the
    # sweeper queries. Both are removed once fulfilled or failed for good.
    fulfillment_queue = UnicodeAttribute(null=True)
    fulfillment_next_at = UnicodeAttribute(null=True)
    fulfillment_attempt_count = NumberAttribute(default=0)
    # Epoch seconds until which one worker owns the next attempt (never two vendor calls at once).
    fulfillment_lease_until = NumberAttribute(null=True)
    tickets = ListAttribute(of=Ticket, default=list)
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    # ``YYYY-MM-DD`` of ``created_at``: the partition key of ``order-day-index``. Filled in by
    # ``serialize`` on every write path (save, batch, transactions), so no writer can forget it.
    created_day = UnicodeAttribute(null=True)
    # ``"open"`` while a dispute is open, absent otherwise: the key of the sparse
    # ``order-dispute-index``. A writer that sets ``disputed`` with an update action must set
    # this in the same update (``Order.dispute_flag.set(DISPUTE_OPEN)``); ``save`` does it.
    dispute_flag = UnicodeAttribute(null=True)

    customer_index = OrderCustomerIndex()
    status_index = OrderStatusIndex()
    fulfillment_due_index = OrderFulfillmentDueIndex()
    day_index = OrderDayIndex()
    dispute_index = OrderDisputeIndex()

    def serialize(self, null_check: bool = True) -> dict:
        if self.created_at:
            self.created_day = self.created_at[:10]
        if self.disputed and not self.dispute_flag:
            self.dispute_flag = DISPUTE_OPEN
        return super().serialize(null_check=null_check)


# --- Customers ---------------------------------------------------------------------------------


class CustomerEmailIndex(GlobalSecondaryIndex["Customer"]):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class CustomerDayIndex(GlobalSecondaryIndex["Customer"]):
    """The admin's customer list, newest first, without a Scan (see ``OrderDayIndex``)."""

    class Meta:
        index_name = "customer-day-index"
        projection = AllProjection()

    created_day = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


@register
class Customer(Model):
    """A buyer. ``email`` is normalised (see ``orders.services``); the index does not enforce
    uniqueness, so creation claims the email with a conditional write first."""

    class Meta(BaseMeta):
        table_name = table_name("customers")

    customer_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    created_day = UnicodeAttribute(null=True)  # filled by ``serialize``, as on Order

    email_index = CustomerEmailIndex()
    day_index = CustomerDayIndex()

    def serialize(self, null_check: bool = True) -> dict:
        if self.created_at:
            self.created_day = self.created_at[:10]
        return super().serialize(null_check=null_check)


class CustomerEmailClaim(Model):
    """``EMAIL#{normalised email}`` in the back-office table: which customer owns an email.
    Written with ``attribute_not_exists`` in the transaction that creates the customer, so two
    concurrent first orders with one email make one customer."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="CLAIM")
    kind = UnicodeAttribute(default="email_claim")
    customer_id = UnicodeAttribute()

    @staticmethod
    def key_for(email: str) -> str:
        return f"EMAIL#{email}"


# --- Catalog -----------------------------------------------------------------------------------

CATALOG_ACTIVE = "active"


class CatalogIndex(GlobalSecondaryIndex["TicketType"]):
    """Sparse: only active ticket types carry ``catalog_key``, so ``GET /catalog`` is one Query
    of a small partition, never a Scan."""

    class Meta:
        index_name = "catalog-index"
        projection = AllProjection()

    catalog_key = UnicodeAttribute(hash_key=True)
    sku = UnicodeAttribute(range_key=True)


TICKET_TYPE_LISTING = "all"


class TicketTypeListIndex(GlobalSecondaryIndex["TicketType"]):
    """Every ticket type, active or not, by sku: the admin's list (one small partition; the
    catalog holds dozens of types, not millions)."""

    class Meta:
        index_name = "ticket-type-list-index"
        projection = AllProjection()

    listing = UnicodeAttribute(hash_key=True)
    sku = UnicodeAttribute(range_key=True)


@register
class TicketType(Model):
    """A kind of ticket for sale. ``available`` is the seats left (``None``: unlimited); a
    reservation decrements it with a condition that it stays >= 0.

    A hot type (an on-sale) has ``seat_shards`` > 1: its seats are not on this item but split
    over that many ``SeatShard`` items, so that orders do not queue on one item
    (``orders.services.seats``). Then ``available`` is not stored here; the selectors fill it in
    with the sum over the shards."""

    class Meta(BaseMeta):
        table_name = table_name("ticket-types")

    sku = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    unit_amount = NumberAttribute()
    currency = UnicodeAttribute(default="usd")
    capacity = NumberAttribute(null=True)
    available = NumberAttribute(null=True)
    active = BooleanAttribute(default=True)
    catalog_key = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    listing = UnicodeAttribute(default=TICKET_TYPE_LISTING)  # the key of ticket-type-list-index
    # How many ``SeatShard`` items hold the seats; absent or 1: ``available`` on this item.
    # Chosen when the type is created, not changed afterwards.
    seat_shards = NumberAttribute(null=True)

    catalog_index = CatalogIndex()
    list_index = TicketTypeListIndex()

    @property
    def sharded(self) -> bool:
        return (self.seat_shards or 1) > 1

    @property
    def limited(self) -> bool:
        """False for an unlimited type (no seats counted)."""
        return self.available is not None or self.sharded


class SeatShard(Model):
    """``SEATS#{sku}#{n}`` / ``SHARD`` in the back-office table: ``available`` seats of shard
    ``n`` of a sharded ticket type. Each shard has its own partition key, so each is its own
    item and its own partition's write budget; a type's shards are read with one BatchGet
    (their keys follow from ``seat_shards``), never a Scan or a Query of one hot partition."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="SHARD")
    kind = UnicodeAttribute(default="seat_shard")
    sku = UnicodeAttribute()
    shard = NumberAttribute()
    available = NumberAttribute()

    @staticmethod
    def key_for(sku: str, shard: int) -> str:
        return f"SEATS#{sku}#{shard}"


class VendorBreaker(Model):
    """``CIRCUIT#vendor``: consecutive retryable failures and, when open, until when."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="circuit")
    failures = NumberAttribute(default=0)
    open_until = NumberAttribute(default=0)


class LegacyOrderAuditEntry(Model):
    """An audit entry as order services wrote them before the one audit log
    (``AUDIT#order#{order id}`` / ``{time}#{random}``, no object type, invisible to the admin's
    History). Read only by ``audit_entries_migrate``, which moves them into
    ``tickets.models.AuditEntry``; nothing writes this shape any more."""

    class Meta(BackOfficeMeta):
        pass

    PREFIX = "AUDIT#order#"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    staff = UnicodeAttribute()
    action = UnicodeAttribute()
    before = UnicodeAttribute(null=True)  # JSON
    after = UnicodeAttribute(null=True)  # JSON
    at = UnicodeAttribute()


DAILY_TOTALS_PARTITION = "DAILYTOTALS"


class DailyTotal(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True, default=DAILY_TOTALS_PARTITION)
    sk = UnicodeAttribute(range_key=True)  # {day}#{currency}
    kind = UnicodeAttribute(default="daily_total")
    orders = NumberAttribute(default=0)
    revenue = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)
