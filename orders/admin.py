"""The admin for orders, customers and ticket types (on ``dynamo_admin``).

Orders change only through their services (cancel, retry fulfillment; the payments app adds
refunds): the order page is read-only plus those actions. Customers and ticket types are
edited through ``orders.services.customers`` and ``orders.services.ticket_types``; every read
is one of ``orders.selectors``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import path, reverse

from core.currencies import amount_major, amount_minor, currency_decimals, currency_valid
from core.dynamodb import iso_utc
from core.exceptions import ValidationFailed
from core.formatting import label, money_format, today, when
from core.health import health_source_register
from dynamo_admin import conf
from dynamo_admin.declarations import Column, ObjectAction, RelatedList, SearchField
from dynamo_admin.filters import ChoiceFilter, DateRangeFilter, day_bounds
from dynamo_admin.once import SUBMISSION_ID
from dynamo_admin.options import DynamoModelAdmin
from dynamo_admin.paging import ListSource, Partition, month_partitions
from dynamo_admin.shapes import dynamo_shape
from integrations.vendor_client import answer_in_words
from orders import selectors
from orders.actions import (
    CANCEL_REASONS,
    OrderBeingPaid,
    buyer_contact_change,
    order_cancel,
    void_accept,
    void_retry,
)
from orders.admin_personal_data import ERASE_ACTION, EXPORT_PERMISSION, customer_export_view
from orders.models import (
    CUSTOMERS_BY_MONTH,
    ORDERS_BY_MONTH,
    ORDERS_BY_STATUS,
    VOID_FAILED,
    BuyerEmailKind,
    Customer,
    Order,
    OrderStatus,
    TicketState,
    TicketType,
    search_key,
)
from orders.phones import PHONE_HELP, PhoneInvalid, phone_display, phone_e164
from orders.services.buyer_mail import KIND_WORDS, buyer_email_resend, buyer_emails_of
from orders.services.customers import customer_update
from orders.services.fulfillment import breaker_banners, fulfillment_retry
from orders.services.line import line_get, onsale_open
from orders.services.notes import NOTE_MAX_LENGTH, customer_note_add, order_note_add
from orders.services.seats import MAX_SEAT_SHARDS
from orders.services.ticket_types import ticket_type_create, ticket_type_update
from orders.site_urls import site_urls
from tickets.admin_views import site_urls_register

# How far back an unfiltered list (or a date range without a start) reaches.
LIST_HORIZON_DAYS = 400
# How far back a chosen date may reach (ten years): an earlier one gets a message.
LIST_REACH_DAYS = 3660

OrderShape = dynamo_shape(app_label="orders", name="Order", key="order_id")
CustomerShape = dynamo_shape(app_label="orders", name="Customer", key="customer_id")
TicketTypeShape = dynamo_shape(
    app_label="orders", name="TicketType", key="sku", verbose_name="ticket type"
)


def _admin_url(name: str, *args: Any) -> str:
    return reverse(f"admin:{name}", args=args)


def date_bounds(filters: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    return day_bounds(filters.get(key) or (None, None))


def day_source(
    index: Any,
    filters: dict[str, Any],
    key: str,
    sort_attribute: Any,
    oldest_day: Callable[[], date | None] | None = None,
) -> ListSource:
    """Newest first across a month-bucketed index (``orders.models.time_bucket``), limited to
    the chosen date range and, when ``oldest_day`` tells the day of the oldest item (None:
    there is none), to the months that can hold rows: the walk stops there and Next is not
    offered past it."""
    low, high = filters.get(key) or (None, None)
    last = min(high or today(), today())
    first = low or (last - timedelta(days=LIST_HORIZON_DAYS))
    if oldest_day is not None:
        oldest = oldest_day()
        if oldest is None:
            return ListSource(partitions=[], sort_attribute=sort_attribute, bucketed=True)
        first = max(first, oldest)
    low_text, high_text = date_bounds(filters, key)
    return ListSource(
        partitions=month_partitions(index, first=first, last=last),
        sort_attribute=sort_attribute,
        bucketed=True,
        low=low_text,
        high=high_text,
    )


# --- Orders --------------------------------------------------------------------------------


class CancelReasonForm(forms.Form):
    """Why an unpaid order is canceled: asked on the confirmation page, kept in its history."""

    reason = forms.ChoiceField(choices=[("", "---------"), *CANCEL_REASONS.items()], label="Reason")
    note = forms.CharField(
        max_length=500,
        label="In your words",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the order's history with your name.",
    )


def _cancel_confirm(order: Order, data: dict[str, Any]) -> list[str]:
    total = money_format(order.total_amount, order.currency)
    return [
        f"The order ({total}, unpaid) is canceled: the buyer can no longer pay it.",
        "Its payment in Stripe is canceled and its seats go back on sale.",
        "This cannot be undone.",
    ]


def _cancel(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    try:
        order_cancel(
            order_id=order.order_id,
            staff=request.user.get_username(),
            reason=data["reason"],
            note=data["note"],
        )
    except OrderBeingPaid:
        # Not "changed by someone else" (a Conflict would say that): the buyer paid.
        raise ValidationFailed(
            "the buyer's payment went through (or is in progress) in Stripe, so the order "
            "cannot be canceled; use “Sync with Stripe” to apply the payment."
        ) from None
    return f"Order {order.order_id} was canceled and its seats released."


def _retry(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    fulfillment_retry(order_id=order.order_id, staff=request.user.get_username())
    return f"Fulfillment of order {order.order_id} was started again."


TICKET_STATE_WORDS = {
    TicketState.VALID: "Valid",
    TicketState.VOID_PENDING: "Valid, void asked of the vendor",
    TicketState.VOID: "Void",
    TicketState.VOID_REFUSED: "Valid (the vendor refused the void)",
}


def _void_retry(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    void_retry(order_id=order.order_id, staff=request.user.get_username())
    return f"The void of the tickets of order {order.order_id} was asked again."


def _void_accept(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    void_accept(order_id=order.order_id, staff=request.user.get_username())
    return f"The tickets of order {order.order_id} stay valid."


def _customer_of(order: Order) -> Customer | None:
    """The order's customer, read once per page (the summary and the Customer list share it)."""
    if not hasattr(order, "_customer"):
        order._customer = selectors.customer_get(customer_id=order.customer_id, consistent=True)
    return order._customer


