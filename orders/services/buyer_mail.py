"""The e-mails a buyer gets from us: the order confirmation when paid, the tickets when issued,
a refund, a cancellation; each once per order and kind, sent outside the request path and
retried; never to an address that bounced for good.

Life of one e-mail (``orders.models.BuyerEmail``, the one record of it):

1. ``buyer_email_queue`` (called by ``orders.actions`` and the fulfillment when something the
   buyer must hear of happened) writes the record with ``attribute_not_exists``: its key,
   ``MAIL#{order_id}`` / ``{kind}``, makes it once per order and kind whatever repeats (a
   webhook delivered twice, a sync). Queued, it is in the back-office table's sparse
   ``mail-queue-index`` (``due`` / next attempt time); then a send is asked for without waiting
   (``task_dispatch``: Zappa's async task in Lambda, inline or a thread locally).
2. ``buyer_email_send`` takes a lease on the record (a conditional write: two workers never
   send one e-mail at once), renders the message from the order as it is now (Django
   templates ``orders/email/{kind}.txt`` and ``.html``; money and times as the admin shows
   them, ``core.formatting``), sends it through ``integrations.email`` and records SES's
   answer: sent (SES's ``MessageId``), retried with the fulfillment's backoff up to
   ``MAIL_MAX_ATTEMPTS``, or failed (SES refused it). An address marked undeliverable (a hard
   bounce, ``customer_mark_undeliverable``) is not sent to: ``suppressed``.
3. ``buyer_emails_sweep`` (with the fulfillment sweep, every minute) sends the due ones.
4. ``email_events_drain`` (same job) reads SES's hard bounces and complaints (configuration
   set -> SNS -> SQS, ``integrations.email``) and marks each address undeliverable on its
   customer (``customer_mark_undeliverable``): staff see it, and nothing more is sent to it.

Exactly once: SES has no idempotency key, so the one window for a second copy is a worker
dying after SES accepted the message and before the record says so (milliseconds); the lease
then expires and the sweeper sends again. A duplicate e-mail is the lesser harm than a lost
one. Staff resends (``buyer_email_resend``) are records of their own, rate-limited per order.

Must not log an address or a message's content.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from core.audit import SYSTEM_MAIL, audit_record
from core.dynamodb import condition_failed, iso_utc, utc_now_iso
from core.exceptions import ApplicationError, NotFound
from core.formatting import money_format, when
from core.jobs import task_dispatch
from core.metrics import metric_emit
from core.ratelimit import rate_hit
from integrations.email import (
    Permanent,
    Retryable,
    Sent,
    email_event_done,
    email_events_receive,
    email_send,
)
from orders.emails import email_mask, email_normalise
from orders.models import (
    MAIL_DUE,
    BuyerEmail,
    BuyerEmailKind,
    BuyerEmailStatus,
    Customer,
    Order,
    TicketState,
)
from orders.selectors import customer_get, customer_id_for_email, order_get
from orders.services.fulfillment.attempts import backoff_delay

logger = logging.getLogger(__name__)

MAIL_MAX_ATTEMPTS = 8
LEASE_SECONDS = 60
SWEEP_PAGE = 50
# Staff resends of one order's e-mails: at most this many a minute (a double click is one).
RESENDS_PER_MINUTE = 3

SUBJECTS = {
    BuyerEmailKind.CONFIRMATION: "Your order {order_id} is confirmed",
    BuyerEmailKind.TICKETS: "Your tickets for order {order_id}",
    BuyerEmailKind.REFUND: "Refund of {amount} for order {order_id}",
    BuyerEmailKind.CANCELLATION: "Your order {order_id} is canceled",
    BuyerEmailKind.EVENT_CANCELED: "Canceled: {event}. We refund {amount} of order {order_id}",
}
KIND_WORDS = {
    BuyerEmailKind.CONFIRMATION: "Order confirmation",
    BuyerEmailKind.TICKETS: "Tickets",
    BuyerEmailKind.REFUND: "Refund",
    BuyerEmailKind.CANCELLATION: "Cancellation",
    BuyerEmailKind.EVENT_CANCELED: "Event canceled",
}


class ResendTooSoon(ApplicationError):
    status_code = 429
    code = "resend_too_soon"
    message = "This order's e-mails were resent a moment ago; wait a minute."


def _sort_key(kind: BuyerEmailKind, part: str = "") -> str:
    return f"{kind.value}#{part}" if part else kind.value


def buyer_email_queue(
    *,
    order_id: str,
    kind: BuyerEmailKind,
    refund_total: int | None = None,
    resend: str = "",
    requested_by: str | None = None,
    about: str = "",
) -> bool:
    """Queue the ``kind`` e-mail of an order and ask for it to be sent; False if it was
    queued (or sent) before: once per order and kind (a refund: once per refunded total;
    a staff resend: once per submit, ``resend``; an event's cancellation: once per ticket
    type, ``about``, with ``refund_total`` the part refunded)."""
    part = (
        f"resend#{resend}" if resend
        else about if about
        else str(refund_total) if refund_total
        else ""
    )  # fmt: skip
    now = datetime.now(UTC)
    record = BuyerEmail(
        pk=BuyerEmail.key_for(order_id),
        sk=_sort_key(kind, part),
        order_id=order_id,
        mail_kind=kind.value,
        refund_total=refund_total,
        requested_by=requested_by,
        about=about or None,
        created_at=iso_utc(now),
        mail_queue=MAIL_DUE,
        mail_next_at=f"{iso_utc(now)}#{order_id}#{kind.value}",
    )
    try:
        record.save(condition=BuyerEmail.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    task_dispatch(buyer_email_send_task, what="an e-mail", order_id=order_id, sk=record.sk)
    return True


def buyer_email_send_task(order_id: str, sk: str) -> None:
    """The asynchronous entry point (a plain module-level function, as Zappa needs)."""
    buyer_email_send(order_id=order_id, sk=sk)


def _lease(record: BuyerEmail, now: float) -> bool:
    try:
        record.update(
            actions=[BuyerEmail.lease_until.set(int(now + LEASE_SECONDS))],
            condition=(BuyerEmail.status == BuyerEmailStatus.QUEUED.value)
            & (BuyerEmail.lease_until.does_not_exist() | (BuyerEmail.lease_until < int(now))),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _settle(record: BuyerEmail, actions: list[Any]) -> None:
    record.update(
        actions=[*actions, BuyerEmail.lease_until.remove()],
        condition=BuyerEmail.status == BuyerEmailStatus.QUEUED.value,
    )


def buyer_email_send(*, order_id: str, sk: str, now: datetime | None = None) -> str:
    """Send one queued e-mail: ``sent``, ``retry``, ``failed``, ``suppressed`` or ``skipped``
    (not queued, or another worker holds it)."""
    try:
        record = BuyerEmail.get(BuyerEmail.key_for(order_id), sk)
    except DoesNotExist:
        return "skipped"
    current = now or datetime.now(UTC)
    if record.status != BuyerEmailStatus.QUEUED or not _lease(record, time.time()):
        return "skipped"
    order = order_get(order_id=order_id)
    customer = customer_get(customer_id=order.customer_id, consistent=True) if order else None
    kind = BuyerEmailKind(record.mail_kind)
    if order is None or customer is None:
        _settle(record, _out_of_queue(BuyerEmailStatus.FAILED, "the order or buyer is gone"))
        return "failed"
    if customer.email_undeliverable:
        _settle(
            record,
            _out_of_queue(
                BuyerEmailStatus.SUPPRESSED, f"undeliverable: {customer.email_undeliverable}"
            ),
        )
        _audit(order, f"{KIND_WORDS[kind]} e-mail not sent: the address bounced before")
        return "suppressed"
    subject, text, html = buyer_email_render(order=order, customer=customer, record=record)
    outcome = email_send(
        to=customer.email,
        subject=subject,
        text=text,
        html=html,
        tags={"order_id": order.order_id, "kind": kind.value},
    )
    masked = email_mask(customer.email)
    attempts = int(record.attempts or 0) + 1
    if isinstance(outcome, Sent):
        _settle(
            record,
            [
                *_out_of_queue(BuyerEmailStatus.SENT, None),
                BuyerEmail.message_id.set(outcome.message_id or None),
                BuyerEmail.sent_to_masked.set(masked),
                BuyerEmail.sent_at.set(utc_now_iso()),
                BuyerEmail.attempts.set(attempts),
            ],
        )
        who = f" (resent by {record.requested_by})" if record.requested_by else ""
        _audit(order, f"{KIND_WORDS[kind]} e-mail sent to {masked}{who}")
        metric_emit("EmailsSent")
        return "sent"
    if isinstance(outcome, Retryable) and attempts < MAIL_MAX_ATTEMPTS:
        next_at = iso_utc(current + backoff_delay(attempts))
        _settle(
            record,
            [
                BuyerEmail.attempts.set(attempts),
                BuyerEmail.last_error.set(outcome.summary[:200]),
                BuyerEmail.mail_next_at.set(f"{next_at}#{order.order_id}#{kind.value}"),
            ],
        )
        return "retry"
    reason = outcome.summary if isinstance(outcome, Permanent) else (
        f"gave up after {attempts} attempts: {outcome.summary}"
    )  # fmt: skip
    _settle(
        record,
        [*_out_of_queue(BuyerEmailStatus.FAILED, reason[:200]), BuyerEmail.attempts.set(attempts)],
    )
    _audit(order, f"{KIND_WORDS[kind]} e-mail not sent: {reason[:200]}")
    metric_emit("EmailFailures")
    logger.error("e-mail not sent", extra={"order_id": order.order_id, "reason": reason[:200]})
    return "failed"


def _out_of_queue(status: BuyerEmailStatus, error: str | None) -> list[Any]:
    actions = [
        BuyerEmail.status.set(status.value),
        BuyerEmail.mail_queue.remove(),
        BuyerEmail.mail_next_at.remove(),
    ]
    if error is not None:
        actions.append(BuyerEmail.last_error.set(error))
    return actions


def _audit(order: Order, summary: str) -> None:
    audit_record(
        staff=SYSTEM_MAIL,
        object_type="orders.order",
        object_id=order.order_id,
        object_repr=order.order_id,
        action="email",
        summary=summary,
    )


def order_page_url(order_id: str) -> str:
    """The storefront's page of the order (``?order=`` resumes following it there)."""
    base = (settings.STOREFRONT_URL or "").rstrip("/")
    return f"{base}/?order={order_id}" if base else ""


