"""The buyer hears from us: each e-mail sent once through the emulator's SES and read back from
it (what the buyer would get), retried, never to an address that bounced for good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from orders import actions
from orders.models import BuyerEmailStatus
from orders.selectors import customer_get, order_get
from orders.services.buyer_mail import (
    buyer_emails_of,
    buyer_emails_sweep,
    customer_mark_undeliverable,
)
from payments.services.refunds import refund_create
from tests.factories import (
    customer_create,
    event_build,
    intent_pay,
    order_create,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def buyer(aws):
    return customer_create()


STOREFRONT = "https://shop.example.test"


def _mails(stack, to: str = "buyer@example.com") -> list[dict]:
    return [m for m in stack.sent_emails() if to in m["to"]]


def _subjects(stack) -> list[str]:
    return [m["subject"] for m in _mails(stack)]


def _paid(aws, client, *, quantity: int = 2):
    ticket_type_create(sku="ga", unit_amount=4900, available=10)
    order = order_create(items=[("ga", quantity)])
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    return order_get(order_id=order.order_id), intent


@override_settings(STOREFRONT_URL=STOREFRONT)
def test_a_paid_order_gets_its_confirmation_then_its_tickets_once_each(aws, client):
    order, intent = _paid(aws, client)
    # Stripe delivers the event again: no second confirmation.
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    mails = _mails(aws)
    assert [m["subject"] for m in mails] == [
        f"Your order {order.order_id} is confirmed",
        f"Your tickets for order {order.order_id}",
    ]
    confirmation, tickets = mails
    assert confirmation["from"] == "TicketsToHeaven <tickets@ticketstoheaven.test>"
    # Plain text and HTML, money and the link as the buyer reads them.
    text, html = confirmation["text"], confirmation["html"]
    assert "2 x GA at USD 49.00: USD 98.00" in text
    assert "Total: USD 98.00" in text
    assert f"{STOREFRONT}/?order={order.order_id}" in text
    assert "<td>GA</td>" in html and f'href="{STOREFRONT}/?order={order.order_id}"' in html
    for ticket in order.tickets:
        assert ticket.code in tickets["text"] and ticket.code in tickets["html"]
    records = {r.sk: r for r in buyer_emails_of(order_id=order.order_id)}
    assert sorted(records) == ["confirmation", "tickets"]
    assert {r.status for r in records.values()} == {BuyerEmailStatus.SENT}
    assert records["confirmation"].sent_to_masked == "b***@example.com"


def test_a_refund_is_told_once_per_refund_with_the_tickets_state(aws, client):
    order, _ = _paid(aws, client)

    refund_create(
        order_id=order.order_id,
        amount=4900,
        staff="fin",
        void_ticket_ids=[order.tickets[0].ticket_id],
    )
    refund_create(order_id=order.order_id, amount=None, staff="fin")

    refunds = [m for m in _mails(aws) if m["subject"].startswith("Refund")]
    assert [m["subject"] for m in refunds] == [
        f"Refund of USD 49.00 for order {order.order_id}",
        f"Refund of USD 98.00 for order {order.order_id}",
    ]
    assert f"{order.tickets[0].code} (ga): void, no longer valid" in refunds[0]["text"]


def test_a_canceled_order_is_told(aws):
    ticket_type_create(sku="ga", unit_amount=4900, available=10)
    order = order_create(items=[("ga", 1)])

    actions.order_cancel(order_id=order.order_id, staff="sam", reason="requested_by_customer")

    assert _subjects(aws) == [f"Your order {order.order_id} is canceled"]


def test_ses_refusing_is_recorded_and_a_later_sweep_does_not_resend(aws, client):
    # The sender's identity is gone: SES (the emulator) refuses every message, for good.
    import boto3

    boto3.client("sesv2", endpoint_url=aws.aws_url).delete_email_identity(
        EmailIdentity="tickets@ticketstoheaven.test"
    )
    order, _ = _paid(aws, client, quantity=1)

    records = {r.sk: r for r in buyer_emails_of(order_id=order.order_id)}
    assert records["confirmation"].status == BuyerEmailStatus.FAILED
    assert "MessageRejected" in records["confirmation"].last_error
    assert buyer_emails_sweep(now=datetime.now(UTC) + timedelta(hours=2)).sent == 0
    assert aws.sent_emails() == []


def test_a_hard_bounce_stops_mail_to_the_address(aws, client):
    ticket_type_create(sku="ga", unit_amount=4900, available=10)
    order = order_create(items=[("ga", 1)])
    assert customer_mark_undeliverable(email="Buyer@Example.com", reason="Permanent: General")

    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))

    assert _mails(aws) == []
    records = {r.sk: r for r in buyer_emails_of(order_id=order.order_id)}
    assert records["confirmation"].status == BuyerEmailStatus.SUPPRESSED
    customer = customer_get(customer_id=order.customer_id)
    assert customer.email_undeliverable.startswith("Permanent: General")
    assert not customer_mark_undeliverable(email="nobody@example.com", reason="Permanent")


def _publish_ses_event(stack, event: dict) -> None:
    import json

    import boto3

    sns = boto3.client("sns", endpoint_url=stack.aws_url)
    (topic,) = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("email-events")
    ]
    sns.publish(TopicArn=topic, Message=json.dumps(event))


def test_a_hard_bounce_from_ses_marks_the_address_and_staff_see_it(aws, client, staff_client):
    from orders.services.buyer_mail import email_events_drain

    order, _ = _paid(aws, client, quantity=1)
    # What SES's configuration set publishes to SNS; SNS delivers it to the job's queue.
    _publish_ses_event(
        aws,
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "NoEmail",
                "bouncedRecipients": [{"emailAddress": "buyer@example.com"}],
            },
            "mail": {"tags": {"order_id": [order.order_id]}},
        },
    )
    _publish_ses_event(  # a soft bounce is not the address's fault
        aws,
        {
            "eventType": "Bounce",
            "bounce": {
                "bounceType": "Transient",
                "bouncedRecipients": [{"emailAddress": "other@example.com"}],
            },
        },
    )

    assert email_events_drain() == 1
    assert email_events_drain() == 0  # each message applied once, then deleted

    customer = customer_get(customer_id=order.customer_id)
    assert customer.email_undeliverable.startswith("Permanent: NoEmail")
    page = staff_client("support").get(f"/admin/orders/order/{order.order_id}/change/")
    page = page.content.decode()
    assert "Undeliverable, no e-mail is sent to it: Permanent: NoEmail" in page
    assert "buyer@example.com&gt; (undeliverable: it bounced)" in page