def _customer_summary(order: Order) -> str:
    customer = _customer_of(order)
    if customer is None:
        return order.customer_email_masked
    bounced = " (undeliverable: it bounced)" if customer.email_undeliverable else ""
    return f"{customer.name} <{customer.email}>{bounced}"


def _undeliverable(customer: Customer | None) -> str | None:
    """What SES said when the address bounced for good, or None (shown only then)."""
    if customer is None or not customer.email_undeliverable:
        return None
    return f"Undeliverable, no e-mail is sent to it: {customer.email_undeliverable}"


def _resend(kind: BuyerEmailKind) -> Callable[[HttpRequest, Order, dict[str, Any]], str]:
    def run(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
        resend = buyer_email_resend(
            order_id=order.order_id,
            kind=kind,
            staff=request.user.get_username(),
            submission_id=data[SUBMISSION_ID],
        )
        if not resend.queued:
            earlier = resend.earlier
            by = f" by {earlier.requested_by} at {when(earlier.created_at)}" if earlier else ""
            return (
                f"{KIND_WORDS[kind]} e-mail of order {order.order_id} was resent a moment "
                f"ago{by}: not sent again."
            )
        return (
            f"{KIND_WORDS[kind]} e-mail of order {order.order_id} queued to "
            f"{order.customer_email_masked}; the timeline shows when it is sent."
        )

    return run


class ContactForm(forms.Form):
    """The buyer's e-mail and name as they should be (the confirmation page's form)."""

    email = forms.EmailField(
        max_length=254,
        label="E-mail",
        help_text="A new address gets the order's confirmation again. An address another "
        "customer has is refused.",
    )
    name = forms.CharField(max_length=200, label="Name")
    reason = forms.CharField(
        max_length=500,
        required=False,
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Kept in the history with your name.",
    )


def _contact_form_for(order: Order) -> type[forms.Form]:
    customer = _customer_of(order)

    class OrderContactForm(ContactForm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if customer is not None and (not args or args[0] is None):
                kwargs.setdefault("initial", {"email": customer.email, "name": customer.name})
            super().__init__(*args, **kwargs)

    return OrderContactForm


def _contact_confirm(order: Order, data: dict[str, Any]) -> list[str]:
    return [
        "Correct the buyer's e-mail or name. The customer record changes for all of their "
        "orders; its e-mail claim moves with it, so the next order with the new address finds "
        "this customer.",
        "A new address gets this order's confirmation again; the tickets carry no name at the "
        "vendor, so nothing changes there.",
    ]


def _contact_change(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    changed = buyer_contact_change(
        order_id=order.order_id,
        email=data["email"],
        name=data["name"],
        staff=request.user.get_username(),
        reason=data.get("reason") or "",
        submission_id=data[SUBMISSION_ID],
    )
    return f"Buyer of order {order.order_id} corrected" + (
        "; the confirmation goes to the new address." if changed else "."
    )


EMAIL_STATUS_WORDS = {
    "queued": "Queued",
    "sent": "Sent",
    "failed": "Not sent",
    "suppressed": "Not sent (address undeliverable)",
}


def _email_rows(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "E-mail": KIND_WORDS[BuyerEmailKind(r.mail_kind)]
            + (f" (resent by {r.requested_by})" if r.requested_by else ""),
            "Status": EMAIL_STATUS_WORDS.get(r.status, r.status),
            "To": r.sent_to_masked,
            "At": when(r.sent_at or r.created_at),
            "Detail": r.last_error,
        }
        for r in sorted(buyer_emails_of(order_id=order.order_id), key=lambda r: r.created_at)
    ]


def _customer_rows(order: Order) -> list[dict[str, Any]]:
    customer = _customer_of(order)
    if customer is None:
        return []
    return [
        {
            "_url": _admin_url("orders_customer_change", customer.customer_id),
            "Name": customer.name,
            "E-mail": customer.email,
            "Phone": phone_display(customer.phone) or None,
            "Customer id": customer.customer_id,
        }
    ]


TIMELINE_TEMPLATE = "admin/orders/timeline.html"


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Seen by every staff member on the timeline; kept for good (add another "
        "note to correct one).",
    )


def _order_note(request: HttpRequest, order: Order, data: dict[str, Any]) -> str:
    order_note_add(order=order, staff=request.user.get_username(), text=data["text"])
    return "Note added to the timeline."


def _customer_note(request: HttpRequest, customer: Customer, data: dict[str, Any]) -> str:
    customer_note_add(customer=customer, staff=request.user.get_username(), text=data["text"])
    return "Note added."


def _note_action(run: Callable[[HttpRequest, Any, dict[str, Any]], str], permission: str):
    return ObjectAction(
        "add_note",
        "Add note",
        permission=permission,
        run=run,
        form_class=NoteForm,
        audited_by_service=True,
        checks_version=False,
    )


# --- Search: what a term looks like decides which index answers it ----------------------------

_ID_PREFIXES = ("ord_", "pi_", "ch_", "cus_", "re_", "py_")
TICKET_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")


def _is_id(term: str) -> bool:
    return term.lower().startswith(_ID_PREFIXES)


SEARCH_TERM_MAX = 200  # longer than any name or e-mail we keep (and than a key may be)


def looks_like_name(term: str) -> bool:
    return not _is_id(term) and "@" not in term and 2 <= len(search_key(term)) <= SEARCH_TERM_MAX


def looks_like_email_start(term: str) -> bool:
    term = term.strip()
    return not _is_id(term) and " " not in term and 2 <= len(term) <= SEARCH_TERM_MAX


def _orders_by_name(term: str) -> list[Order]:
    customers = selectors.customers_by_name(term=term)
    return selectors.orders_of_customers(customers=customers, limit=OrderAdmin.page_size_for())


def _orders_by_email_start(term: str) -> list[Order]:
    customers = selectors.customers_by_email_prefix(term=term)
    return selectors.orders_of_customers(customers=customers, limit=OrderAdmin.page_size_for())


def _customer_label(order: Order) -> str:
    """The customer's name (read for the page by ``list_rows_prepare``), else the masked
    e-mail the order keeps."""
    return getattr(order, "customer_name", None) or order.customer_email_masked


class OrderAdmin(DynamoModelAdmin):
    list_columns = [
        Column("order_id", "Order", link=True),
        Column(_customer_label, "Customer"),  # second: whose order it is, at any width
        Column("customer_email_masked", "E-mail"),
        Column(lambda i: when(i.created_at), "Created", nowrap=True),
        Column(lambda o: label(o.status) + (", disputed" if o.disputed else ""), "Status"),
        Column(lambda o: money_format(o.total_amount, o.currency), "Total", nowrap=True),
    ]
    list_filters = [
        ChoiceFilter("status", "status", [(s.value, label(s.value)) for s in OrderStatus]),
        DateRangeFilter("created", "date created", reach_days=LIST_REACH_DAYS),
    ]
    search_fields = [
        SearchField(
            "order id",
            matches=lambda t: t.startswith("ord_"),
            lookup=lambda t: [o for o in [selectors.order_get(order_id=t)] if o],
        ),
        SearchField("customer name", matches=looks_like_name, lookup=_orders_by_name),
        SearchField(
            "start of the customer's e-mail",
            matches=looks_like_email_start,
            lookup=_orders_by_email_start,
        ),
        SearchField(
            "ticket code",
            matches=lambda t: not _is_id(t) and bool(TICKET_CODE.match(t.strip())),
            lookup=lambda t: [o for o in [selectors.order_by_ticket_code(code=t)] if o],
        ),
    ]  # payments adds "PaymentIntent id" and "charge id" (its extension, payments/admin.py)
    search_help = (
        "Search by customer name (Ada, Lovelace), the start of an e-mail (ada, ada@exa), "
        "ticket code, order id (ord_…), PaymentIntent id (pi_…) or charge id (ch_…). "
        "The filters still apply."
    )
    summary = [
        ("Status", lambda o: label(o.status) + (", disputed" if o.disputed else "")),
        ("Total", lambda o: money_format(o.total_amount, o.currency)),
        ("Refunded", lambda o: money_format(o.refunded_amount or 0, o.currency)),
        ("Customer", _customer_summary),
        ("Created", lambda o: when(o.created_at)),
    ]
    details = [  # besides the summary's status, total, refunded, customer and creation
        ("Updated", lambda o: when(o.updated_at)),
        ("PaymentIntent", lambda o: o.payment_intent_id),
        ("Disputed", lambda o: "yes" if o.disputed else "no"),
        ("Fulfillment", lambda o: label(o.fulfillment_status)),
        ("Fulfillment id", lambda o: o.fulfillment_id),
        ("Fulfillment failure", lambda o: answer_in_words(o.fulfillment_failure_reason) or None),
        ("Tickets not voided", lambda o: o.void_failure_reason if o.void_queue else None),
        ("Buyer's e-mail", lambda o: _undeliverable(_customer_of(o))),
    ]
    related_lists = [
        RelatedList(
            "Items",
            ["SKU", "Name", "Quantity", "Unit price", "Amount"],
            lambda o: [
                {
                    "SKU": i.sku,
                    "Name": i.name,
                    "Quantity": i.quantity,
                    "Unit price": money_format(i.unit_amount, o.currency),
                    "Amount": money_format(i.amount, o.currency),
                }
                for i in o.items
            ],
        ),
        RelatedList("Customer", ["Name", "E-mail", "Phone", "Customer id"], _customer_rows),
        # Payments adds "Payments" and "Refunds" here (its extension, payments/admin.py).
        RelatedList(
            "Fulfillment attempts",
            ["At", "Outcome", "Detail"],
            lambda o: [
                {"At": when(a.at), "Outcome": a.outcome, "Detail": a.detail}
                for a in o.fulfillment_attempts or []
            ],
        ),
        RelatedList(
            "Tickets",
            ["Ticket", "SKU", "Code", "State"],
            lambda o: [
                {
                    "Ticket": t.ticket_id,
                    "SKU": t.sku,
                    "Code": t.code,
                    "State": TICKET_STATE_WORDS[t.current_state],
                }
                for t in o.tickets or []
            ],
        ),
        RelatedList(
            "E-mails to the buyer", ["E-mail", "Status", "To", "At", "Detail"], _email_rows
        ),
        RelatedList(
            "Timeline",
            [],
            lambda o: selectors.order_timeline(order=o),
            template=TIMELINE_TEMPLATE,
            side=True,
        ),
    ]
    object_actions = [  # payments adds "Refund" and "Sync" first (its extension)
        ObjectAction(
            "cancel",
            "Cancel unpaid order",
            permission="orders.cancel_order",
            run=_cancel,
            available=lambda o: o.status == OrderStatus.PENDING_PAYMENT,
            audited_by_service=True,
            confirm=_cancel_confirm,
            confirm_form_class=CancelReasonForm,
            confirm_label="Yes, cancel the order",
        ),
        ObjectAction(
            "retry_fulfillment",
            "Retry fulfillment",
            permission="orders.retry_fulfillment_order",
            run=_retry,
            available=lambda o: o.status == OrderStatus.FULFILLMENT_FAILED,
            audited_by_service=True,
        ),
        ObjectAction(
            "void_retry",
            "Retry the void",
            permission="orders.retry_fulfillment_order",
            run=_void_retry,
            available=lambda o: o.void_queue == VOID_FAILED,
            help_text="Ask the vendor again to void the tickets it did not void.",
            audited_by_service=True,
        ),
        ObjectAction(
            "void_accept",
            "Leave the tickets valid",
            permission="orders.retry_fulfillment_order",
            run=_void_accept,
            available=lambda o: o.void_queue == VOID_FAILED,
            help_text="The vendor refused the void (a ticket already scanned): the tickets "
            "stay valid and the order leaves the needs-attention queue.",
            audited_by_service=True,
        ),
        ObjectAction(
            "change_contact",
            "Change buyer's e-mail or name",
            permission="orders.change_customer",
            run=_contact_change,
            confirm=_contact_confirm,
            confirm_form_for=_contact_form_for,
            confirm_label="Save the buyer's contact",
            help_text="Correct a mistyped address or name (audited).",
            audited_by_service=True,
        ),
        ObjectAction(
            "resend_confirmation",
            "Resend confirmation",
            permission="orders.retry_fulfillment_order",
            run=_resend(BuyerEmailKind.CONFIRMATION),
            available=lambda o: o.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.CANCELED),
            help_text="E-mail the order confirmation again, to the buyer's current address.",
            audited_by_service=True,
            checks_version=False,
        ),
        ObjectAction(
            "resend_tickets",
            "Resend tickets",
            permission="orders.retry_fulfillment_order",
            run=_resend(BuyerEmailKind.TICKETS),
            available=lambda o: bool(o.tickets),
            help_text="E-mail the tickets again (with each one's state), to the buyer's "
            "current address.",
            audited_by_service=True,
            checks_version=False,
        ),
        _note_action(_order_note, "orders.add_note"),
    ]
    list_object_tools = [("admin:orders_order_export", "Export CSV", "orders.export_order")]

    @classmethod
    def page_size_for(cls) -> int:
        return cls.per_page or conf.page_size()

    def list_rows_prepare(self, rows: list[Order]) -> None:
        """The customers' names for the page: one BatchGet, so Ada's orders can be told from
        Alan's (the order itself keeps only the masked e-mail)."""
        customers = selectors.customers_get_many(customer_ids=[o.customer_id for o in rows])
        for order in rows:
            customer = customers.get(order.customer_id)
            order.customer_name = customer.name if customer else None

    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource:
        status = filters.get("status")
        if status:
            low, high = date_bounds(filters, "created")
            return ListSource(
                partitions=[Partition(ORDERS_BY_STATUS, status)],
                sort_attribute=Order.created_at,
                low=low,
                high=high,
            )
        return day_source(
            ORDERS_BY_MONTH,
            filters,
            "created",
            Order.created_at,
            oldest_day=selectors.orders_oldest_day,
        )

    def item_get(self, object_id: str) -> Order | None:
        return selectors.order_get(order_id=object_id)

    def item_key(self, item: Order) -> str:
        return item.order_id

    def audit_snapshot(self, item: Order) -> dict[str, Any]:
        return {
            "status": item.status,
            "refunded_amount": item.refunded_amount,
            "fulfillment_status": item.fulfillment_status,
        }

    def extra_urls(self) -> list[Any]:
        from orders.admin_export import orders_export_view

        return [
            path(
                "export/",
                self.admin_site.admin_view(orders_export_view(self)),
                name="orders_order_export",
            )
        ]


# --- Customers -----------------------------------------------------------------------------


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200)
    phone = forms.CharField(max_length=40, required=False, help_text=PHONE_HELP)

    def clean_phone(self) -> str:
        """Kept in E.164; empty removes it."""
        typed = self.cleaned_data.get("phone") or ""
        if not typed.strip():
            return ""
        try:
            return phone_e164(typed)
        except PhoneInvalid as error:
            raise forms.ValidationError(str(error), code="phone") from None


