"""An event's cancellation on the ticket type's page (``dynamo_admin.extensions``: the arrow
runs payments -> orders): "Cancel the event" (finance and admin), whose confirmation is the dry
run (how many orders, how much money), then the job's progress and the orders Stripe refused.
The work is ``payments.services.event_cancellation``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.urls import reverse

from core.formatting import money_format, when
from dynamo_admin.declarations import ObjectAction, RelatedList
from dynamo_admin.extensions import AdminExtension, extension_register
from orders.models import TicketType
from payments.models import EventCancellationStatus
from payments.services.event_cancellation import (
    event_cancellation_failures,
    event_cancellation_get,
    event_cancellation_preview,
    event_cancellation_start,
)

CANCEL_EVENT_PERMISSION = "orders.cancel_event_tickettype"


class EventCancelForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        label="Why",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the ticket type's history and on each refund, with your name.",
    )


def _confirm(ticket_type: TicketType, data: dict[str, Any]) -> list[str]:
    preview = event_cancellation_preview(sku=ticket_type.sku)
    money = money_format(preview.amount, ticket_type.currency)
    at_least = "" if preview.complete else "at least "
    lines = [
        f"{ticket_type.name} stops selling now, for good (it leaves the catalog).",
        f"Refunded: {at_least}{preview.orders_to_refund} paid order(s), {at_least}{money} in "
        "all (each order the part for this ticket type, its tickets for it voided at the "
        "vendor first). A refund cannot be undone.",
        f"Canceled: {at_least}{preview.orders_to_cancel} unpaid order(s) holding it (seats "
        "back, no money moved).",
        "Each buyer is e-mailed. The refunds run in the background within Stripe's limits; "
        "this page shows their progress.",
    ]
    if preview.orders_waiting:
        lines.append(
            f"{preview.orders_waiting} paid order(s) still have their tickets being issued: "
            "they are refunded once issued."
        )
    if not preview.complete:
        lines.append(
            f"The count stopped after reading {preview.orders_read} orders (it took too long); "
            "the job handles every order."
        )
    return lines


def _run(request: HttpRequest, ticket_type: TicketType, data: dict[str, Any]) -> str:
    record, started = event_cancellation_start(
        sku=ticket_type.sku, staff=request.user.get_username(), note=data.get("note", "")
    )
    if not started:
        return f"The event of {ticket_type.name} was canceled already (by {record.started_by})."
    return (
        f"The event of {ticket_type.name} is canceled: sales stopped; its orders are being "
        "refunded and told. Progress below."
    )


def _progress_rows(ticket_type: TicketType) -> list[dict[str, Any]]:
    record = event_cancellation_get(sku=ticket_type.sku)
    if record is None:
        return []
    done = record.status == EventCancellationStatus.DONE
    state = f"done {when(record.finished_at)}" if done else "running"
    if not done and record.last_error:
        state += f" (last run stopped: {record.last_error}; it resumes within a minute)"
    rows = [
        {"What": "Canceled", "Value": f"{when(record.started_at)} by {record.started_by}"},
        {"What": "State", "Value": state},
        {
            "What": "Refunded",
            "Value": f"{int(record.orders_refunded)} order(s), "
            f"{money_format(int(record.refunded_amount), record.currency)}",
        },
        {"What": "Unpaid orders canceled", "Value": int(record.orders_canceled)},
        {"What": "Refunds Stripe refused", "Value": int(record.orders_failed)},
    ]
    if not done:
        rows.append(
            {"What": "Orders placed before this day: all handled", "Value": record.cursor_day}
        )
        if record.orders_waiting:
            rows.append(
                {"What": "Waiting (tickets being issued)", "Value": int(record.orders_waiting)}
            )
    for failure in event_cancellation_failures(sku=ticket_type.sku):
        rows.append(
            {
                "What": f"Refused: {failure.order_id}",
                "Value": failure.reason or "refused by Stripe",
                "_url": reverse("admin:orders_order_change", args=[failure.order_id]),
            }
        )
    return rows


extension_register(
    "orders.tickettype",
    AdminExtension(
        related_lists=[
            (RelatedList("Event cancellation", ["What", "Value"], _progress_rows), None)
        ],
        object_actions=[
            (
                ObjectAction(
                    "cancel_event",
                    "Cancel the event",
                    permission=CANCEL_EVENT_PERMISSION,
                    run=_run,
                    available=lambda t: not t.event_canceled_at,
                    help_text="Stop selling, refund every order holding it, e-mail the buyers. "
                    "You see how many orders and how much money first.",
                    audited_by_service=True,
                    confirm=_confirm,
                    confirm_form_class=EventCancelForm,
                    confirm_label="Yes, cancel the event and refund its orders",
                ),
                None,
            )
        ],
    ),
    name=__name__,
)
