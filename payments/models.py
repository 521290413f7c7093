"""The payments table: one item per Stripe PaymentIntent; and ``WebhookEvent``, the claim on a
Stripe event id kept in the back-office table.

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

from tickets.backoffice import BackOfficeMeta
from tickets.dynamodb import BaseMeta, Model, register, table_name


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
    amount_refunded = NumberAttribute(default=0)
    charge_id = UnicodeAttribute(null=True)
    disputed = BooleanAttribute(default=False)
    attempts = ListAttribute(of=PaymentAttempt, default=list)
    refunds = ListAttribute(of=Refund, default=list)
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    order_index = PaymentOrderIndex()
    status_index = PaymentStatusIndex()


# --- Claimed webhook events (back-office table) -------------------------------------------------


class WebhookEventStatus:
    IN_PROGRESS = "in_progress"  # claimed; its effects may be partly applied
    DONE = "done"
    IGNORED = "ignored"  # a type we do not handle, recorded so it can be audited


class WebhookEvent(Model):
    """``EVENT#{stripe event id}`` / ``RECORD`` in the back-office table.

    Claimed with a conditional write before any effect: absent, or ``in_progress`` with an
    expired ``lease_until`` (its worker died halfway, so a redelivery may apply it again). Kept
    for 30 days (``expires_at``), well past Stripe's three days of retries."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default="RECORD")
    kind = UnicodeAttribute(default="webhook_event")
    event_type = UnicodeAttribute()
    status = UnicodeAttribute()
    claim_token = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)  # unix seconds
    deliveries = NumberAttribute(default=0)  # claims taken, including re-claims after a lease
    outcome = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute(null=True)
    done_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    @staticmethod
    def key_for(event_id: str) -> str:
        return f"EVENT#{event_id}"
