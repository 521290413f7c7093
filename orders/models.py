"""DynamoDB tables of the orders app: orders, customers and the catalog of ticket types.

Keys and index names of ``orders`` and ``customers`` are fixed by the spec (they match the
seed system and ``infra/``). Models only describe items; reads live in ``orders.selectors``
and writes, with their conditions, in ``orders.services``.

Money is an integer in the currency's minor unit plus an ISO 4217 code; times are ISO 8601
UTC strings ending in ``Z`` (see ``core.dynamodb.iso_utc``), so range keys sort by time.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from core.backoffice import (
    AUDIT,
    BUYER_EMAIL,
    EMAIL_CLAIM,
    ERASURE,
    ERASURES,
    LINE,
    LINE_LIST,
    LIST_BOUND,
    RETENTION_CURSOR,
    RETENTION_HELD,
    SEAT_SHARD,
    TICKET_CODE,
    BackOfficeMeta,
)
from core.dynamodb import BaseMeta, Model, register, table_name
from core.shards import ShardedIndex, shard_key


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    FULFILLED = "fulfilled"
    FULFILLMENT_FAILED = "fulfillment_failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


# The paid states, whatever happened to the tickets since, not refunded in full: refunds may
# follow (``orders.actions.refund_offered``).
REFUNDABLE = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.FULFILLMENT_FAILED,
        OrderStatus.PARTIALLY_REFUNDED,
    }
)


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


def time_bucket(moment: str) -> str:
    """The time bucket of an ISO time in ``order-day-index`` and ``customer-day-index``: its
    month (``2026-12-07T...`` -> ``2026-12``)."""
    return moment[:7]


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


class TicketState(StrEnum):
    """A ticket's state as we know it (``orders.services.voids``). The buyer sees ``valid`` or
    ``void``: a ticket whose void is asked but not yet confirmed still opens the gate."""

    VALID = "valid"
    VOID_PENDING = "void_pending"  # to be voided at the vendor (queued, retried)
    VOID = "void"  # the vendor revoked it
    VOID_REFUSED = "void_refused"  # the vendor would not void it (scanned), or gave up


class Ticket(MapAttribute):
    ticket_id = UnicodeAttribute()
    sku = UnicodeAttribute()
    code = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)  # a ``TicketState``; absent: valid (issued before voids)

    @property
    def current_state(self) -> TicketState:
        return TicketState(self.state or TicketState.VALID.value)

    @property
    def buyer_state(self) -> str:
        """``void`` once the vendor revoked it, else ``valid`` (what the gate does)."""
        return "void" if self.current_state == TicketState.VOID else "valid"


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
    """Orders by status, by time. Keyed on ``status_key`` (``{status}#{shard}``), not on
    ``status``: every new order is ``pending_payment``, so in an on-sale that one value would
    take every order's index write; it is split over ``ORDER_STATUS_SHARDS`` (the other
    statuses change at the rate of payments, bounded by Stripe's far lower limits: one shard).
    Read it through ``ORDERS_BY_STATUS``, which queries the shards and merges them."""

    class Meta:
        index_name = "order-status-index"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True)
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


VOID_DUE = "due"
VOID_FAILED = "failed"


class OrderVoidIndex(GlobalSecondaryIndex["Order"]):
    """Sparse: only orders with tickets to void carry ``void_queue``: ``due`` (the sweeper's
    queue, by next attempt) or ``failed`` (the needs-attention queue: the vendor refused, or
    gave up after the last attempt). Removed once the tickets are void."""

    class Meta:
        index_name = "void-queue-index"
        projection = AllProjection()

    void_queue = UnicodeAttribute(hash_key=True)
    void_next_at = UnicodeAttribute(range_key=True)


class OrderDayIndex(GlobalSecondaryIndex["Order"]):
    """Newest first across all orders without a Scan, by time bucket. Despite the names (kept:
    the index and attribute are in infra/ and in stages' data), the bucket is the *month*,
    split over ``ORDER_DAY_SHARDS`` partitions: ``created_day`` is ``{YYYY-MM}#{shard}``.
    Sharded, so an on-sale's orders do not all write one partition; by month rather than by
    day, so a list page reads 8 partitions for a month where day buckets cost 8 per day (an
    admin page over quiet days walked 31 of them). The admin's order list, the date-range
    filter, the CSV export and the retention job read it through ``ORDERS_BY_MONTH`` (every
    shard, merged by time); a day is a range of ``created_at`` within its month."""

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


class OrderAttentionIndex(GlobalSecondaryIndex["Order"]):
    """Sparse: only orders whose money and state disagree in a way no index of their status
    shows carry ``attention`` (the reason), so each reason of the needs-attention queue is one
    small Query, oldest first, whatever the table holds."""

    class Meta:
        index_name = "order-attention-index"
        projection = AllProjection()

    attention = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AttentionReason(StrEnum):
    """Why an order is in the needs-attention queue (``orders.selectors.orders_needing_attention``
    says which index each is read from)."""

    # From order-status-index: paid longer than the threshold and still not fulfilled.
    PAID_NOT_FULFILLED = "paid_not_fulfilled"
    # From order-status-index: fulfillment failed for good.
    FULFILLMENT_FAILED = "fulfillment_failed"
    # ``attention``: Stripe took the money after the order was canceled (expired).
    PAID_CANCELED = "paid_canceled"
    # ``attention``: a refund asked for here has no answer from Stripe recorded.
    REFUND_MISMATCH = "refund_mismatch"
    # From order-dispute-index: a dispute is open.
    DISPUTE_OPEN = "dispute_open"
    # ``attention``: a sync learned the payment succeeded and was stopped before paying it.
    PENDING_SUCCEEDED = "pending_succeeded"
    # From void-queue-index (``failed``): tickets that should be void are not (vendor refused,
    # e.g. already scanned, or kept failing).
    VOID_FAILED = "void_failed"


# The reasons kept in the ``attention`` attribute (the others come from existing indexes).
ATTENTION_FLAGGED = frozenset(
    {
        AttentionReason.PAID_CANCELED,
        AttentionReason.REFUND_MISMATCH,
        AttentionReason.PENDING_SUCCEEDED,
    }
)

DISPUTE_OPEN = "open"
DISPUTE_CLOSED = "closed"  # decided (won or lost): out of the index's "open" partition


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
    # The version of the payment record ``refunded_amount`` was read from: each refund write is
    # conditioned on it growing (``order_record_refund``), so a stale reading never wins.
    refunds_version = NumberAttribute(null=True)
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
    # Voiding tickets at the vendor (``orders.services.voids``): ``void_queue`` ``due`` with
    # ``void_next_at`` puts the order in the sweeper's queue (void-queue-index), ``failed``
    # in the needs-attention queue with ``void_failure_reason``. ``void_request`` counts the
    # void requests (the vendor's ``Idempotency-Key`` is ``void:{order_id}:{void_request}``).
    void_queue = UnicodeAttribute(null=True)
    void_next_at = UnicodeAttribute(null=True)
    void_request = NumberAttribute(null=True)
    void_attempt_count = NumberAttribute(null=True)
    void_lease_until = NumberAttribute(null=True)
    void_failure_reason = UnicodeAttribute(null=True)
    void_reason = UnicodeAttribute(null=True)  # a key of ``orders.services.voids.VOID_REASONS``
    updated_at = UnicodeAttribute()
    version = VersionAttribute()
    # ``{YYYY-MM of created_at}#{shard}``: the partition key of ``order-day-index``. Filled
    # in by ``serialize`` on every write path (save, batch, transactions), so no writer can
    # forget it; it never changes.
    created_day = UnicodeAttribute(null=True)
    # ``{status}#{shard}``: the partition key of ``order-status-index``. Filled in by
    # ``serialize``; a writer that changes ``status`` with update actions uses
    # ``Order.status_actions`` (which sets both).
    status_key = UnicodeAttribute(null=True)
    # ``"open"`` while a dispute is open, absent otherwise: the key of the sparse
    # ``order-dispute-index``. A writer that sets ``disputed`` with an update action must set
    # this in the same update (``Order.dispute_flag.set(DISPUTE_OPEN)``); ``save`` does it.
    dispute_flag = UnicodeAttribute(null=True)
    dispute_id = UnicodeAttribute(null=True)  # Stripe's dp_... (staff answer it in Stripe)
    dispute_status = UnicodeAttribute(null=True)  # Stripe's status of it as last seen
    dispute_evidence_due_by = UnicodeAttribute(null=True)  # ISO time: answer before then
    # An ``AttentionReason`` in ``ATTENTION_FLAGGED`` while the order is in that state, absent
    # otherwise: the key of the sparse ``order-attention-index``. Set and removed by the
    # services that move the order into and out of the state (``orders.services.transitions``).
    attention = UnicodeAttribute(null=True)

    customer_index = OrderCustomerIndex()
    status_index = OrderStatusIndex()
    fulfillment_due_index = OrderFulfillmentDueIndex()
    void_index = OrderVoidIndex()
    day_index = OrderDayIndex()
    dispute_index = OrderDisputeIndex()
    attention_index = OrderAttentionIndex()

    @staticmethod
    def status_key_for(*, order_id: str, status: str) -> str:
        return shard_key(status, order_id, order_status_shards(status))

    @staticmethod
    def status_actions(*, order_id: str, status: str) -> list:
        """The update actions that move an order to ``status``: the status and its index key
        (an update action skips ``serialize``)."""
        return [
            Order.status.set(status),
            Order.status_key.set(Order.status_key_for(order_id=order_id, status=status)),
        ]

    def serialize(self, null_check: bool = True) -> dict:
        if self.created_at:
            self.created_day = shard_key(
                time_bucket(self.created_at), self.order_id, ORDER_DAY_SHARDS
            )
        if self.status and self.order_id:
            self.status_key = self.status_key_for(order_id=self.order_id, status=self.status)
        if self.disputed and not self.dispute_flag:
            self.dispute_flag = DISPUTE_OPEN
        return super().serialize(null_check=null_check)


# How many partitions a month's orders (``order-day-index``) and a status's orders
# (``order-status-index``) are split over: a partition takes ~1,000 writes of 1 KB a second
# (an order is ~0.9 KB), so 8 take an on-sale's 5,000 orders a second with room to spare.
# Fixed once items exist (``admin_indexes_backfill`` rewrites the keys after a change).
ORDER_DAY_SHARDS = 8
ORDER_STATUS_SHARDS = {OrderStatus.PENDING_PAYMENT.value: 8}


def order_status_shards(status: str) -> int:
    return ORDER_STATUS_SHARDS.get(status, 1)


# Read these, not the indexes: they query every shard and merge by time.
ORDERS_BY_MONTH = ShardedIndex(
    Order.day_index, shards=ORDER_DAY_SHARDS, range_attribute="created_at"
)
ORDERS_BY_STATUS = ShardedIndex(
    Order.status_index, shards=order_status_shards, range_attribute="created_at"
)


# --- Customers ---------------------------------------------------------------------------------


class CustomerEmailIndex(GlobalSecondaryIndex["Customer"]):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class CustomerDayIndex(GlobalSecondaryIndex["Customer"]):
    """The admin's customer list, newest first, without a Scan (see ``OrderDayIndex``): a
    month's new customers in ``CUSTOMER_DAY_SHARDS`` partitions (``{YYYY-MM}#{shard}``), read
    through ``CUSTOMERS_BY_MONTH``."""

    class Meta:
        index_name = "customer-day-index"
        projection = AllProjection()

    created_day = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


SEARCH_BUCKET_LENGTH = 2  # a prefix search needs at least this many characters


def search_key(text: str | None) -> str:
    """How a name is compared in searches: accents dropped, case folded, spaces collapsed
    (``"  Zoë  O'Neil"`` -> ``"zoe o'neil"``)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def search_bucket(key: str) -> str | None:
    """The bucket of a search index an item (or a search) falls in: the key's first
    ``SEARCH_BUCKET_LENGTH`` characters, so a prefix search reads one bucket and writes
    spread over hundreds of them. None for a key too short to have one. Each bucket is
    split over ``SEARCH_SHARDS`` partitions (``Customer.search_attributes``): a common
    start ("ma", "ng") or an on-sale of look-alike buyers would otherwise write one."""
    return key[:SEARCH_BUCKET_LENGTH] if len(key) >= SEARCH_BUCKET_LENGTH else None


class CustomerNameIndex(GlobalSecondaryIndex["Customer"]):
    """The admin's search by name: ``begins_with`` on the normalised full name (``ada`` finds
    "Ada Lovelace"), within the partition of its first two characters."""

    class Meta:
        index_name = "customer-name-index"
        projection = AllProjection()

    name_bucket = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


class CustomerSurnameIndex(GlobalSecondaryIndex["Customer"]):
    """The admin's search by the last word of the name (``lovelace`` finds "Ada Lovelace").
    Sparse: one-word names are not in it (the name index finds them)."""

    class Meta:
        index_name = "customer-surname-index"
        projection = AllProjection()

    surname_bucket = UnicodeAttribute(hash_key=True)
    surname_key = UnicodeAttribute(range_key=True)


class CustomerEmailPrefixIndex(GlobalSecondaryIndex["Customer"]):
    """The admin's search by the start of an e-mail (``ada``, ``ada@exa``): ``begins_with`` on
    the normalised e-mail within the partition of its first two characters."""

    class Meta:
        index_name = "customer-email-prefix-index"
        projection = AllProjection()

    email_bucket = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


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
    # Set when SES reported a hard bounce for ``email`` (what it said, and when): no more
    # e-mail is sent to it, and staff see it on the customer and its orders. Cleared when
    # the address changes.
    email_undeliverable = UnicodeAttribute(null=True)
    # The keys of the admin's search indexes, filled by ``serialize`` (``search_attributes``
    # gives them to a writer that updates ``name`` with update actions instead).
    name_bucket = UnicodeAttribute(null=True)
    name_key = UnicodeAttribute(null=True)
    surname_bucket = UnicodeAttribute(null=True)
    surname_key = UnicodeAttribute(null=True)
    email_bucket = UnicodeAttribute(null=True)
    # When the customer's personal data was erased (``orders.services.personal_data``): the
    # name and e-mail are then a pseudonym's, the phone gone. Never unset.
    erased_at = UnicodeAttribute(null=True)

    email_index = CustomerEmailIndex()
    day_index = CustomerDayIndex()
    name_index = CustomerNameIndex()
    surname_index = CustomerSurnameIndex()
    email_prefix_index = CustomerEmailPrefixIndex()

    @staticmethod
    def search_attributes(
        *, customer_id: str, name: str | None, email: str | None = None
    ) -> dict[str, str | None]:
        """The search-index attributes of a customer for a name (and e-mail): None means
        absent. The buckets carry the customer's shard (``{bucket}#{shard}``)."""
        key = search_key(name)
        words = key.split(" ")
        surname = words[-1] if len(words) > 1 else ""

        def sharded(bucket: str | None) -> str | None:
            return None if bucket is None else shard_key(bucket, customer_id, SEARCH_SHARDS)

        values: dict[str, str | None] = {
            "name_bucket": sharded(search_bucket(key)),
            "name_key": key or None,
            "surname_bucket": sharded(search_bucket(surname)),
            "surname_key": surname or None,
        }
        if values["name_bucket"] is None:
            values["name_key"] = None
        if values["surname_bucket"] is None:
            values["surname_key"] = None
        if email is not None:
            values["email_bucket"] = sharded(search_bucket(email))
        return values

    def serialize(self, null_check: bool = True) -> dict:
        if self.created_at:
            self.created_day = shard_key(
                time_bucket(self.created_at), self.customer_id, CUSTOMER_DAY_SHARDS
            )
        for attribute, value in self.search_attributes(
            customer_id=self.customer_id, name=self.name, email=self.email
        ).items():
            setattr(self, attribute, value)
        return super().serialize(null_check=null_check)


# A month's new customers (``customer-day-index``) and each search bucket (name, surname, start
# of the e-mail) are split over this many partitions: ~1,000 new customers a second each, so
# an on-sale's 5,000 new buyers a second fit with room (a customer is ~0.3 KB).
CUSTOMER_DAY_SHARDS = 8
SEARCH_SHARDS = 8

CUSTOMERS_BY_MONTH = ShardedIndex(
    Customer.day_index, shards=CUSTOMER_DAY_SHARDS, range_attribute="created_at"
)
CUSTOMERS_BY_NAME = ShardedIndex(
    Customer.name_index, shards=SEARCH_SHARDS, range_attribute="name_key"
)
CUSTOMERS_BY_SURNAME = ShardedIndex(
    Customer.surname_index, shards=SEARCH_SHARDS, range_attribute="surname_key"
)
CUSTOMERS_BY_EMAIL_PREFIX = ShardedIndex(
    Customer.email_prefix_index, shards=SEARCH_SHARDS, range_attribute="email"
)


class TicketCodeLookup(Model):
    """``TICKET#{code}`` / ``ORDER`` in the back-office table: which order a ticket code was
    issued on (the admin's search by ticket code; a code is on a list inside the order, which
    no index can key on). Written when the tickets are issued; codes are unique per vendor."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=TICKET_CODE.sk)
    kind = UnicodeAttribute(default="ticket_code")
    order_id = UnicodeAttribute()

    @staticmethod
    def key_for(code: str) -> str:
        return TICKET_CODE.pk(code.strip().upper())


class CustomerEmailClaim(Model):
    """``EMAIL#{normalised email}`` in the back-office table: which customer owns an email.
    Written with ``attribute_not_exists`` in the transaction that creates the customer, so two
    concurrent first orders with one email make one customer."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=EMAIL_CLAIM.sk)
    kind = UnicodeAttribute(default="email_claim")
    customer_id = UnicodeAttribute()

    @staticmethod
    def key_for(email: str) -> str:
        return EMAIL_CLAIM.pk(email)


class ErasureStatus(StrEnum):
    IN_PROGRESS = "in_progress"  # claimed: sources being erased (resumable)
    DONE = "done"


class _ErasureGsi1(GlobalSecondaryIndex["ErasureRecord"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


ERASURES_PARTITION = ERASURES.pk()


class ErasureRecord(Model):
    """``ERASURE#{customer id}`` / ``RECORD`` in the back-office table: one customer's
    erasure, claimed before any source is touched and marked done in the transaction that
    pseudonymises the customer record and writes the audit entry, so it happens once. While
    ``in_progress`` it holds a lease: a run that died halfway is resumed by the next one after
    ``lease_until``; a run stopped by an outside system's failure releases it at once. Holds
    no personal data (ids, who, when, why, counts). Also in ``gsi1`` (``ERASURES`` /
    ``{started_at}#{customer id}``): the erasures since a time are one Query (after a restore
    of the tables, they are done again: ``erasures_redo``)."""

    class Meta(BackOfficeMeta):
        pass

    PREFIX = ERASURE.prefix

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=ERASURE.sk)
    kind = UnicodeAttribute(default="erasure")
    customer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    actor = UnicodeAttribute()  # a staff username, or system#retention
    reason = UnicodeAttribute()
    claim_token = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(default=0)  # unix seconds
    started_at = UnicodeAttribute()
    done_at = UnicodeAttribute(null=True)
    runs = NumberAttribute(default=0)  # claims taken: more than 1 means it resumed
    summary = UnicodeAttribute(null=True)  # what was erased, in counts
    gsi1pk = UnicodeAttribute(default=ERASURES_PARTITION)
    gsi1sk = UnicodeAttribute(null=True)

    by_time = _ErasureGsi1()

    @classmethod
    def key_for(cls, customer_id: str) -> str:
        return ERASURE.pk(customer_id)


RETENTION_PARTITION = RETENTION_CURSOR.pk()


class RetentionCursor(Model):
    """``RETENTION`` / ``CURSOR``: the first UTC day of ``order-day-index`` the retention job
    has not finished (``orders.services.retention``); days before it are done. Moves forward
    only."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True, default=RETENTION_PARTITION)
    sk = UnicodeAttribute(range_key=True, default=RETENTION_CURSOR.sk)
    kind = UnicodeAttribute(default="retention_cursor")
    day = UnicodeAttribute()  # YYYY-MM-DD
    updated_at = UnicodeAttribute(null=True)


class RetentionHeld(Model):
    """``RETENTION`` / ``HELD#{customer id}``: a customer due for erasure whose erasure was
    refused (money or tickets in flight) or failed; each run of the retention job tries them
    again (one Query of the partition) and deletes the item once erased."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True, default=RETENTION_PARTITION)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="retention_held")
    customer_id = UnicodeAttribute()
    reason = UnicodeAttribute()  # why not yet, in words (order ids and states, no personal data)
    since = UnicodeAttribute()

    @staticmethod
    def key_for(customer_id: str) -> str:
        return RETENTION_HELD.sk_of(customer_id)


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
    # Its event was canceled (``payments.services.event_cancellation``): no longer sold, never
    # again; its orders are refunded that part.
    event_canceled_at = UnicodeAttribute(null=True)

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
    sk = UnicodeAttribute(range_key=True, default=SEAT_SHARD.sk)
    kind = UnicodeAttribute(default="seat_shard")
    sku = UnicodeAttribute()
    shard = NumberAttribute()
    available = NumberAttribute()

    @staticmethod
    def key_for(sku: str, shard: int) -> str:
        return SEAT_SHARD.pk(sku, shard)


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
    ``core.models.AuditEntry``; nothing writes this shape any more."""

    class Meta(BackOfficeMeta):
        pass

    PREFIX = AUDIT.pk("order", "")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    staff = UnicodeAttribute()
    action = UnicodeAttribute()
    before = UnicodeAttribute(null=True)  # JSON
    after = UnicodeAttribute(null=True)  # JSON
    at = UnicodeAttribute()


class BuyerEmailKind(StrEnum):
    CONFIRMATION = "confirmation"  # paid: items, amounts, the link to the order's page
    TICKETS = "tickets"  # issued by the vendor
    REFUND = "refund"  # money went back (one per refunded total: ``refund#{total}``)
    CANCELLATION = "cancellation"  # canceled by staff
    EVENT_CANCELED = "event_canceled"  # one of its ticket types' event canceled (per type)


class BuyerEmailStatus(StrEnum):
    QUEUED = "queued"  # to be sent (or retried) by the task or the sweeper
    SENT = "sent"  # SES accepted it
    FAILED = "failed"  # SES refused it, or every retry failed
    SUPPRESSED = "suppressed"  # not sent: the address is undeliverable (a hard bounce)


MAIL_DUE = "due"  # ``BuyerEmail.mail_queue`` while the e-mail waits to be sent or retried


class BuyerEmailQueueIndex(GlobalSecondaryIndex["BuyerEmail"]):
    """The back-office table's sparse ``mail-queue-index`` (``core.models``): the e-mails
    waiting, by next attempt."""

    class Meta:
        index_name = "mail-queue-index"
        projection = AllProjection()

    mail_queue = UnicodeAttribute(hash_key=True)
    mail_next_at = UnicodeAttribute(range_key=True)


class BuyerEmail(Model):
    """``MAIL#{order_id}`` / ``{kind}`` in the back-office table: one e-mail to an order's
    buyer, and the one record that it was sent (``orders.services.buyer_mail``). Its sort key
    makes it once per order and kind (``confirmation``, ``tickets``, ``refund#{total}``,
    ``cancellation``; a staff resend ``{kind}#resend#{n}``, numbered). While queued it is in
    the sparse ``mail-queue-index`` (``due`` / next attempt time) for the sweeper.

    The owner of every e-mail record: it keeps no full address (only ``sent_to_masked``) and
    no message body (the body is rendered from the order when sent); erasing a customer
    leaves these as they are, or deletes them by the order's partition."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="buyer_email")
    order_id = UnicodeAttribute()
    mail_kind = UnicodeAttribute()  # a ``BuyerEmailKind``
    status = UnicodeAttribute(default=BuyerEmailStatus.QUEUED.value)
    refund_total = NumberAttribute(null=True)  # a refund's e-mail: the refunded total
    about = UnicodeAttribute(null=True)  # an event's cancellation: the ticket type's sku
    requested_by = UnicodeAttribute(null=True)  # a resend: the staff member
    resend_submit = UnicodeAttribute(null=True)  # a resend: the admin form's submit id
    attempts = NumberAttribute(default=0)
    lease_until = NumberAttribute(null=True)
    message_id = UnicodeAttribute(null=True)  # SES's MessageId once sent
    sent_to_masked = UnicodeAttribute(null=True)  # ``j***@example.com``
    last_error = UnicodeAttribute(null=True)  # SES's answer, no address
    created_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    mail_queue = UnicodeAttribute(null=True)  # ``MAIL_DUE`` while queued
    mail_next_at = UnicodeAttribute(null=True)  # the next attempt's time, the order, the kind

    queue_index = BuyerEmailQueueIndex()

    @staticmethod
    def key_for(order_id: str) -> str:
        return BUYER_EMAIL.pk(order_id)


CUSTOMERS_FIRST_DAY = LIST_BOUND.pk("customers")


class ListBound(Model):
    """``BOUND#customers`` / ``FIRST_DAY`` in the back-office table: the UTC day of the oldest
    customer, so the admin's day-by-day customer list stops walking there (and offers no Next
    past it). Only ever moved earlier (``orders.services.customers``)."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=LIST_BOUND.sk)
    day = UnicodeAttribute()  # YYYY-MM-DD


# The dashboard's counters are split over this many partitions (``DAILYTOTALS#{n}``): every
# new order adds to its day's counter, ~1,000 a second per partition.
DAILY_TOTAL_SHARDS = 8


class DailyTotal(Model):
    """``DAILYTOTALS#{shard}`` / ``{day}#{currency}``: a share of a day's counters; a day's
    totals are the sum over the shards (``orders.daily_totals``)."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # {day}#{currency}
    kind = UnicodeAttribute(default="daily_total")
    orders = NumberAttribute(default=0)
    revenue = NumberAttribute(default=0)
    updated_at = UnicodeAttribute(null=True)


class _LineListIndex(GlobalSecondaryIndex["OnSaleLine"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class OnSaleLine(Model):
    """``LINE#{sku}`` / ``STATE`` in the back-office table: an on-sale's line
    (``orders.services.line``). Buyers are admitted in the order they arrived: everyone who
    arrived up to ``admitted_until`` (µs since the epoch) may order. ``gsi1`` lists every line
    (``LINES`` / sku) for the dashboard."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=LINE.sk)
    kind = UnicodeAttribute(default="onsale_line")
    gsi1pk = UnicodeAttribute(default=LINE_LIST.pk())
    gsi1sk = UnicodeAttribute()  # the sku
    sku = UnicodeAttribute()
    start_us = NumberAttribute()
    hold_minutes = NumberAttribute()
    admit_per_second = NumberAttribute()
    admitted_until = NumberAttribute()  # µs: who arrived up to here may order
    admitted = NumberAttribute(default=0)
    waiting = NumberAttribute(default=0)  # arrivals past the cursor, as last counted
    density = NumberAttribute(default=0)  # arrivals per second of arrival time past it
    advanced_us = NumberAttribute(default=0)
    sold_out = BooleanAttribute(default=False)
    opened_by = UnicodeAttribute(default="")

    lines = _LineListIndex()


class LineArrivals(Model):
    """``LINE#{sku}`` / ``ARRIVALS#{second}#{shard}``: how many joined the line in that second
    (one of 16 shards, so a crowd's joins spread over 16 items)."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="line_arrivals")
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)
