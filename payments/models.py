"""The payments table: one item per Stripe PaymentIntent; and ``WebhookEvent``, the Stripe
event inbox (each event's claim and outcome) kept in the back-office table.

Keys and index names are fixed by the spec. ``payment_id`` is the PaymentIntent id, so a
webhook finds its payment with one key lookup; ``order-id-index`` lists an order's payments
and ``payment-status-index`` the payments in a status, newest first.
"""

from __future__ import annotations

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
    EVENT_CANCEL,
    EVENT_CANCEL_ORDER,
    HEALTH,
    STRIPE_EVENT,
    STRIPE_INBOX,
    BackOfficeMeta,
)
from core.dynamodb import BaseMeta, Model, register, table_name


class PaymentAttempt(MapAttribute):
    at = UnicodeAttribute()
    status = UnicodeAttribute()
    failure_code = UnicodeAttribute(null=True)
    failure_message = UnicodeAttribute(null=True)
    # The Stripe event that reported this attempt: recording it twice is a no-op.
    event_id = UnicodeAttribute(null=True)


class Refund(MapAttribute):
    refund_id = UnicodeAttribute()
    amount = NumberAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    # ``refund:{order_id}:{n}`` for refunds staff asked for here (None for refunds made in
    # Stripe's dashboard); while ``status`` is ``reserved`` Stripe's answer is not yet recorded.
    idempotency_key = UnicodeAttribute(null=True)
    requested_by = UnicodeAttribute(null=True)  # staff username
    note = UnicodeAttribute(null=True)  # staff's words beside Stripe's ``reason``
    # Why Stripe refused or failed it (its ``failure_reason``, or the refusal's message).
    failure_reason = UnicodeAttribute(null=True)


class PaymentOrderIndex(GlobalSecondaryIndex["Payment"]):
    class Meta:
        index_name = "order-id-index"
        projection = AllProjection()

    order_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PaymentStatusIndex(GlobalSecondaryIndex["Payment"]):
    class Meta:
        index_name = "payment-status-index"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PaymentChargeIndex(GlobalSecondaryIndex["Payment"]):
    """The admin's search by charge id (``ch_…``, what Stripe's dashboard and bank disputes
    name). Sparse: only payments with a charge are in it."""

    class Meta:
        index_name = "charge-id-index"
        projection = AllProjection()

    charge_id = UnicodeAttribute(hash_key=True)


@register
class Payment(Model):
    class Meta(BaseMeta):
        table_name = table_name("payments")

    payment_id = UnicodeAttribute(hash_key=True)  # the PaymentIntent id, pi_...
    created_at = UnicodeAttribute(range_key=True)
    order_id = UnicodeAttribute()
    status = UnicodeAttribute()  # the PaymentIntent's status as last seen
    amount = NumberAttribute()
    currency = UnicodeAttribute()
    # The sum of the ``succeeded`` refunds below, kept equal to it by every write of ``refunds``
    # (``payments.services.records.payment_refunded_total``): the number every page shows.
    amount_refunded = NumberAttribute(default=0)
    charge_id = UnicodeAttribute(null=True)
    disputed = BooleanAttribute(default=False)
    dispute_id = UnicodeAttribute(null=True)  # dp_...: the latest dispute on the charge
    dispute_status = UnicodeAttribute(null=True)  # Stripe's status of that dispute
    attempts = ListAttribute(of=PaymentAttempt, default=list)
    refunds = ListAttribute(of=Refund, default=list)
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    order_index = PaymentOrderIndex()
    status_index = PaymentStatusIndex()
    charge_index = PaymentChargeIndex()


# --- The Stripe event inbox (back-office table) ---------------------------------------------------


class WebhookEventStatus:
    IN_PROGRESS = "in_progress"  # claimed; its effects may be partly applied
    DONE = "done"
    IGNORED = "ignored"  # a type we do not handle, recorded so it can be audited
    FAILED = "failed"  # the handler raised: Stripe's retry or a staff replay may claim it again


