"""The admin for payments: list newest first or by status, search by PaymentIntent or order.

Payments change only through Stripe's webhooks, so their pages are read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

from orders import admin_selectors as selectors
from payments.models import Payment
from tickets.admin_dynamodb import (
    ChoiceFilter,
    Column,
    DynamoModelAdmin,
    ListSource,
    Partition,
    RelatedList,
    SearchField,
    dynamo_shape,
    money_format,
    when,
    when_short,
)

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

PaymentShape = dynamo_shape(app_label="payments", name="Payment", key="payment_id")


class PaymentAdmin(DynamoModelAdmin):
    dynamo_model = Payment
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
            lookup=lambda t: [p for p in [selectors.payment_get(payment_id=t)] if p],
        ),
        SearchField(
            "order id",
            matches=lambda t: t.startswith("ord_"),
            lookup=lambda t: selectors.payments_of_order(order_id=t),
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
        return selectors.payment_get(payment_id=object_id)

    def item_key(self, item: Payment) -> str:
        return item.payment_id


admin.site.register(PaymentShape, PaymentAdmin)