def buyer_email_render(
    *, order: Order, customer: Customer, record: BuyerEmail
) -> tuple[str, str, str]:
    """The subject, plain text and HTML of one e-mail, from the order as it is now."""
    kind = BuyerEmailKind(record.mail_kind)
    refund = int(record.refund_total or order.refunded_amount or 0)
    context = {
        "name": customer.name,
        "order_id": order.order_id,
        "order_url": order_page_url(order.order_id),
        "status": order.status,
        "placed": when(order.created_at),
        "items": [
            {
                "name": i.name,
                "quantity": int(i.quantity),
                "unit": money_format(int(i.unit_amount), order.currency),
                "amount": money_format(int(i.amount), order.currency),
            }
            for i in order.items
        ],
        "total": money_format(int(order.total_amount), order.currency),
        "refunded": money_format(refund, order.currency),
        "tickets": [
            {"code": t.code or t.ticket_id, "sku": t.sku, "void": t.buyer_state == "void"}
            for t in order.tickets or []
            if t.current_state != TicketState.VOID_PENDING or kind != BuyerEmailKind.TICKETS
        ],
        "resent": bool(record.requested_by),
        # An event's cancellation: the canceled type's name (as ordered) and its tickets.
        "event": next((i.name for i in order.items if i.sku == record.about), record.about),
        "event_tickets": [
            t.code or t.ticket_id for t in order.tickets or [] if t.sku == record.about
        ],
    }
    subject = SUBJECTS[kind].format(
        order_id=order.order_id,
        amount=money_format(refund, order.currency),
        event=context["event"],
    )
    text = render_to_string(f"orders/email/{kind.value}.txt", context)
    html = render_to_string(f"orders/email/{kind.value}.html", context)
    return subject, text, html


