"""POST /webhooks/stripe, through HTTP: signatures, every handler, duplicates, concurrency,
out-of-order delivery and a crash between claiming and applying an event."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client

from orders.models import Order, OrderStatus
from payments.models import WebhookEvent, WebhookEventStatus
from tests.factories import (
    PAID_OR_LATER,
    event_body,
    event_build,
    intent_pay,
    metrics_in,
    order_create,
    order_get,
    payment_get,
    seats_available,
    signature_header,
    stripe_object,
    stripe_request,
    ticket_type_create,
    webhook_post,
)
from tests.vendor import vendor_requests

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def order(aws):
    ticket_type_create(sku="ga", available=10)
    return order_create(items=[("ga", 2)])


def _succeeded_event(aws, order, **kwargs):
    intent = intent_pay(aws, order.payment_intent_id)
    assert intent["status"] == "succeeded"
    return event_build("payment_intent.succeeded", intent, **kwargs)


# --- Signatures ------------------------------------------------------------------------------


def _assert_rejected(response):
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"


def test_a_missing_signature_is_rejected_and_changes_nothing(aws, client, order, capsys):
    event = _succeeded_event(aws, order)

    response = client.post(
        "/webhooks/stripe", data=event_body(event), content_type="application/json"
    )

    _assert_rejected(response)
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT
    assert metrics_in(capsys.readouterr().out, "WebhookSignatureFailures") == 1


def test_a_signature_made_with_another_secret_is_rejected(aws, client, order):
    event = _succeeded_event(aws, order)
    body = event_body(event)

    response = webhook_post(
        client, aws, body, header=signature_header("whsec_not_ours_0123456789", body)
    )

    _assert_rejected(response)
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_a_stale_signature_is_rejected_even_if_it_was_once_valid(aws, client, order):
    event = _succeeded_event(aws, order)

    response = webhook_post(client, aws, event, timestamp=int(time.time()) - 301)

    _assert_rejected(response)
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_a_tampered_body_is_rejected(aws, client, order):
    event = _succeeded_event(aws, order)
    body = event_body(event)
    header = signature_header(aws.secrets.stripe_webhook_secret, body)

    response = webhook_post(client, aws, body.replace(b'"usd"', b'"eur"'), header=header)

    _assert_rejected(response)
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


@pytest.mark.parametrize("header", ["garbage", "t=,v1=", "v1=abc", "t=123"])
def test_a_malformed_signature_header_is_rejected(aws, client, order, header):
    response = webhook_post(client, aws, event_build("ping", {"id": "x"}), header=header)

    _assert_rejected(response)


def test_a_signed_body_that_is_not_json_is_rejected_without_a_500(aws, client):
    response = webhook_post(client, aws, b"\xff\xfe not json")

    _assert_rejected(response)


def test_only_post_is_allowed(client):
    response = client.get("/webhooks/stripe")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- payment_intent.succeeded ---------------------------------------------------------------


def test_a_succeeded_payment_marks_the_order_paid_and_sells_its_seats(aws, client, order, capsys):
    event = _succeeded_event(aws, order)

    response = webhook_post(client, aws, event)

    assert response.status_code == 200
    assert response.json() == {"received": True, "outcome": "applied"}
    paid = order_get(order.order_id)
    # Paid, and fulfillment started (inline locally): the vendor issued the tickets.
    assert paid.status == OrderStatus.FULFILLED
    assert [r["body"]["order_id"] for r in vendor_requests(aws)] == [order.order_id]
    assert paid.seats_held is False
    assert seats_available("ga") == 8  # sold, not given back
    payment = payment_get(order.payment_intent_id)
    assert payment.status == "succeeded"
    assert payment.charge_id and payment.charge_id.startswith("ch_")
    assert metrics_in(capsys.readouterr().out, "PaymentsSucceeded") == 1
    record = WebhookEvent.get(WebhookEvent.key_for(event["id"]), "RECORD")
    assert record.status == WebhookEventStatus.DONE and record.outcome == "applied"
    assert record.expires_at is not None


def test_a_succeeded_event_for_an_intent_that_has_not_succeeded_changes_nothing(aws, client, order):
    # Signed, but the PaymentIntent in Stripe says otherwise: decide on Stripe's current state.
    intent = stripe_object(aws, f"/v1/payment_intents/{order.payment_intent_id}")
    event = event_build("payment_intent.succeeded", {**intent, "status": "succeeded"})

    response = webhook_post(client, aws, event)

    assert response.json()["outcome"] == "stale"
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_an_event_for_a_payment_intent_that_is_not_ours_is_acknowledged(aws, client):
    event = event_build("payment_intent.succeeded", {"id": "pi_someone_else", "object": "x"})

    response = webhook_post(client, aws, event)

    assert response.status_code == 200
    assert response.json()["outcome"] == "not_ours"


# --- Duplicates and concurrency -------------------------------------------------------------


def test_a_duplicate_delivery_takes_effect_once(aws, client, order, capsys):
    event = _succeeded_event(aws, order)

    first = webhook_post(client, aws, event)
    second = webhook_post(client, aws, event)

    assert first.json()["outcome"] == "applied"
    assert second.status_code == 200
    assert second.json()["outcome"] == "duplicate"
    assert len(vendor_requests(aws)) == 1  # one fulfillment start
    assert metrics_in(capsys.readouterr().out, "PaymentsSucceeded") == 1


def test_ten_concurrent_deliveries_of_one_event_make_one_change_and_one_metric(aws, order, capsys):
    event = _succeeded_event(aws, order)
    body = event_body(event)
    header = signature_header(aws.secrets.stripe_webhook_secret, body)
    barrier = threading.Barrier(10)
    answers: list[tuple[int, dict]] = []

    def deliver():
        client = Client(raise_request_exception=False)
        barrier.wait()
        response = webhook_post(client, aws, body, header=header)
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    applied = [a for a in answers if a[0] == 200 and a[1]["outcome"] == "applied"]
    others = [a for a in answers if a not in applied]
    assert len(applied) == 1
    # The rest were told it is done (200) or in progress elsewhere (409, retried by Stripe).
    assert all(
        (s == 200 and b["outcome"] == "duplicate")
        or (s == 409 and b["error"]["code"] == "event_in_progress")
        for s, b in others
    )
    assert order_get(order.order_id).status in PAID_OR_LATER
    assert len(vendor_requests(aws)) == 1  # one fulfillment start
    assert seats_available("ga") == 8
    assert metrics_in(capsys.readouterr().out, "PaymentsSucceeded") == 1
    # A later retry of a delivery that got 409 is answered 200 and changes nothing.
    assert webhook_post(Client(), aws, body, header=header).json()["outcome"] == "duplicate"


# --- A crash between claiming and applying --------------------------------------------------


def test_an_event_claimed_by_a_worker_that_died_is_applied_by_the_redelivery(
    aws, client, order, capsys
):
    event = _succeeded_event(aws, order)
    # What a worker leaves behind if it dies after claiming: in progress, lease run out.
    WebhookEvent(
        pk=WebhookEvent.key_for(event["id"]),
        event_type=event["type"],
        status=WebhookEventStatus.IN_PROGRESS,
        claim_token="dead-worker",
        lease_until=int(time.time()) - 1,
        deliveries=1,
    ).save()

    response = webhook_post(client, aws, event)

    assert response.json()["outcome"] == "applied"
    assert order_get(order.order_id).status in PAID_OR_LATER
    record = WebhookEvent.get(WebhookEvent.key_for(event["id"]), "RECORD")
    assert record.status == WebhookEventStatus.DONE and record.deliveries == 2
    assert metrics_in(capsys.readouterr().out, "PaymentsSucceeded") == 1


def test_an_event_half_applied_before_a_crash_is_completed_without_a_second_change(
    aws, client, order, capsys
):
    event = _succeeded_event(aws, order)
    webhook_post(client, aws, event)  # applied ...
    version = order_get(order.order_id).version
    # ... but the worker died before marking it done: the claim is still in progress.
    WebhookEvent(
        pk=WebhookEvent.key_for(event["id"]),
        event_type=event["type"],
        status=WebhookEventStatus.IN_PROGRESS,
        claim_token="dead-worker",
        lease_until=int(time.time()) - 1,
        deliveries=1,
    ).save()
    capsys.readouterr()

    response = webhook_post(client, aws, event)

    assert response.status_code == 200
    assert response.json()["outcome"] == "unchanged"
    assert order_get(order.order_id).version == version
    assert len(vendor_requests(aws)) == 1
    assert metrics_in(capsys.readouterr().out, "PaymentsSucceeded") == 0


def test_an_event_claimed_by_a_live_worker_is_not_applied_twice(aws, client, order):
    event = _succeeded_event(aws, order)
    WebhookEvent(
        pk=WebhookEvent.key_for(event["id"]),
        event_type=event["type"],
        status=WebhookEventStatus.IN_PROGRESS,
        claim_token="live-worker",
        lease_until=int(time.time()) + 60,
        deliveries=1,
    ).save()

    response = webhook_post(client, aws, event)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "event_in_progress"
    assert response["Retry-After"] == "60"
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_a_handler_failure_answers_503_and_leaves_the_event_retryable(aws, client, order):
    event = _succeeded_event(aws, order)
    # The payment record points at an order that does not exist: the handler fails.
    payment = payment_get(order.payment_intent_id)
    payment.order_id = "ord_missing_missing_missing"
    payment.save()

    response = webhook_post(client, aws, event)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "webhook_processing_failed"
    record = WebhookEvent.get(WebhookEvent.key_for(event["id"]), "RECORD")
    assert record.status == WebhookEventStatus.FAILED and record.lease_until == 0
    assert record.error == "NotFound: No such order."
    payment = payment_get(order.payment_intent_id)
    payment.order_id = order.order_id
    payment.save()
    assert webhook_post(client, aws, event).json()["outcome"] == "applied"
    assert order_get(order.order_id).status in PAID_OR_LATER


def _stripe_budget(aws, **values: float) -> None:
    from core.config import config_cache_clear

    aws.provision_config({f"stripe_{name}": str(value) for name, value in values.items()})
    config_cache_clear()


def test_a_busy_stripe_budget_defers_the_event_without_raising_the_failure_alarm(
    aws, client, order, capsys
):
    """An on-sale using all of our Stripe budget: the handler's re-read of the PaymentIntent
    finds no slot in time. Stripe is asked to retry (503), the inbox says why, and the alarm
    that pages on the first failed event stays quiet: busy is not broken."""
    from integrations import stripe_client

    event = _succeeded_event(aws, order)
    _stripe_budget(aws, account_rate=0.5, wait_moving_seconds=0.1)  # a request every 2 s
    stripe_client.payment_intent_retrieve(payment_intent_id=order.payment_intent_id)  # the slot

    response = webhook_post(client, aws, event)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "webhook_deferred"
    assert int(response["Retry-After"]) >= 1
    record = WebhookEvent.get(WebhookEvent.key_for(event["id"]), "RECORD")
    assert record.status == WebhookEventStatus.FAILED and record.lease_until == 0
    assert record.error.startswith("PaymentProviderBusy")
    out = capsys.readouterr().out
    assert metrics_in(out, "WebhookEventsDeferred") == 1
    assert metrics_in(out, "WebhookEventsFailed") == 0
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT

    _stripe_budget(aws, account_rate=100, wait_moving_seconds=8)  # the on-sale is over
    assert webhook_post(client, aws, event).json()["outcome"] == "applied"  # Stripe's retry
    assert order_get(order.order_id).status in PAID_OR_LATER


# --- payment_intent.payment_failed ----------------------------------------------------------


def _failed_event(aws, order):
    intent = intent_pay(aws, order.payment_intent_id, card="pm_card_chargeCustomerFail")
    assert intent["status"] == "requires_payment_method"
    return event_build("payment_intent.payment_failed", intent)


def test_a_payment_for_an_order_canceled_meanwhile_is_recorded_and_raises_the_alarm(
    aws, client, order, capsys
):
    event = _succeeded_event(aws, order)  # paid in Stripe...
    order_get(order.order_id).update(  # ...while our side had canceled it already
        actions=[Order.status.set(OrderStatus.CANCELED.value)], add_version_condition=False
    )

    response = webhook_post(client, aws, event)

    assert response.status_code == 200
    assert order_get(order.order_id).status == OrderStatus.CANCELED  # never revived
    assert payment_get(order.payment_intent_id).status == "succeeded"  # the money is on record
    assert metrics_in(capsys.readouterr().out, "PaymentsOnCanceledOrders") == 1
    assert vendor_requests(aws) == []


def test_a_failed_payment_is_recorded_and_the_order_stays_payable(aws, client, order, capsys):
    event = _failed_event(aws, order)

    response = webhook_post(client, aws, event)
    again = webhook_post(client, aws, event)

    assert response.json()["outcome"] == "applied"
    assert again.json()["outcome"] == "duplicate"
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT
    assert seats_available("ga") == 8  # still held for the buyer's next try
    payment = payment_get(order.payment_intent_id)
    assert payment.status == "requires_payment_method"
    assert [(a.failure_code, a.event_id) for a in payment.attempts] == [
        ("card_declined", event["id"])
    ]
    assert metrics_in(capsys.readouterr().out, "PaymentsFailed") == 1


def test_a_failure_delivered_after_the_success_leaves_the_order_paid(aws, client, order):
    succeeded = _succeeded_event(aws, order)
    # An earlier declined attempt's event, delivered late (localstripe cannot retry an intent
    # after a decline, so the event is built from the intent as it was then).
    failed = event_build(
        "payment_intent.payment_failed",
        {
            **succeeded["data"]["object"],
            "status": "requires_payment_method",
            "last_payment_error": {"code": "card_declined", "message": "Declined."},
        },
    )

    webhook_post(client, aws, succeeded)
    response = webhook_post(client, aws, failed)

    assert response.status_code == 200
    assert order_get(order.order_id).status in PAID_OR_LATER
    assert payment_get(order.payment_intent_id).status == "succeeded"


# --- payment_intent.canceled ----------------------------------------------------------------


def test_a_canceled_payment_intent_cancels_the_order_and_releases_its_seats(aws, client, order):
    intent = stripe_request(aws, "POST", f"/v1/payment_intents/{order.payment_intent_id}/cancel")
    assert intent["status"] == "canceled"

    response = webhook_post(client, aws, event_build("payment_intent.canceled", intent))

    assert response.json()["outcome"] == "applied"
    canceled = order_get(order.order_id)
    assert canceled.status == OrderStatus.CANCELED
    assert canceled.seats_held is False
    assert seats_available("ga") == 10
    assert payment_get(order.payment_intent_id).status == "canceled"


def test_a_canceled_event_after_the_payment_leaves_the_order_paid(aws, client, order):
    succeeded = _succeeded_event(aws, order)
    intent = stripe_object(aws, f"/v1/payment_intents/{order.payment_intent_id}")
    canceled = event_build("payment_intent.canceled", {**intent, "status": "canceled"})

    webhook_post(client, aws, succeeded)
    response = webhook_post(client, aws, canceled)

    assert response.status_code == 200
    assert order_get(order.order_id).status in PAID_OR_LATER
    assert seats_available("ga") == 8


# --- charge.refunded ------------------------------------------------------------------------


def _refund_event(aws, order, amount):
    stripe_request(
        aws,
        "POST",
        "/v1/refunds",
        {"payment_intent": order.payment_intent_id, "amount": str(amount)},
    )
    charge_id = payment_get(order.payment_intent_id).charge_id
    return event_build("charge.refunded", stripe_object(aws, f"/v1/charges/{charge_id}"))


def test_partial_then_full_refunds_are_recorded(aws, client, order):
    webhook_post(client, aws, _succeeded_event(aws, order))

    webhook_post(client, aws, _refund_event(aws, order, 4000))
    partial = order_get(order.order_id)
    webhook_post(client, aws, _refund_event(aws, order, 6000))
    full = order_get(order.order_id)

    assert (partial.status, partial.refunded_amount) == (OrderStatus.PARTIALLY_REFUNDED, 4000)
    assert (full.status, full.refunded_amount) == (OrderStatus.REFUNDED, 10000)
    payment = payment_get(order.payment_intent_id)
    assert payment.amount_refunded == 10000
    assert sorted(r.amount for r in payment.refunds) == [4000, 6000]


def test_a_late_refund_event_never_lowers_the_refunded_amount(aws, client, order):
    webhook_post(client, aws, _succeeded_event(aws, order))
    first = _refund_event(aws, order, 3000)
    second = _refund_event(aws, order, 2000)

    webhook_post(client, aws, second)
    webhook_post(client, aws, first)  # older, delivered later

    assert order_get(order.order_id).refunded_amount == 5000


# --- charge.dispute.created -----------------------------------------------------------------


def test_a_dispute_flags_the_order_and_emits_one_metric(aws, client, order, capsys):
    webhook_post(client, aws, _succeeded_event(aws, order))
    charge_id = payment_get(order.payment_intent_id).charge_id
    # localstripe has no disputes: this is the event Stripe sends, signed the same way.
    dispute = {
        "id": "dp_test_1",
        "object": "dispute",
        "amount": 10000,
        "charge": charge_id,
        "payment_intent": order.payment_intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    event = event_build("charge.dispute.created", dispute)

    first = webhook_post(client, aws, event)
    webhook_post(client, aws, event_build("charge.dispute.created", dispute))  # another event

    assert first.json()["outcome"] == "applied"
    flagged = order_get(order.order_id)
    assert flagged.disputed is True
    assert flagged.status in PAID_OR_LATER  # a flag, not a state
    assert payment_get(order.payment_intent_id).disputed is True
    assert metrics_in(capsys.readouterr().out, "Disputes") == 1


def test_a_dispute_without_its_payment_intent_is_traced_through_the_charge(aws, client, order):
    webhook_post(client, aws, _succeeded_event(aws, order))
    charge_id = payment_get(order.payment_intent_id).charge_id

    response = webhook_post(
        client,
        aws,
        event_build("charge.dispute.created", {"id": "dp_2", "charge": charge_id}),
    )

    assert response.json()["outcome"] == "applied"
    assert order_get(order.order_id).disputed is True


# --- Other types ----------------------------------------------------------------------------


def test_other_event_types_are_acknowledged_and_recorded_as_ignored(aws, client):
    event = event_build("customer.created", {"id": "cus_1", "object": "customer"})

    first = webhook_post(client, aws, event)
    second = webhook_post(client, aws, event)

    assert (first.status_code, first.json()["outcome"]) == (200, "ignored")
    assert second.json()["outcome"] == "duplicate"
    record = WebhookEvent.get(WebhookEvent.key_for(event["id"]), "RECORD")
    assert (record.status, record.event_type) == (WebhookEventStatus.IGNORED, "customer.created")


def test_a_signed_event_of_a_handled_type_without_an_object_is_refused(aws, client):
    response = webhook_post(client, aws, event_build("payment_intent.succeeded", "not-an-object"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event"


def test_a_body_over_the_size_limit_is_refused_without_a_500(aws, client):
    event = event_build("customer.created", {"id": "cus_1", "padding": "x" * 1_100_000})

    response = webhook_post(client, aws, event)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "body_too_large"
