"""The admin's dashboard: orders and revenue per day (30 days) and the open problems.

Reads a handful of items whatever the tables hold: one Query of the daily counters
(``orders.daily_totals``), and one small Query each for fulfillment failures
(``order-status-index``), open disputes (the sparse ``order-dispute-index``) and unpaid orders
past their expiry (``order-status-index`` with ``created_at`` before the cut-off: orders the
expiry sweeper should have canceled), and the needs-attention counts, one small Query per
reason (``orders.selectors.orders_needing_attention``), each linking to its part of the queue,
and one Query of the on-sales' lines (``orders.services.line``; a seats read per line). The chart is inline SVG drawn here: no JavaScript, no CDN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from core.config import parameters_get
from core.dynamodb import iso_utc, utc_now
from core.formatting import money_format, money_minor_units, today, when
from core.health import health_banners
from integrations.vendor_client import answer_in_words
from orders.daily_totals import daily_totals_list, days_between
from orders.models import AttentionReason, Order, OrderStatus
from orders.selectors import (
    orders_needing_attention,
    orders_with_open_dispute,
    orders_with_status,
    ticket_types_get,
)

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
    AttentionReason.VOID_FAILED: "Tickets not voided",
}
PROBLEMS_SHOWN = 10
# The chart's drawing box (SVG units): the plot, with room on the left for the scale, above
# the bars for their values and below for the days.
CHART_WIDTH, CHART_HEIGHT, BAR_GAP = 900, 262, 4
PLOT_LEFT, PLOT_TOP, PLOT_BOTTOM = 56, 22, 222
LABEL_CHAR_WIDTH = 5.2  # px per character of a 9 px upright label (money over a bar)
TICKS = 4  # gridlines above zero


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the day of the month under the bar ("26")
    month: str  # the month under that, where it starts ("Nov"; "" elsewhere)
    value: str  # the value over it ("12", "USD 251.50"), readable without hovering
    title: str  # the tooltip, in full
    upright: bool = False  # the value written bottom-to-top (a long one: money)
    inside: bool = False  # ... inside the top of the bar (it is tall enough), else above it

    @property
    def center(self) -> float:
        return self.x + self.width / 2


@dataclass
class Tick:
    y: float
    label: str


def _compact(value: float) -> str:
    """A number short enough to sit over a bar: ``49``, ``7.5``, ``1.2k``, ``15k``, ``2.1M``."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.0f}k" if value % 1000 == 0 else f"{value / 1000:.1f}k"
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _nice_step(top: float) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that splits ``top`` in ``TICKS``."""
    raw = max(top, 1) / TICKS
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _chart(
    days: list[str], values: list[float], titles: list[str], labels: list[str] | None = None
) -> dict[str, Any]:
    """Bars on a scale: gridlines at round values with their labels on the left, each bar's
    value written over it, each day under it (the month where it changes), and a tooltip
    (``<title>``) with the full value. ``values`` are in the unit the scale shows."""
    step = _nice_step(max(values, default=0))
    top = step * TICKS
    plot_height = PLOT_BOTTOM - PLOT_TOP
    width = (CHART_WIDTH - PLOT_LEFT) / max(len(days), 1)
    bars = []
    for n, (day, value, title) in enumerate(zip(days, values, titles, strict=True)):
        height = (value / top) * plot_height
        text = labels[n] if labels is not None else (_compact(value) if value else "")
        month_starts = n == 0 or day[8:] == "01"
        bars.append(
            Bar(
                x=PLOT_LEFT + n * width + BAR_GAP / 2,
                y=PLOT_BOTTOM - height,
                width=width - BAR_GAP,
                height=height,
                label=str(int(day[8:])),
                month=date.fromisoformat(day).strftime("%b") if month_starts else "",
                value=text,
                # A long label (money) stands upright: inside a bar tall enough, else above it.
                upright=labels is not None,
                inside=labels is not None and height > len(text) * LABEL_CHAR_WIDTH + 8,
                title=f"{day}: {title}",
            )
        )
    ticks = [
        Tick(y=PLOT_BOTTOM - (k * step / top) * plot_height, label=_compact(k * step))
        for k in range(TICKS + 1)
    ]
    return {
        "bars": bars,
        "ticks": ticks,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": PLOT_LEFT,
        "baseline": PLOT_BOTTOM,
        "day_label_y": PLOT_BOTTOM + 15,
        "month_label_y": PLOT_BOTTOM + 30,
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


def _onsales() -> list[dict[str, Any]]:
    """Each on-sale's line: waiting, admitted and at what rate, seats left (one Query of the
    lines, one seats read each)."""
    from datetime import UTC, datetime

    from orders.services.line import lines_list
    from orders.services.seats import seats_fill

    rows = []
    for line in lines_list():
        types = ticket_types_get(skus=[str(line.sku)])
        ticket_type = types.get(str(line.sku))
        if ticket_type is not None:
            seats_fill(ticket_types=[ticket_type], consistent=False)
        start = datetime.fromtimestamp(int(line.start_us) / 1_000_000, UTC)
        rows.append(
            {
                "sku": line.sku,
                "start": when(start),
                "waiting": int(line.waiting),
                "admitted": int(line.admitted),
                "rate": f"{float(line.admit_per_second):g}",
                "seats_left": None if ticket_type is None else ticket_type.available,
                "sold_out": bool(line.sold_out),
                "hold_minutes": int(line.hold_minutes),
            }
        )
    return rows


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
        "revenue_chart": _chart(
            days,
            [r / money_minor_units(1, currency) for r in revenue],
            [money_format(r, currency) for r in revenue],
            # Money over a bar is exact and names its currency (USD 251.50), never rounded.
            labels=[money_format(r, currency) if r else "" for r in revenue],
        ),
        "per_day": [
            {"day": d, "orders": o, "revenue": money_format(r, currency)}
            for d, o, r in zip(days, orders, revenue, strict=True)
        ],
        "orders_total": sum(orders),
        "revenue_total": money_format(sum(revenue), currency),
        "first": first,
        "last": last,
        "needs_attention": needs_attention,
        "needs_attention_url": attention,
        "onsales": _onsales(),
        "problems": [
            {
                "title": "Fulfillment failures",
                "note_title": "Why",
                "rows": _problem_rows(
                    failures, lambda o: answer_in_words(o.fulfillment_failure_reason)
                ),
                "more": f"{changelist}?status=fulfillment_failed",
            },
            {
                "title": "Open disputes",
                "note_title": "Amount",
                "rows": _problem_rows(disputes, lambda o: money_format(o.total_amount, o.currency)),
                "more": None,
            },
            {
                "title": "Unpaid orders past their expiry",
                "note_title": "Customer",
                "rows": _problem_rows(overdue, lambda o: o.customer_email_masked),
                "more": f"{changelist}?status=pending_payment",
            },
        ],
    }
    return TemplateResponse(request, "admin/backoffice/dashboard.html", context)
