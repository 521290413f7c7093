"""The admin for payments: list newest first or by status, search by PaymentIntent or order.

Payments change only through Stripe's webhooks, so their pages are read-only. This app also
adds its part to the order admin (the arrow runs payments -> orders, never back): the order
page's "Payments" list, the search by PaymentIntent id, the "Refund" action, which calls
``payments.services.refunds.refund_create``, and "Sync with Stripe", which calls
``payments.services.sync.payment_sync`` and says what changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from dynamo_admin.declarations import Column, ObjectAction, RelatedList, SearchField
from dynamo_admin.filters import ChoiceFilter
from dynamo_admin.options import DynamoModelAdmin
from dynamo_admin.paging import ListSource, Partition
from dynamo_admin.shapes import dynamo_shape
from orders.admin import OrderAdmin
from orders.models import Order, OrderStatus
from payments import selectors
from payments.models import Payment
from payments.services.refunds import refund_create
from payments.services.sync import payment_sync
from tickets.exceptions import ValidationFailed
from tickets.formatting import money_format, money_minor_units, when, when_short

# A PaymentIntent's statuses (Stripe's list): the partitions of payment-status-index.
PAYMENT_STATUSES = [
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "canceled",
    "succeeded",
]

PAYMENTS_SHOWN = 20  # an order's payments on its page (it has a handful)

PaymentShape = dynamo_shape(app_label="payments", name="Payment", key="payment_id")


class PaymentAdmin(DynamoModelAdmin):
    list_columns = [
        Column("payment_id", "PaymentIntent", link=True),
        Column(lambda i: when_short(i.created_at), "Created (UTC)"),
        Column("status", "Status"),
        Column(lambda p: money_format(p.amount, p.currency), "Amount"),
        Column(lambda p: money_format(p.amount_refunded or 0, p.currency), "Refunded"),
        Column("order_id", "Order"),
        Column(lambda p: "disputed" if p.disputed else "", "Dispute"),
    ]
    list_filters = [
        ChoiceFilter("status", "status", [(s, s.replace("_", " ")) for s in PAYMENT_STATUSES])
    ]
    search_fields = [
        SearchField(
            "PaymentIntent id",
            matches=lambda t: t.startswith("pi_"),
            lookup=lambda t: [p for p in [selectors.payment_get(payment_intent_id=t)] if p],
        ),
        SearchField(
            "order id",
            matches=lambda t: t.startswith("ord_"),
            lookup=lambda t: selectors.payments_for_order(order_id=t, limit=PAYMENTS_SHOWN),
        ),
    ]
    search_help = "Search by PaymentIntent id (pi_…) or order id (ord_…)."
    details = [
        ("Status", lambda p: p.status),
        ("Amount", lambda p: money_format(p.amount, p.currency)),
        ("Refunded", lambda p: money_format(p.amount_refunded or 0, p.currency)),
        ("Charge", lambda p: p.charge_id),
        ("Disputed", lambda p: "yes" if p.disputed else "no"),
        ("Created", lambda p: when(p.created_at)),
        ("Updated", lambda p: when(p.updated_at)),
    ]
    related_lists = [
        RelatedList(
            "Order",
            ["Order"],
            lambda p: [
                {
                    "_url": reverse("admin:orders_order_change", args=[p.order_id]),
                    "Order": p.order_id,
                }
            ],
        ),
        RelatedList(
            "Attempts",
            ["At", "Status", "Failure code", "Failure message"],
            lambda p: [
                {
                    "At": when(a.at),
                    "Status": a.status,
                    "Failure code": a.failure_code,
                    "Failure message": a.failure_message,
                }
                for a in p.attempts or []
            ],
        ),
        RelatedList(
            "Refunds",
            ["Refund", "Amount", "Status", "Created", "Reason"],
            lambda p: [
                {
                    "Refund": r.refund_id,
                    "Amount": money_format(r.amount, p.currency),
                    "Status": r.status,
                    "Created": r.created_at,
                    "Reason": r.reason,
                }
                for r in p.refunds or []
            ],
        ),
    ]

    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource:
        """One status: its partition. No status: every status's partition, merged (a fixed
        seven Queries per page, newest first)."""
        statuses = [filters["status"]] if filters.get("status") else PAYMENT_STATUSES
        return ListSource(
            partitions=[Partition(Payment.status_index, s) for s in statuses],
            sort_attribute=Payment.created_at,
        )

    def item_get(self, object_id: str) -> Payment | None:
        return selectors.payment_get(payment_intent_id=object_id)

    def item_key(self, item: Payment) -> str:
        return item.payment_id


admin.site.register(PaymentShape, PaymentAdmin)


# --- The payments part of the order admin ------------------------------------------------------


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        decimal_places=2,
        label="Amount",
        help_text="In the order's currency, e.g. 12.50. Leave empty to refund what is left.",
    )


REFUNDABLE = {
    OrderStatus.PAID,
    OrderStatus.FULFILLED,
    OrderStatus.FULFILLMENT_FAILED,
    OrderStatus.PARTIALLY_REFUNDED,
}


def _refund(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    amount = data.get("amount")
    minor = money_minor_units(amount, order.currency) if amount is not None else None
    left = order.total_amount - (order.refunded_amount or 0)
    if minor is not None and minor > left:
        raise ValidationFailed(
            f"at most {money_format(left, order.currency)} is left to refund on this order"
        )
    refund_create(order_id=order.order_id, amount=minor, staff=request.user.get_username())
    shown = money_format(minor if minor is not None else left, order.currency)
    return f"Refund of {shown} requested for order {order.order_id}; Stripe confirms it shortly."


def _sync(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    result = payment_sync(
        payment_intent_id=order.payment_intent_id, actor=request.user.get_username()
    )
    return f"Synced with Stripe. {result.describe()}"


def _payments_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "_url": reverse("admin:payments_payment_change", args=[p.payment_id]),
            "PaymentIntent": p.payment_id,
            "Status": p.status,
            "Amount": money_format(p.amount, p.currency),
            "Refunded": money_format(p.amount_refunded, p.currency),
            "Charge": p.charge_id,
            "Disputed": "yes" if p.disputed else "no",
            "Created": when(p.created_at),
        }
        for p in selectors.payments_for_order(order_id=order.order_id, limit=PAYMENTS_SHOWN)
    ]


OrderAdmin.contribute(
    related_list=RelatedList(
        "Payments",
        ["PaymentIntent", "Status", "Amount", "Refunded", "Charge", "Disputed", "Created"],
        _payments_rows,
    ),
    before="Fulfillment attempts",
)
OrderAdmin.contribute(
    search_field=SearchField(
        "PaymentIntent id",
        matches=lambda t: t.startswith("pi_"),
        lookup=lambda t: selectors.orders_by_payment_intent(payment_intent_id=t),
    )
)
OrderAdmin.contribute(
    search_field=SearchField(
        "charge id",
        matches=lambda t: t.startswith(("ch_", "py_")),
        lookup=lambda t: selectors.orders_by_charge(charge_id=t),
    )
)
OrderAdmin.contribute(
    object_action=ObjectAction(
        "refund",
        "Refund",
        permission="orders.refund_order",
        run=_refund,
        form_class=RefundForm,
        available=lambda o: o.status in REFUNDABLE,
        help_text="Full or partial, through Stripe.",
        audited_by_service=True,
    ),
    before="cancel",
)
OrderAdmin.contribute(
    object_action=ObjectAction(
        "sync_payment",
        "Sync with Stripe",
        permission="orders.sync_payment_order",
        run=_sync,
        available=lambda o: bool(o.payment_intent_id),
        help_text="Re-read the payment in Stripe and apply what it says (never backwards).",
        audited_by_service=True,
    ),
    before="cancel",
)