def buyer_email_resend(
    *, order_id: str, kind: BuyerEmailKind, staff: str, submission_id: str
) -> bool:
    """Staff: send the order's ``kind`` e-mail again, to the buyer's current address (audited
    by the e-mail's own timeline entry, which names them). At most ``RESENDS_PER_MINUTE`` a
    minute per order (``ResendTooSoon``); the same submit twice sends once."""
    order = order_get(order_id=order_id)
    if order is None:
        raise NotFound("No such order.")
    hits, _ = rate_hit(scope="resend", client=order_id)
    if hits > RESENDS_PER_MINUTE:
        raise ResendTooSoon()
    queued = buyer_email_queue(
        order_id=order_id, kind=kind, resend=submission_id, requested_by=staff
    )
    if queued:
        audit_record(
            staff=staff,
            object_type="orders.order",
            object_id=order_id,
            object_repr=order_id,
            action="email_resend",
            summary=f"{KIND_WORDS[kind]} e-mail resent",
        )
    return queued


def buyer_emails_of(*, order_id: str) -> list[BuyerEmail]:
    """Every e-mail of an order, by kind (one Query of its partition)."""
    return list(BuyerEmail.query(BuyerEmail.key_for(order_id)))


@dataclass
class MailSweepReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    suppressed: int = 0
    skipped: int = 0


