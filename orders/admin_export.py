"""CSV export of the orders of a date range, streamed page by page from ``order-day-index``.

The response starts at once and each chunk is one Query of one day's partition (at most
``EXPORT_PAGE_SIZE`` orders), so memory stays flat whatever the range holds. Rows carry the
masked e-mail only: a full customer record belongs on the customer page, not in files that get
mailed around. Amounts (``total``, ``refunded``) are in major units of the row's ``currency``
(``49.00``), as staff read them in the admin; times are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse

from core.audit import audit_record
from core.currencies import amount_major
from core.formatting import date_or_none, label, today
from orders.models import OrderStatus
from orders.selectors import orders_of_day

EXPORT_PAGE_SIZE = 500
EXPORT_MAX_DAYS = 366
COLUMNS = [
    "order_id",
    "created_at",
    "status",
    "currency",
    "total",
    "refunded",
    "customer_id",
    "customer_email_masked",
    "payment_intent_id",
    "fulfillment_status",
    "disputed",
]


# Money columns, in major units of the row's currency ("49.00"), as staff read them everywhere.
_MONEY = {"total": "total_amount", "refunded": "refunded_amount"}


def _value(order: Any, column: str) -> Any:
    if column in _MONEY:
        return amount_major(getattr(order, _MONEY[column]) or 0, order.currency)
    return getattr(order, column)


def orders_export_rows(
    *, first: date, last: date, status: str | None = None
) -> Iterator[list[Any]]:
    """Every order created from ``first`` to ``last`` (inclusive, UTC), oldest first, one
    day partition and one page of it at a time; only those in ``status`` if given (the
    order list's status filter)."""
    day = first
    while day <= last:
        for order in orders_of_day(day=day, page_size=EXPORT_PAGE_SIZE):
            if status is None or order.status == status:
                yield [_value(order, column) for column in COLUMNS]
        day += timedelta(days=1)


PRESETS = {"today": "Today", "last7": "Last 7 days", "month": "This month"}


def export_preset_range(preset: str | None, *, on: date) -> tuple[date, date] | None:
    """The days of a preset (UTC, inclusive), as of the day ``on``; None for an unknown one."""
    if preset == "today":
        return on, on
    if preset == "last7":
        return on - timedelta(days=6), on
    if preset == "month":
        return on.replace(day=1), on
    return None


def _status_chosen(request: HttpRequest) -> str | None:
    value = request.GET.get("status") or None
    return value if value in {s.value for s in OrderStatus} else None


def _csv_lines(rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def orders_export_view(model_admin: Any) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("orders.export_order"):
            raise PermissionDenied
        status = _status_chosen(request)
        if request.GET.get("status") and status is None:
            messages.error(request, f"“{request.GET['status']}” is not an order status.")
            return HttpResponseRedirect(request.path)
        preset = export_preset_range(request.GET.get("preset"), on=today())
        first, last = preset or (
            date_or_none(request.GET.get("from")),
            date_or_none(request.GET.get("to")),
        )
        typed = {k: request.GET.get(k, "") for k in ("from", "to") if request.GET.get(k)}
        bogus = [v for k, v in typed.items() if date_or_none(v) is None]
        if bogus and preset is None:
            messages.error(
                request, f"“{bogus[0][:40]}” is not a date: choose one, or type it as YYYY-MM-DD."
            )
        if first is None or last is None:
            # The form, filled in with the order list's filters (its "Export CSV" link
            # carries them): the dates chosen there, or the last 30 days.
            low = date_or_none(request.GET.get("created__gte"))
            high = date_or_none(request.GET.get("created__lte"))
            context = {
                **model_admin.base_context(request, "Export orders as CSV"),
                "first": (low or (high or today()) - timedelta(days=30)).isoformat(),
                "last": (high or today()).isoformat(),
                "status": status,
                "status_label": label(status) if status else "",
                "presets": [
                    {"key": key, "label": text, "url": "?" + urlencode(
                        {"preset": key, **({"status": status} if status else {})}
                    )}
                    for key, text in PRESETS.items()
                ],
                "searched": request.GET.get("q", ""),
            }  # fmt: skip
            return TemplateResponse(request, "admin/backoffice/orders_export.html", context)
        if last < first or (last - first).days >= EXPORT_MAX_DAYS:
            problem = (
                f"“From” ({first}) is after “To” ({last})"
                if last < first
                else f"{(last - first).days + 1} days is more than {EXPORT_MAX_DAYS}"
            )
            messages.error(
                request,
                f"Nothing was exported: {problem}. Choose a range of 1 to {EXPORT_MAX_DAYS} "
                "days, oldest first.",
            )
            keep = {"status": status} if status else {}
            return HttpResponseRedirect(request.path + ("?" + urlencode(keep) if keep else ""))
        which = f"{label(status)} orders" if status else "orders"
        audit_record(
            staff=request.user.get_username(),
            object_type="orders.order",
            object_id="export",
            object_repr=f"{which} {first} to {last}",
            action="export",
            summary=f"Exported {which} created {first} to {last} as CSV",
        )
        response = StreamingHttpResponse(
            _csv_lines(orders_export_rows(first=first, last=last, status=status)),
            content_type="text/csv; charset=utf-8",
        )
        name = f"orders-{status}-{first}-{last}" if status else f"orders-{first}-{last}"
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response

    return view