class EventOutcome:
    """What an event did, as the inbox shows and filters it. A repeated delivery of an event
    is not a row of its own: the event's row counts it (``duplicates``) and the delivery is
    answered ``duplicate``."""

    APPLIED = "applied"  # it changed an order or payment
    UNCHANGED = "unchanged"  # ours, and already as Stripe says
    STALE = "stale"  # it announced a status Stripe no longer has; nothing changed
    IGNORED = "ignored"  # a type we do not handle
    NOT_OURS = "not_ours"  # an object Stripe does not know, or not one of our orders
    FAILED = "failed"  # the handler raised; ``error`` says why
    PROCESSING = "processing"  # claimed by a delivery right now
    DUPLICATE = "duplicate"  # the answer to a repeated delivery, never stored as an outcome

    STORED = (APPLIED, UNCHANGED, STALE, IGNORED, NOT_OURS, FAILED, PROCESSING)


INBOX = STRIPE_INBOX.pk()


def inbox_partition(outcome: str) -> str:
    """``gsi1``: one partition per outcome, so "every failed event, newest first" is one Query
    and the whole inbox is a merge of the seven (``payments.selectors``)."""
    return f"{INBOX}#{outcome}"


def inbox_type_partition(event_type: str, outcome: str) -> str:
    """``gsi2``: one partition per (type, outcome): a type's events are a merge of seven
    Queries, a type and an outcome one Query."""
    return f"{INBOX}#{event_type}#{outcome}"


