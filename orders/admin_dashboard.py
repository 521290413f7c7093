"""The admin's dashboard: orders and revenue per day (30 days) and the open problems.

Reads a handful of items whatever the tables hold: one Query of the daily counters
(``orders.daily_totals``), and one small Query each for fulfillment failures
(``order-status-index``), open disputes (the sparse ``order-dispute-index``) and unpaid orders
past their expiry (``order-status-index`` with ``created_at`` before the cut-off: orders the
expiry sweeper should have canceled), and the needs-attention counts, one small Query per
reason (``orders.selectors.orders_needing_attention``), each linking to its part of the queue. The chart is inline SVG drawn here: no JavaScript, no CDN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from orders.daily_totals import daily_totals_list, days_between
from orders.models import AttentionReason, Order, OrderStatus
from orders.selectors import (
    orders_needing_attention,
    orders_with_open_dispute,
    orders_with_status,
)
from tickets.config import parameters_get
from tickets.dynamodb import iso_utc, utc_now
from tickets.formatting import money_format, today, when
from tickets.health import health_banners

DAYS = 30
# The needs-attention counts read at most this many of each reason ("100+" beyond).
ATTENTION_COUNTED = 100
# The queue's own threshold (payments.admin_attention, which this app cannot import; a test
# keeps the two equal).
PAID_NOT_FULFILLED_AFTER = timedelta(minutes=30)
ATTENTION_TITLES = {
    AttentionReason.PAID_NOT_FULFILLED: "Paid, not fulfilled",
    AttentionReason.FULFILLMENT_FAILED: "Fulfillment failed",
    AttentionReason.PAID_CANCELED: "Paid after it was canceled",
    AttentionReason.REFUND_MISMATCH: "Refund not confirmed by Stripe",
    AttentionReason.DISPUTE_OPEN: "Dispute open",
    AttentionReason.PENDING_SUCCEEDED: "Awaiting payment, but the payment succeeded",
}
PROBLEMS_SHOWN = 10
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 900, 220, 4


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    title: str


def _chart(days: list[str], values: list[int], labels: list[str]) -> dict[str, Any]:
    """Bars scaled to the tallest; each with a tooltip (``<title>``)."""
    top = max(values) if values and max(values) > 0 else 1
    width = CHART_WIDTH / max(len(days), 1)
    bars = []
    for n, (day, value, label) in enumerate(zip(days, values, labels, strict=True)):
        height = (value / top) * (CHART_HEIGHT - 30)
        bars.append(
            Bar(
                x=n * width + BAR_GAP / 2,
                y=CHART_HEIGHT - 20 - height,
                width=width - BAR_GAP,
                height=height,
                label=day[5:] if n % 5 == 0 or n == len(days) - 1 else "",
                title=f"{day}: {label}",
            )
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": CHART_HEIGHT - 20,
    }


def _problem_rows(orders: list[Order], note: Any) -> list[dict[str, str]]:
    return [
        {
            "url": reverse("admin:orders_order_change", args=[o.order_id]),
            "order_id": o.order_id,
            "created": when(o.created_at),
            "note": note(o),
        }
        for o in orders
    ]


def dashboard_view(request: HttpRequest, site: Any) -> HttpResponse:
    if not request.user.has_perm("orders.view_dashboard"):
        raise PermissionDenied
    last = today()
    first = last - timedelta(days=DAYS - 1)
    totals = daily_totals_list(first=first, last=last)
    currencies = sorted({t.currency for t in totals}) or ["usd"]
    currency = "usd" if "usd" in currencies else currencies[0]
    by_day = {t.day: t for t in totals if t.currency == currency}
    days = [d.isoformat() for d in days_between(first, last)]
    orders = [by_day[d].orders if d in by_day else 0 for d in days]
    revenue = [by_day[d].revenue if d in by_day else 0 for d in days]

    failures = orders_with_status(status=OrderStatus.FULFILLMENT_FAILED.value, limit=PROBLEMS_SHOWN)
    disputes = orders_with_open_dispute(limit=PROBLEMS_SHOWN)
    cutoff = iso_utc(utc_now() - timedelta(minutes=parameters_get().order_expiry_minutes))
    overdue = orders_with_status(
        status=OrderStatus.PENDING_PAYMENT.value, limit=PROBLEMS_SHOWN, created_before=cutoff
    )
    changelist = reverse("admin:orders_order_changelist")
    attention = reverse("admin:attention")
    paid_before = iso_utc(utc_now() - PAID_NOT_FULFILLED_AFTER)
    needs_attention = [
        {
            "reason": reason.value,
            "title": ATTENTION_TITLES[reason],
            "count": len(
                n := orders_needing_attention(
                    reason=reason, limit=ATTENTION_COUNTED, paid_before=paid_before
                )
            ),
            "more": len(n) >= ATTENTION_COUNTED,
            "url": f"{attention}#{reason.value}",
        }
        for reason in AttentionReason
    ]
    context = {
        **site.each_context(request),
        "title": "Dashboard",
        "subtitle": None,
        "health_banners": health_banners(),
        "currency": currency.upper(),
        "other_currencies": [c.upper() for c in currencies if c != currency],
        "orders_chart": _chart(days, orders, [f"{n} orders" for n in orders]),
        "revenue_chart": _chart(days, revenue, [money_format(r, currency) for r in revenue]),
        "orders_total": sum(orders),
        "revenue_total": money_format(sum(revenue), currency),
        "first": first,
        "last": last,
        "needs_attention": needs_attention,
        "needs_attention_url": attention,
        "problems": [
            {
                "title": "Fulfillment failures",
                "rows": _problem_rows(failures, lambda o: o.fulfillment_failure_reason or ""),
                "more": f"{changelist}?status=fulfillment_failed",
            },
            {
                "title": "Open disputes",
                "rows": _problem_rows(disputes, lambda o: money_format(o.total_amount, o.currency)),
                "more": None,
            },
            {
                "title": "Unpaid orders past their expiry",
                "rows": _problem_rows(overdue, lambda o: o.customer_email_masked),
                "more": f"{changelist}?status=pending_payment",
            },
        ],
    }
    return TemplateResponse(request, "admin/backoffice/dashboard.html", context)