class CustomerAdmin(DynamoModelAdmin):
    form_class = CustomerForm
    list_columns = [
        Column("customer_id", "Customer", link=True),
        Column("name", "Name"),
        Column("email", "E-mail"),
        Column(lambda i: when(i.created_at), "Created"),
    ]
    list_filters = [DateRangeFilter("created", "date created", reach_days=LIST_REACH_DAYS)]
    search_fields = [
        SearchField(
            "name",
            matches=looks_like_name,
            lookup=lambda t: selectors.customers_by_name(term=t),
        ),
        SearchField(
            "start of the e-mail",
            matches=looks_like_email_start,
            lookup=lambda t: selectors.customers_by_email_prefix(term=t),
        ),
        SearchField(
            "customer id",
            matches=lambda t: t.startswith("cus_"),
            lookup=lambda t: [
                c for c in [selectors.customer_get(customer_id=t, consistent=True)] if c
            ],
        ),
    ]
    search_help = (
        "Search by name (Ada, Lovelace), the start of an e-mail (ada, ada@exa) or customer id "
        "(cus_…)."
    )
    details = [
        ("E-mail", lambda c: c.email),
        ("E-mail deliverable", lambda c: _undeliverable(c) or "Yes"),
        ("Personal data", lambda c: f"erased {when(c.erased_at)}" if c.erased_at else "kept"),
        ("Phone", lambda c: phone_display(c.phone) or "-"),
        ("Created", lambda c: when(c.created_at)),
        ("Updated", lambda c: when(c.updated_at)),
    ]
    related_lists = [
        RelatedList(
            "Orders (newest 50)",
            ["Order", "Created", "Status", "Total"],
            lambda c: [
                {
                    "_url": _admin_url("orders_order_change", o.order_id),
                    "Order": o.order_id,
                    "Created": when(o.created_at),
                    "Status": label(o.status),
                    "Total": money_format(o.total_amount, o.currency),
                }
                for o in selectors.orders_of_customer(customer_id=c.customer_id)
            ],
        ),
        RelatedList(
            "Notes and history",
            [],
            lambda c: selectors.customer_timeline(customer_id=c.customer_id),
            template=TIMELINE_TEMPLATE,
            side=True,
        ),
    ]
    object_actions = [_note_action(_customer_note, "orders.add_note"), ERASE_ACTION]
    change_object_tools = [
        ("admin:orders_customer_personal_data", "Export personal data", EXPORT_PERMISSION)
    ]

    def extra_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/personal-data/",
                self.admin_site.admin_view(customer_export_view(self)),
                name="orders_customer_personal_data",
            )
        ]

    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource:
        return day_source(
            CUSTOMERS_BY_MONTH,
            filters,
            "created",
            Customer.created_at,
            oldest_day=selectors.customers_oldest_day,
        )

    def item_get(self, object_id: str) -> Customer | None:
        return selectors.customer_get(customer_id=object_id, consistent=True)

    def item_key(self, item: Customer) -> str:
        return item.customer_id

    def item_repr(self, item: Customer) -> str:
        return f"{item.name} ({item.customer_id})"

    def item_values(self, item: Customer) -> dict[str, Any]:
        return {"name": item.name, "phone": item.phone or ""}

    def item_save(
        self, request: HttpRequest, item: Customer, version: int, changed: dict[str, Any]
    ) -> Customer:
        return customer_update(customer_id=item.customer_id, version=version, changes=changed)


