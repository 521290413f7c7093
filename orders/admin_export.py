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

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse

from orders.selectors import orders_of_day
from tickets.audit import audit_record
from tickets.currencies import amount_major
from tickets.formatting import date_or_none, today

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


def orders_export_rows(*, first: date, last: date) -> Iterator[list[Any]]:
    """Every order created from ``first`` to ``last`` (inclusive, UTC), oldest first, one
    day partition and one page of it at a time."""
    day = first
    while day <= last:
        for order in orders_of_day(day=day, page_size=EXPORT_PAGE_SIZE):
            yield [_value(order, column) for column in COLUMNS]
        day += timedelta(days=1)


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
        first = date_or_none(request.GET.get("from"))
        last = date_or_none(request.GET.get("to"))
        if first is None or last is None:
            context = {
                **model_admin.base_context(request, "Export orders as CSV"),
                "first": (today() - timedelta(days=30)).isoformat(),
                "last": today().isoformat(),
            }
            return TemplateResponse(request, "admin/backoffice/orders_export.html", context)
        if last < first or (last - first).days >= EXPORT_MAX_DAYS:
            messages.error(request, f"Choose a range of 1 to {EXPORT_MAX_DAYS} days, oldest first.")
            return HttpResponseRedirect(request.path)
        audit_record(
            staff=request.user.get_username(),
            object_type="orders.order",
            object_id="export",
            object_repr=f"orders {first} to {last}",
            action="export",
            summary=f"Exported orders created {first} to {last} as CSV",
        )
        response = StreamingHttpResponse(
            _csv_lines(orders_export_rows(first=first, last=last)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="orders-{first}-{last}.csv"'
        return response

    return view