def buyer_emails_sweep(*, now: datetime | None = None, limit: int = SWEEP_PAGE) -> MailSweepReport:
    """Send the due e-mails, oldest due first (one Query of the sparse
    ``mail-queue-index``, never a Scan): the ones whose dispatch was lost, and the retries."""
    report = MailSweepReport()
    current = now or datetime.now(UTC)
    # "~" sorts after every "{time}#..." of the moment: everything due up to now.
    for record in BuyerEmail.queue_index.query(
        MAIL_DUE, BuyerEmail.mail_next_at <= f"{iso_utc(current)}~", limit=limit
    ):
        outcome = buyer_email_send(order_id=record.order_id, sk=record.sk, now=current)
        setattr(report, outcome, getattr(report, outcome) + 1)
    if any(vars(report).values()):
        logger.info("e-mail sweep", extra={"report": vars(report)})
    return report


def customer_mark_undeliverable(*, email: str, reason: str) -> bool:
    """SES reported a hard bounce for ``email``: its customer is marked (no more e-mail to it,
    staff see it on the customer and the order). False if no customer holds that address."""
    customer_id = customer_id_for_email(email=email_normalise(email))
    customer = customer_get(customer_id=customer_id, consistent=True) if customer_id else None
    if customer is None or email_normalise(customer.email) != email_normalise(email):
        return False
    said = f"{reason[:120]} ({iso_utc(datetime.now(UTC))})"
    customer.update(
        actions=[Customer.email_undeliverable.set(said)],
        condition=Customer.email == customer.email,
        add_version_condition=False,
    )
    audit_record(
        staff=SYSTEM_MAIL,
        object_type="orders.customer",
        object_id=customer.customer_id,
        object_repr=customer.customer_id,
        action="email_bounced",
        summary=f"E-mail address undeliverable (hard bounce): {reason[:120]}",
    )
    logger.warning("e-mail address undeliverable", extra={"customer_id": customer.customer_id})
    return True


def email_events_drain(*, batches: int = 5) -> int:
    """Apply SES's bounces and complaints waiting in the queue (up to ``batches`` x 10
    messages a run); how many addresses were marked undeliverable. A message is deleted once
    applied; one that fails stays for the next run."""
    marked = 0
    for _ in range(batches):
        messages = email_events_receive()
        if not messages:
            break
        for receipt, bounces in messages:
            for bounce in bounces:
                marked += customer_mark_undeliverable(email=bounce.address, reason=bounce.reason)
            email_event_done(receipt_handle=receipt)
    return marked
