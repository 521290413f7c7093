"""End to end with localstripe as Stripe: it signs and POSTs its own events to a live server
running our WSGI application, and the order follows. Nothing here builds or signs an event."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from devstack.stripe_webhooks import stripe_webhook_register, stripe_webhook_unregister
from orders.models import OrderStatus
from payments.models import WebhookEvent, WebhookEventStatus
from tests.factories import (
    PAID_OR_LATER,
    intent_pay,
    order_body,
    order_create,
    order_get,
    payment_get,
    stripe_object,
    ticket_type_create,
)

pytestmark = pytest.mark.usefixtures("aws")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # our app logs requests itself
        pass


@pytest.fixture
def live_server(aws) -> Iterator[str]:
    from tickets.wsgi import application

    server = make_server(
        "127.0.0.1", 0, application, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint_id = f"test-{secrets.token_hex(4)}"
    stripe_webhook_register(
        stripe_url=aws.stripe_url,
        endpoint_id=endpoint_id,
        url=f"http://127.0.0.1:{server.server_port}/webhooks/stripe",
        secret=aws.secrets.stripe_webhook_secret,
    )
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stripe_webhook_unregister(stripe_url=aws.stripe_url, endpoint_id=endpoint_id)
        server.shutdown()
        server.server_close()


def _wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for localstripe's webhook")


def test_localstripe_payment_webhook_moves_the_order_from_pending_to_paid_and_on(aws, live_server):
    ticket_type_create(sku="ga", available=5)
    order = order_create(items=[("ga", 1)])
    assert order.status == OrderStatus.PENDING_PAYMENT
    started = int(time.time()) - 1

    intent_pay(aws, order.payment_intent_id)

    paid = _wait_for(lambda: (o := order_get(order.order_id)).status == OrderStatus.FULFILLED and o)
    assert paid.seats_held is False
    assert payment_get(order.payment_intent_id).status == "succeeded"
    # The event localstripe made and sent is the one we recorded as applied.
    events = stripe_object(
        aws, f"/v1/events?type=payment_intent.succeeded&created[gt]={started}&limit=100"
    )["data"]
    (event,) = [e for e in events if e["data"]["object"]["id"] == order.payment_intent_id]
    record = _wait_for(
        lambda: (
            (r := WebhookEvent.get(WebhookEvent.key_for(event["id"]), "RECORD")).status
            == WebhookEventStatus.DONE
            and r
        )
    )
    assert record.outcome == "applied"


def test_localstripe_declined_payment_webhook_records_the_attempt(aws, live_server):
    ticket_type_create(sku="ga", available=5)
    order = order_create(items=[("ga", 1)])

    intent_pay(aws, order.payment_intent_id, card="pm_card_chargeCustomerFail")

    payment = _wait_for(lambda: (p := payment_get(order.payment_intent_id)).attempts and p)
    assert payment.attempts[0].failure_code == "card_declined"
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_an_order_placed_through_the_api_is_paid_by_localstripes_webhook(aws, live_server):
    ticket_type_create(sku="ga", available=5)
    request = urllib.request.Request(
        f"{live_server}/orders",
        data=json.dumps(order_body(items=[{"sku": "ga", "quantity": 2}])).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        created = json.load(response)
    assert created["status"] == "pending_payment"

    intent_pay(aws, created["payment"]["payment_intent_id"])

    def status() -> str | None:
        with urllib.request.urlopen(f"{live_server}/orders/{created['order_id']}") as answer:
            current = json.load(answer)["status"]
        return current if current != "pending_payment" else None

    # Paid by the webhook, then fulfilled (inline locally) by the vendor.
    assert _wait_for(status) in {"paid", "fulfilled"}
    assert order_get(created["order_id"]).status in PAID_OR_LATER
