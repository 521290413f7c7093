"""The admin for payments: list newest first or by status, search by PaymentIntent or order;
and the Stripe event inbox: every verified event newest first, by outcome and type, the order
it touched, and "Replay" for a failed one (``payments.services.events.webhook_event_replay``).

Payments change only through Stripe's webhooks, so their pages are read-only. This app also
adds its part to the order admin through ``dynamo_admin.extensions`` (the arrow runs
payments -> orders, never back; the order admin's class is not changed): the order
page's "Payments" list, the search by PaymentIntent id, the "Refund" action, which calls
``payments.services.refunds.refund_create``, and "Sync with Stripe", which calls
``payments.services.sync.payment_sync`` and says what changed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.formatting import money_format, when, when_short
from core.health import health_source_register
from dynamo_admin.declarations import Column, ObjectAction, RelatedList, SearchField
from dynamo_admin.extensions import AdminExtension, extension_register
from dynamo_admin.filters import ChoiceFilter
from dynamo_admin.once import SUBMISSION_ID
from dynamo_admin.options import DynamoModelAdmin
from dynamo_admin.paging import ListSource, Partition
from dynamo_admin.shapes import dynamo_shape
from orders import actions as order_actions
from orders.models import Order, TicketState
from payments import (
    admin_event_cancellation,  # noqa: F401  (registers its extension)
    selectors,
)
from payments.admin_attention import site_urls as attention_site_urls
from payments.models import (
    EventOutcome,
    Payment,
    WebhookEvent,
    WebhookEventStatus,
    inbox_partition,
    inbox_type_partition,
)
from payments.selectors import integration_banners
from payments.services.events import webhook_event_replay
from payments.services.records import payment_refunded_total
from payments.services.refunds import (
    REFUND_REASONS,
    refund_amount_choose,
    refund_create,
    refund_reason_text,
)
from payments.services.sync import payment_sync
from tickets.admin_views import site_urls_register

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

REFUND_COLUMNS = [
    "Refund",
    "Amount",
    "Status",
    "Reason",
    "Stripe's reason",
    "Requested by",
    "Created",
]
REFUND_STATUS_WORDS = {
    "reserved": "asked, Stripe's answer not recorded yet",
    "pending": "pending in Stripe",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
    "requires_action": "awaits the buyer's action in Stripe",
}


def _refund_rows(payment: Payment) -> list[dict[str, Any]]:
    """A payment's refunds, each with its status in words and, for a failed one, Stripe's
    reason (and the reason staff gave): the same on the payment page and the order page."""
    return [
        {
            "Refund": r.refund_id,
            "Amount": money_format(r.amount, payment.currency),
            "Status": REFUND_STATUS_WORDS.get(r.status, r.status),
            "Reason": refund_reason_text(reason=r.reason, note=r.note or "") or None,
            "Stripe's reason": (r.failure_reason or "").replace("_", " ") or None,
            "Requested by": r.requested_by or "Stripe (outside this admin)",
            "Created": when(r.created_at),
        }
        for r in payment.refunds or []
    ]


PaymentShape = dynamo_shape(app_label="payments", name="Payment", key="payment_id")


class PaymentAdmin(DynamoModelAdmin):
    list_columns = [
        Column("payment_id", "PaymentIntent", link=True),
        Column(lambda i: when(i.created_at), "Created"),
        Column("status", "Status"),
        Column(lambda p: money_format(p.amount, p.currency), "Amount"),
        Column(lambda p: money_format(payment_refunded_total(p), p.currency), "Refunded"),
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
        ("Refunded", lambda p: money_format(payment_refunded_total(p), p.currency)),
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
        RelatedList("Refunds", REFUND_COLUMNS, lambda p: _refund_rows(p)),
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


# --- The Stripe event inbox --------------------------------------------------------------------

StripeEventShape = dynamo_shape(
    app_label="payments",
    name="StripeEvent",
    key="event_id",
    verbose_name="Stripe event",
    verbose_name_plural="Stripe events",
)

OUTCOME_WORDS = {
    EventOutcome.APPLIED: "applied",
    EventOutcome.UNCHANGED: "unchanged (already so)",
    EventOutcome.STALE: "stale (Stripe says otherwise now)",
    EventOutcome.IGNORED: "ignored (a type we do not handle)",
    EventOutcome.NOT_OURS: "not ours (unknown to Stripe or to us)",
    EventOutcome.FAILED: "failed",
    EventOutcome.PROCESSING: "processing",
}
# The type filter: the types we handle and the ones Stripe most often sends besides (any other
# type is in "ignored"). Each choice reads its type's partitions of gsi2.
EVENT_TYPES = [
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.refunded",
    "charge.dispute.created",
    "payment_intent.created",
    "charge.succeeded",
    "charge.updated",
    "charge.refund.updated",
    "charge.dispute.closed",
]


def _order_link(event: WebhookEvent) -> Any:
    if not event.order_id:
        return "-"
    url = reverse("admin:orders_order_change", args=[event.order_id])
    return format_html('<a href="{}">{}</a>', url, event.order_id)


def _replay(request: HttpRequest, event: WebhookEvent, data: dict[str, Any]) -> str:
    result = webhook_event_replay(event_id=event.stripe_event_id, staff=request.user.get_username())
    return f"Replayed {event.event_type}: {result.outcome.replace('_', ' ')}. {result.description}"


class StripeEventAdmin(DynamoModelAdmin):
    """Read-only but for "Replay". Newest first by first delivery; an outcome is one
    ``gsi1`` partition, a type its seven ``gsi2`` partitions merged, both one partition."""

    list_columns = [
        Column(lambda e: when_short(e.received_at), "Received (UTC)"),
        Column(lambda e: e.stripe_event_id, "Event", link=True),
        Column("event_type", "Type"),
        Column(lambda e: OUTCOME_WORDS.get(e.outcome or "", e.outcome), "Outcome"),
        Column(_order_link, "Order"),
        Column(lambda e: int(e.deliveries or 0) + int(e.duplicates or 0), "Deliveries"),
        Column("error", "Error"),
    ]
    list_filters = [
        ChoiceFilter("outcome", "outcome", [(o, OUTCOME_WORDS[o]) for o in EventOutcome.STORED]),
        ChoiceFilter("type", "type", [(t, t) for t in EVENT_TYPES]),
    ]
    search_fields = [
        SearchField(
            "event id",
            matches=lambda t: t.startswith("evt_"),
            lookup=lambda t: [e for e in [selectors.webhook_event_get(event_id=t)] if e],
        )
    ]
    search_help = "Search by Stripe event id (evt_…)."
    list_order_label = "newest first"
    details = [
        ("Type", lambda e: e.event_type),
        ("Outcome", lambda e: OUTCOME_WORDS.get(e.outcome or "", e.outcome)),
        ("Error", lambda e: e.error or "-"),
        ("Object", lambda e: e.object_id or "-"),
        ("PaymentIntent", lambda e: e.payment_intent_id or "-"),
        ("Received", lambda e: when(e.received_at)),
        ("Finished", lambda e: when(e.done_at)),
        ("Deliveries", lambda e: int(e.deliveries or 0) + int(e.duplicates or 0)),
        ("Failures", lambda e: int(e.failures or 0)),
        ("Replayed by", lambda e: e.replayed_by or "-"),
        ("Kept until", lambda e: e.expires_at.strftime("%Y-%m-%d") if e.expires_at else "-"),
    ]
    related_lists = [
        RelatedList(
            "Order",
            ["Order"],
            lambda e: (
                [
                    {
                        "_url": reverse("admin:orders_order_change", args=[e.order_id]),
                        "Order": e.order_id,
                    }
                ]
                if e.order_id
                else []
            ),
        ),
    ]
    object_actions = [
        ObjectAction(
            "replay",
            "Replay",
            permission="payments.replay_stripeevent",
            run=_replay,
            available=lambda e: e.status == WebhookEventStatus.FAILED,
            help_text="Re-read the payment in Stripe and apply what it says now (once).",
            audited_by_service=True,
        )
    ]

    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource:
        outcomes = [filters["outcome"]] if filters.get("outcome") else list(EventOutcome.STORED)
        if filters.get("type"):
            return ListSource(
                partitions=[
                    Partition(WebhookEvent.by_type, inbox_type_partition(filters["type"], o))
                    for o in outcomes
                ],
                sort_attribute=WebhookEvent.gsi2sk,
            )
        return ListSource(
            partitions=[Partition(WebhookEvent.by_outcome, inbox_partition(o)) for o in outcomes],
            sort_attribute=WebhookEvent.gsi1sk,
        )

    def item_get(self, object_id: str) -> WebhookEvent | None:
        return selectors.webhook_event_get(event_id=object_id)

    def item_key(self, item: WebhookEvent) -> str:
        return item.stripe_event_id

    def item_sort_value(self, item: WebhookEvent) -> str:
        return item.gsi1sk or ""

    def item_repr(self, item: WebhookEvent) -> str:
        return f"{item.event_type} {item.stripe_event_id}"


admin.site.register(StripeEventShape, StripeEventAdmin)


# --- The payments part of the order admin ------------------------------------------------------


AMOUNT_TYPED = re.compile(r"^\d{1,12}([.,]\d{1,3})?$")


class RefundForm(forms.Form):
    amount = forms.CharField(
        required=False,
        max_length=20,
        label="Amount",
        help_text="In the order's currency, e.g. 12.50 (or 12,50). Empty: all that is left "
        "(you confirm the amount next).",
    )

    def clean_amount(self) -> Decimal | None:
        """An amount as staff type it: ``12.50`` or ``12,50``; a thousands separator, a sign
        or anything else gets a message saying how to type it."""
        typed = (self.cleaned_data.get("amount") or "").strip().replace(" ", "")
        if not typed:
            return None
        if not AMOUNT_TYPED.match(typed):
            raise forms.ValidationError(
                f"“{typed[:20]}” is not an amount: type it like 12.50 (digits, then a point or a "
                "comma and the cents).",
                code="amount",
            )
        amount = Decimal(typed.replace(",", "."))
        if amount <= 0:
            raise forms.ValidationError(
                "Type an amount above zero, or leave it empty for all that is left.", code="amount"
            )
        return amount


class RefundReasonForm(forms.Form):
    """Why the money goes back: Stripe's reason (sent to Stripe) and staff's words (kept on
    the refund and in the order's history)."""

    reason = forms.ChoiceField(choices=[("", "---------"), *REFUND_REASONS.items()], label="Reason")
    note = forms.CharField(
        max_length=500,
        label="In your words",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept on the refund and in the order's history with your name.",
    )


def _valid_tickets(order: Order) -> list[Any]:
    return [t for t in order.tickets or [] if t.current_state == TicketState.VALID]


def refund_confirm_form(order: Order) -> type[forms.Form]:
    """The refund's confirmation form for ``order``: the reason, and the order's valid tickets
    to void at the vendor (on a partial refund staff pick them; none picked: none voided)."""
    tickets = _valid_tickets(order)
    if not tickets:
        return RefundReasonForm
    choices = [(t.ticket_id, f"{t.code or t.ticket_id} ({t.sku})") for t in tickets]

    class RefundWithTicketsForm(RefundReasonForm):
        void_tickets = forms.MultipleChoiceField(
            choices=choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            label="Tickets to void",
            help_text="On a partial refund, tick the tickets the buyer gives back: they are "
            "voided at the vendor. None ticked: every ticket stays valid. A full refund voids "
            "them all, whatever is ticked.",
        )

    return RefundWithTicketsForm


def _refund_amount(order: Order, data: dict[str, Any]) -> tuple[int, bool]:
    return refund_amount_choose(order=order, typed=data.get("amount"))


def _refund_confirm(order: Order, data: dict[str, Any]) -> list[str]:
    minor, everything = _refund_amount(order, data)
    shown = money_format(minor, order.currency)
    refunded = order.refunded_amount or 0
    lines = [
        f"Full refund of {shown}." if everything and not refunded
        else f"Refund of all that is left: {shown}." if everything
        else f"Partial refund of {shown} of {money_format(order.total_amount, order.currency)}.",
        "Stripe sends the money back to the buyer's card (it shows in 5-10 days); a refund "
        "cannot be undone.",
        f"The order becomes {'Refunded' if everything else 'Partially refunded'}.",
    ]  # fmt: skip
    tickets = _valid_tickets(order)
    if tickets and everything:
        lines.append(
            f"Its {len(tickets)} valid ticket{'s are' if len(tickets) != 1 else ' is'} voided "
            "at the vendor first: they no longer open the gate."
        )
    elif tickets:
        lines.append(
            "Tick below the tickets to void at the vendor; if you tick none, no ticket is "
            "voided and all stay valid."
        )
    return lines


def _refund(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    minor, everything = _refund_amount(order, data)
    refund_create(
        order_id=order.order_id,
        amount=minor,
        staff=request.user.get_username(),
        reason=data["reason"],
        note=data["note"],
        # One confirmation, one refund at Stripe: its key is this submit's (dynamo_admin.once).
        idempotency_key=f"refund:{order.order_id}:{data[SUBMISSION_ID]}",
        void_ticket_ids=list(data.get("void_tickets") or []),
    )
    shown = money_format(minor, order.currency)
    voided = "" if everything or not data.get("void_tickets") else (
        f" {len(data['void_tickets'])} ticket(s) to void at the vendor."
    )  # fmt: skip
    if everything and _valid_tickets(order):
        voided = " Its tickets are voided at the vendor."
    return (
        f"Refund of {shown} requested for order {order.order_id}; Stripe confirms it shortly."
        + voided
    )


def _sync(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    result = payment_sync(
        payment_intent_id=order.payment_intent_id, actor=request.user.get_username()
    )
    return f"Synced with Stripe. {result.describe()}"


PAYMENT_COLUMNS = ["PaymentIntent", "Status", "Amount", "Refunded", "Charge", "Disputed", "Created"]


def _payments_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "_url": reverse("admin:payments_payment_change", args=[p.payment_id]),
            "PaymentIntent": p.payment_id,
            "Status": p.status,
            "Amount": money_format(p.amount, p.currency),
            "Refunded": money_format(payment_refunded_total(p), p.currency),
            "Charge": p.charge_id,
            "Disputed": "yes" if p.disputed else "no",
            "Created": when(p.created_at),
        }
        for p in selectors.payments_for_order(order_id=order.order_id, limit=PAYMENTS_SHOWN)
    ]


def _refund_rows_of_order(order: Order) -> list[dict[str, Any]]:
    return [
        row
        for p in selectors.payments_for_order(order_id=order.order_id, limit=PAYMENTS_SHOWN)
        for row in _refund_rows(p)
    ]


# This app's part of the order page, registered for the order admin (dynamo_admin.extensions):
# the arrow runs payments -> orders, and the order admin's class stays as orders wrote it.
extension_register(
    "orders.order",
    AdminExtension(
        related_lists=[
            (RelatedList("Payments", PAYMENT_COLUMNS, _payments_rows), "Fulfillment attempts"),
            (RelatedList("Refunds", REFUND_COLUMNS, _refund_rows_of_order), "Fulfillment attempts"),
        ],
        search_fields=[
            (
                SearchField(
                    "PaymentIntent id",
                    matches=lambda t: t.startswith("pi_"),
                    lookup=lambda t: selectors.orders_by_payment_intent(payment_intent_id=t),
                ),
                None,
            ),
            (
                SearchField(
                    "charge id",
                    matches=lambda t: t.startswith(("ch_", "py_")),
                    lookup=lambda t: selectors.orders_by_charge(charge_id=t),
                ),
                None,
            ),
        ],
        object_actions=[
            (
                ObjectAction(
                    "refund",
                    "Refund",
                    permission="orders.refund_order",
                    run=_refund,
                    form_class=RefundForm,
                    available=order_actions.refund_offered,  # orders' one rule
                    help_text="Full or partial, through Stripe; you confirm it with a reason next.",
                    audited_by_service=True,
                    confirm=_refund_confirm,
                    confirm_form_class=RefundReasonForm,
                    confirm_form_for=refund_confirm_form,
                    confirm_label="Yes, refund",
                ),
                "cancel",
            ),
            (
                ObjectAction(
                    "sync_payment",
                    "Sync with Stripe",
                    permission="orders.sync_payment_order",
                    run=_sync,
                    available=lambda o: bool(o.payment_intent_id),
                    help_text="Re-read the payment in Stripe and apply what it says (never "
                    "backwards).",
                    audited_by_service=True,
                ),
                "cancel",
            ),
        ],
    ),
    name=__name__,
)


# The admin's plug-ins from this app: Stripe's health banners on the index and dashboard
# (core.health) and the needs-attention queue's pages (its actions reach both apps).
health_source_register(integration_banners)
site_urls_register(attention_site_urls)
