"""The deferred flow (API-Version 2026-12-07): placing an order costs Stripe nothing; the
PaymentIntent is made when the buyer pays (``POST /orders/{id}/payment``). What Stripe was sent
is counted on the wire (the ``stripe_wire`` stand-in of Stripe's limits, in front of
localstripe)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orders.actions import orders_expire
from tests.factories import intent_pay, order_body, order_get, seats_available, ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")

DEFERRED = {"API-Version": "2026-12-07"}
CREATE = "POST /v1/payment_intents"


def place(client: Client, **headers: str):
    return client.post(
        "/orders", json.dumps(order_body()), content_type="application/json", headers=headers
    )


def pay(client: Client, order_id: str):
    return client.post(f"/orders/{order_id}/payment")


def test_placing_a_deferred_order_holds_seats_and_sends_stripe_nothing(client, stripe_wire):
    ticket_type_create("ga", unit_amount=4900, available=10)

    placed = place(client, **DEFERRED)

    assert placed.status_code == 201
    body = placed.json()
    assert body["payment"] is None
    assert (body["total_amount"], body["currency"]) == (9800, "usd")
    assert seats_available("ga") == 8
    assert stripe_wire.stats()["forwarded"] == {}


def test_paying_opens_one_payment_intent_for_the_order_however_often_it_is_pressed(
    aws, client, stripe_wire
):
    ticket_type_create("ga", unit_amount=4900, available=10)
    order_id = place(client, **DEFERRED).json()["order_id"]

    first, second = pay(client, order_id), pay(client, order_id)

    assert first.status_code == second.status_code == 200
    assert first.json()["payment_intent_id"] == second.json()["payment_intent_id"]
    assert first.json()["client_secret"] == second.json()["client_secret"]
    assert (first.json()["amount"], first.json()["currency"]) == (9800, "usd")
    assert stripe_wire.stats()["forwarded"][CREATE] == 1, stripe_wire.stats()
    intent = intent_pay(aws, first.json()["payment_intent_id"])
    assert (intent["status"], intent["amount"]) == ("succeeded", 9800)
    assert order_get(order_id).payment_intent_id == intent["id"]


def test_an_abandoned_deferred_cart_expires_without_a_stripe_call_and_cannot_be_paid(
    client, stripe_wire
):
    ticket_type_create("ga", unit_amount=4900, available=10)
    order_id = place(client, **DEFERRED).json()["order_id"]

    report = orders_expire(older_than_minutes=0)

    assert report.expired == [order_id]
    assert seats_available("ga") == 10
    answer = pay(client, order_id)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "order_not_payable"
    assert stripe_wire.stats()["forwarded"] == {}


def test_clients_of_the_original_flow_still_get_their_client_secret(client, stripe_wire):
    ticket_type_create("ga", unit_amount=4900, available=10)

    placed = place(client)

    assert placed.status_code == 201
    assert placed.json()["payment"]["client_secret"].startswith(
        placed.json()["payment"]["payment_intent_id"]
    )
    assert stripe_wire.stats()["forwarded"][CREATE] == 1, stripe_wire.stats()


def test_an_unknown_api_version_is_a_400_and_paying_an_unknown_order_a_404(client):
    ticket_type_create("ga", unit_amount=4900, available=10)

    assert place(client, **{"API-Version": "1999-01-01"}).json()["error"]["code"] == (
        "invalid_api_version"
    )
    assert pay(client, "ord_nope").status_code == 404
    assert seats_available("ga") == 10


def test_when_stripes_budget_is_spent_paying_answers_429_with_retry_after(aws, client):
    """No slot for a new PaymentIntent within the wait: a 429 the checkout retries, the seats
    still held, never a 5xx."""
    from core.config import config_cache_clear

    ticket_type_create("ga", unit_amount=4900, available=10)
    order_id = place(client, **DEFERRED).json()["order_id"]
    aws.provision_config({"stripe_endpoint_rate": "0"})
    config_cache_clear()

    answer = pay(client, order_id)

    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "payment_provider_busy"
    assert int(answer.headers["Retry-After"]) >= 1
    assert seats_available("ga") == 8
