"""The payments table: one item per Stripe PaymentIntent.

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
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from tickets.dynamodb import BaseMeta, register, table_name


class PaymentAttempt(MapAttribute):
    at = UnicodeAttribute()
    status = UnicodeAttribute()
    failure_code = UnicodeAttribute(null=True)
    failure_message = UnicodeAttribute(null=True)


class Refund(MapAttribute):
    refund_id = UnicodeAttribute()
    amount = NumberAttribute()
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


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