# --- Ticket types --------------------------------------------------------------------------


class TicketTypeForm(forms.Form):
    """A ticket type as staff type it: the price in major units of its currency (``49.00``
    USD is stored as 4900 minor units, as Stripe counts them), with at most the currency's
    decimals (none for JPY, two for USD, three for KWD)."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea, required=False)
    unit_amount = forms.DecimalField(
        min_value=0, max_digits=14, label="Price", help_text="In the currency, e.g. 49.00."
    )
    currency = forms.CharField(disabled=True, required=False, help_text="Set when added.")
    capacity = forms.IntegerField(
        min_value=0, required=False, help_text="Seats in total; empty for unlimited."
    )
    active = forms.BooleanField(required=False, help_text="Listed in the storefront's catalog.")

    def clean_currency(self) -> str:
        currency = (self.cleaned_data.get("currency") or "").strip().lower()
        if not currency_valid(currency):
            raise forms.ValidationError(
                "Not an ISO 4217 currency code (e.g. usd, eur, jpy).", code="currency"
            )
        return currency

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        amount, currency = cleaned.get("unit_amount"), cleaned.get("currency")
        if amount is not None and currency:
            try:
                amount_minor(amount, currency)
            except ValueError:
                decimals = currency_decimals(currency)
                self.add_error(
                    "unit_amount",
                    f"{currency.upper()} prices are whole numbers."
                    if decimals == 0
                    else f"{currency.upper()} prices have at most {decimals} decimals.",
                )
        return cleaned


class TicketTypeAddForm(TicketTypeForm):
    sku = forms.SlugField(max_length=64)
    currency = forms.CharField(
        max_length=3, min_length=3, initial="usd", help_text="ISO 4217 code: usd, eur, jpy, …"
    )
    seat_shards = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEAT_SHARDS,
        initial=1,
        help_text="1 for most types. For an on-sale of thousands of buyers at once, e.g. 32: "
        "the seats are split over that many items so orders do not queue on one. Cannot be "
        "changed later.",
    )

    field_order = [
        "sku", "name", "description", "currency", "unit_amount", "capacity", "seat_shards", "active",
    ]  # fmt: skip


def _seats_left(ticket_type: TicketType) -> Any:
    if ticket_type.sharded and ticket_type.available is None:
        return f"in {int(ticket_type.seat_shards)} shards (open to see)"
    return "unlimited" if ticket_type.available is None else ticket_type.available


class OnSaleForm(forms.Form):
    """An on-sale as staff open it from the ticket type's page (``orders.services.line``)."""

    start = forms.DateTimeField(
        label="Opens at (UTC)",
        required=False,
        help_text="e.g. 2026-12-24 18:00; empty: now. From then on, buyers of this ticket type "
        "come through a fair line, first come, first admitted.",
    )
    hold_minutes = forms.IntegerField(
        label="Hold (minutes)",
        min_value=1,
        max_value=120,
        initial=15,
        help_text="How long a buyer's cart keeps its seats.",
    )
    admit_per_second = forms.FloatField(
        label="Buyers admitted a second",
        min_value=0.1,
        max_value=10_000,
        initial=35,
        help_text="About Stripe's PaymentIntent budget divided by the share of buyers who pay "
        "(25 / 0.7 ≈ 35 with Stripe's default limits).",
    )

    def clean_start(self) -> datetime:
        start = self.cleaned_data.get("start")
        if start is None:
            return datetime.now(UTC)
        return start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)