class _EventGsi1(GlobalSecondaryIndex["WebhookEvent"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _EventGsi2(GlobalSecondaryIndex["WebhookEvent"]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class WebhookEvent(Model):
    """One Stripe event in the inbox: ``EVENT#{stripe event id}`` / ``RECORD`` in the
    back-office table, written by ``payments.services.events``.

    It is also the claim that makes an event take effect once: taken with a conditional write
    before any effect (absent; or ``in_progress`` with an expired ``lease_until``, its worker
    died halfway; or ``failed``, for Stripe's retry or a staff replay). It keeps ids and the
    outcome, never the payload (which may hold personal data and be up to 1 MiB): a replay
    re-reads the object from Stripe. ``gsi1``/``gsi2`` place it in the inbox by outcome and by
    type (sort: ``{received_at}#{event id}``). Kept for 30 days (``expires_at``, the table's
    TTL), well past Stripe's three days of retries."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=STRIPE_EVENT.sk)
    kind = UnicodeAttribute(default="webhook_event")
    event_id = UnicodeAttribute(null=True)
    event_type = UnicodeAttribute()
    status = UnicodeAttribute()
    claim_token = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # unix seconds
    deliveries = NumberAttribute(default=0)  # claims taken, including re-claims after a lease
    duplicates = NumberAttribute(null=True)  # deliveries answered "duplicate"
    failures = NumberAttribute(null=True)  # times its handler raised
    outcome = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)  # the last failure: exception type and message
    object_id = UnicodeAttribute(null=True)  # data.object.id: pi_, ch_, dp_, re_...
    payment_intent_id = UnicodeAttribute(null=True)  # when the event names one
    order_id = UnicodeAttribute(null=True)  # the order it touched, once known
    replayed_by = UnicodeAttribute(null=True)  # the staff member who replayed it
    received_at = UnicodeAttribute(null=True)
    done_at = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_outcome = _EventGsi1()
    by_type = _EventGsi2()

    @staticmethod
    def key_for(event_id: str) -> str:
        return STRIPE_EVENT.pk(event_id)

    @property
    def stripe_event_id(self) -> str:
        return self.event_id or STRIPE_EVENT.strip(self.pk)

    @property
    def version(self) -> str:
        """The state a page showed (the admin's action form carries it back): a "Replay"
        clicked on a page read while the event was failed is refused if it moved on since."""
        return f"{self.status}/{int(self.deliveries or 0)}/{int(self.failures or 0)}"


# --- Integration health markers (back-office table) ----------------------------------------


HEALTH_PARTITION = HEALTH.pk()


class IntegrationMarker(Model):
    """``HEALTH`` / ``{integration}``: what the admin's health banners read, one Query for all
    of them (``payments.selectors.integration_banners``). Counters and times, updated with one
    write where the condition happens (``payments.services.health``); never a Scan.

    ``webhook``: ``last_event_at`` (the last verified event), ``signature_failures`` and
    ``missed_payments`` since then (a payment the scheduler found succeeded in Stripe with no
    event); ``stripe``: ``failures`` since the last call seen to succeed again and
    ``last_failure_at``."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True, default=HEALTH_PARTITION)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="health")
    last_event_at = UnicodeAttribute(null=True)
    signature_failures = NumberAttribute(null=True)
    last_signature_failure_at = UnicodeAttribute(null=True)
    missed_payments = NumberAttribute(null=True)
    last_missed_at = UnicodeAttribute(null=True)
    failures = NumberAttribute(null=True)
    last_failure_at = UnicodeAttribute(null=True)


# --- An event's cancellation (back-office table; payments.services.event_cancellation) ------


class EventCancellationStatus:
    RUNNING = "running"  # the job refunds and cancels the type's orders, a run at a time
    DONE = "done"  # every order of the type handled (some maybe failed: listed)


class EventCancellationRunningIndex(GlobalSecondaryIndex["EventCancellation"]):
    """The back-office table's ``gsi1``, as the every-minute job reads the cancellations not
    done yet (``EVENTCANCELRUNNING``)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class EventCancellation(Model):
    """``EVENTCANCEL#{sku}`` / ``RECORD``: the cancellation of one ticket type's event, at most
    one per type (written with ``attribute_not_exists``), and its progress. The job walks the
    orders placed from the type's first day to the day after it started (``cursor_day``: the
    days before it are done), a run at a time under a lease, and counts what it did."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=EVENT_CANCEL.sk)
    kind = UnicodeAttribute(default="event_cancellation")
    sku = UnicodeAttribute()
    event_name = UnicodeAttribute()
    currency = UnicodeAttribute()
    status = UnicodeAttribute(default=EventCancellationStatus.RUNNING)
    started_by = UnicodeAttribute()
    started_at = UnicodeAttribute()
    note = UnicodeAttribute(null=True)
    first_day = UnicodeAttribute()  # YYYY-MM-DD: the type's creation
    last_day = UnicodeAttribute()  # YYYY-MM-DD: the day after the sales stopped
    cursor_day = UnicodeAttribute()  # the first day not yet done
    lease_until = NumberAttribute(null=True)  # a run holds the job until then (epoch seconds)
    runs = NumberAttribute(default=0)
    orders_refunded = NumberAttribute(default=0)
    orders_canceled = NumberAttribute(default=0)
    orders_failed = NumberAttribute(default=0)
    orders_waiting = NumberAttribute(default=0)  # in the last run: being paid or issued
    refunded_amount = NumberAttribute(default=0)
    last_run_at = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)  # why the last run stopped early, in words
    finished_at = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)  # ``EVENTCANCELRUNNING`` until done
    gsi1sk = UnicodeAttribute(null=True)  # when it started

    running_index = EventCancellationRunningIndex()

    @staticmethod
    def key_for(sku: str) -> str:
        return EVENT_CANCEL.pk(sku)


class EventCancellationOrder(Model):
    """``EVENTCANCEL#{sku}`` / ``ORDER#{order_id}``: what the cancellation did to one order
    (``refunded`` with the amount, ``canceled``, ``nothing`` left, or ``failed`` with Stripe's
    reason), written once it is final: the job never handles an order twice."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="event_cancellation_order")
    order_id = UnicodeAttribute()
    outcome = UnicodeAttribute()
    amount = NumberAttribute(default=0)
    reason = UnicodeAttribute(null=True)
    at = UnicodeAttribute()

    @staticmethod
    def sk_for(order_id: str) -> str:
        return EVENT_CANCEL_ORDER.sk_of(order_id)