def _onsale_open(request: HttpRequest, ticket_type: TicketType, data: dict[str, Any]) -> str:
    line = onsale_open(
        sku=ticket_type.sku,
        start=data["start"],
        hold_minutes=data["hold_minutes"],
        admit_per_second=data["admit_per_second"],
        staff=request.user.get_username(),
    )
    return (
        f"The on-sale of {line.sku} opens {when(iso_utc(data['start']))}: "
        f"{line.admit_per_second:g} buyers admitted a second, a hold of "
        f"{line.hold_minutes} minutes. The dashboard shows its line."
    )


def _onsale_summary(ticket_type: TicketType) -> str:
    line = line_get(sku=ticket_type.sku)
    if line is None:
        return "none (buyers order directly)"
    opens = when(iso_utc(datetime.fromtimestamp(int(line.start_us) / 1_000_000, UTC)))
    state = "sold out" if line.sold_out else f"{int(line.waiting or 0)} waiting"
    return (
        f"opens {opens}, {float(line.admit_per_second):g} admitted a second, hold "
        f"{int(line.hold_minutes)} min; {state}"
    )


class TicketTypeAdmin(DynamoModelAdmin):
    list_order_label = "by sku"
    form_class = TicketTypeForm
    add_form_class = TicketTypeAddForm
    list_columns = [
        Column("sku", "SKU", link=True),
        Column("name", "Name"),
        Column(lambda t: money_format(t.unit_amount, t.currency), "Price"),
        Column(lambda t: "unlimited" if t.capacity is None else t.capacity, "Capacity"),
        Column(_seats_left, "Seats left"),
        Column(lambda t: "yes" if t.active else "no", "Active"),
    ]
    details = [
        ("Seats left", lambda t: "unlimited" if t.available is None else t.available),
        ("Seat shards", lambda t: int(t.seat_shards or 1)),
        ("On-sale", _onsale_summary),
        (
            "Event",
            lambda t: f"canceled {when(t.event_canceled_at)}" if t.event_canceled_at else "-",
        ),
        ("Updated", lambda t: when(t.updated_at)),
    ]
    object_actions = [
        ObjectAction(
            "open_onsale",
            "Open an on-sale",
            permission="orders.change_tickettype",
            run=_onsale_open,
            form_class=OnSaleForm,
            help_text="Buyers then come through a fair line; opening again changes it.",
            # Opening an on-sale does not change the ticket type: no version to check.
            checks_version=False,
        )
    ]

    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource:
        return ListSource(
            partitions=[Partition(TicketType.list_index, "all")],
            sort_attribute=TicketType.sku,
            descending=False,
        )

    def item_get(self, object_id: str) -> TicketType | None:
        return selectors.ticket_type_get(sku=object_id)

    def item_key(self, item: TicketType) -> str:
        return item.sku

    def item_sort_value(self, item: TicketType) -> str:
        return item.sku

    def item_values(self, item: TicketType) -> dict[str, Any]:
        return {
            "name": item.name,
            "description": item.description or "",
            "unit_amount": amount_major(item.unit_amount, item.currency),
            "currency": item.currency,
            "capacity": item.capacity,
            "active": bool(item.active),
        }

    def item_save(
        self, request: HttpRequest, item: TicketType, version: int, changed: dict[str, Any]
    ) -> TicketType:
        changes = {name: value for name, value in changed.items() if name != "currency"}
        if "unit_amount" in changes:
            changes["unit_amount"] = amount_minor(changes["unit_amount"], item.currency)
        return ticket_type_update(sku=item.sku, version=version, changes=changes)

    def item_create(self, request: HttpRequest, data: dict[str, Any]) -> TicketType:
        return ticket_type_create(
            sku=data["sku"],
            name=data["name"],
            description=data.get("description") or "",
            unit_amount=amount_minor(data["unit_amount"], data["currency"]),
            currency=data["currency"],
            capacity=data.get("capacity"),
            seat_shards=data.get("seat_shards") or 1,
            active=bool(data.get("active")),
        )


admin.site.register(OrderShape, OrderAdmin)
admin.site.register(CustomerShape, CustomerAdmin)
admin.site.register(TicketTypeShape, TicketTypeAdmin)
# The project package imports no app: the orders app plugs its site page (the dashboard) in
# here, when the admin loads its apps' admin modules (``tickets.admin_apps``).
site_urls_register(site_urls)
# The vendor's circuit as a banner on the admin index and dashboard (core.health).
health_source_register(breaker_banners)
