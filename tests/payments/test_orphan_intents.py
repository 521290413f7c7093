"""PaymentIntents of ours with no order (issue 29, F8): Stripe made the intent, but its answer
never reached us, so the order was abandoned (deleted, seats back) and the intent stayed open
in Stripe. The reconciliation finds them by their ``order_id`` metadata and cancels them.

The lost answer is real: a loopback proxy in front of localstripe forwards the create and then
drops the connection without answering, as a Stripe that hangs past the client's timeout does.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.dynamodb import new_id
from integrations.stripe_client import payment_intent_create
from payments.services.reconcile import payments_reconcile
from tests.factories import order_body, order_create, stripe_object, ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


class LostAnswers:
    def __init__(self) -> None:
        self.made: list[str] = []  # the intents Stripe made whose answer was lost
        self.losing = True


@pytest.fixture
def answers_lost(aws, monkeypatch) -> Iterator[LostAnswers]:
    """Stripe behind a proxy that forwards every request and, while ``losing``, loses the
    answer of each PaymentIntent create."""
    upstream = aws.stripe_url
    lost = LostAnswers()

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            request = urllib.request.Request(
                upstream + self.path, data=body or None, headers=headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    status, answer = response.status, response.read()
            except urllib.error.HTTPError as error:
                status, answer = error.code, error.read()
            create = self.command == "POST" and self.path.rstrip("/") == "/v1/payment_intents"
            if create and lost.losing:
                lost.made.append(json.loads(answer)["id"])
                self.close_connection = True  # the answer is lost on the way back
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with monkeypatch.context() as patch:
        patch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{server.server_address[1]}")
        yield lost
    server.shutdown()
    server.server_close()


def test_an_intent_made_for_an_abandoned_order_is_canceled_by_the_reconciliation(
    aws, client, answers_lost
):
    ticket_type_create(sku="ga", available=10)
    answer = client.post("/orders", json.dumps(order_body()), content_type="application/json")
    assert answer.status_code == 503  # the buyer was told to retry; no order is left
    assert answers_lost.made, "Stripe made no intent"
    orphans = sorted(set(answers_lost.made))  # the client retried with the same key
    answers_lost.losing = False
    assert all(
        stripe_object(aws, f"/v1/payment_intents/{pi}")["status"] != "canceled" for pi in orphans
    )

    # Intents that are not orphans: an order's own, and another integration's on the account.
    kept = order_create(items=[("ga", 1)])
    foreign = payment_intent_create(
        order_id="not-one-of-ours", amount=100, currency="usd", idempotency_key=new_id("k")
    )

    report = payments_reconcile(orphans_grace=timedelta(0))
    again = payments_reconcile(orphans_grace=timedelta(0))

    for pi in orphans:
        assert stripe_object(aws, f"/v1/payment_intents/{pi}")["status"] == "canceled"
    assert (
        stripe_object(aws, f"/v1/payment_intents/{kept.payment_intent_id}")["status"] != "canceled"
    )
    assert stripe_object(aws, f"/v1/payment_intents/{foreign.id}")["status"] != "canceled"
    # (localstripe outlives each test's tables: intents of earlier tests' orders are orphans
    # now too, and canceled alike.)
    assert set(orphans) <= set(report.orphans.changed)
    assert {kept.payment_intent_id, foreign.id}.isdisjoint(report.orphans.changed)
    assert report.summary()["orphans_canceled"] == len(report.orphans.changed)
    assert again.orphans.changed == []  # canceled ones are not looked at again


def test_a_young_orphan_is_left_for_its_creation_to_finish(aws):
    """An order is written before its intent is asked for, but the reconciliation waits out a
    grace period anyway: it never races a creation that is still running."""
    ticket_type_create(sku="ga", available=10)
    young = payment_intent_create(
        order_id=new_id("ord"), amount=100, currency="usd", idempotency_key=new_id("k")
    )

    report = payments_reconcile()  # the default grace: 15 minutes

    assert report.orphans.changed == []
    assert stripe_object(aws, f"/v1/payment_intents/{young.id}")["status"] != "canceled"


def test_an_intent_a_pay_press_left_unrecorded_is_canceled_once_its_order_is_over(aws, client):
    """ "Pay" made the intent and failed to record it on the order: it stays open while the
    order awaits payment ("Pay" again records it), and is canceled once the order is not
    payable any more (expired or canceled without it)."""
    from orders.actions import order_cancel

    ticket_type_create(sku="ga", available=10)
    placed = client.post("/orders", json.dumps(order_body()), content_type="application/json",
                         headers={"API-Version": "2026-12-07"}).json()  # fmt: skip
    order_id = placed["order_id"]
    unrecorded = payment_intent_create(order_id=order_id, amount=placed["total_amount"],
                                       currency=placed["currency"],
                                       idempotency_key=f"order:{order_id}")  # fmt: skip

    payments_reconcile(orphans_grace=timedelta(0))
    assert stripe_object(aws, f"/v1/payment_intents/{unrecorded.id}")["status"] != "canceled"

    order_cancel(order_id=order_id, reason="expired")
    report = payments_reconcile(orphans_grace=timedelta(0))

    assert stripe_object(aws, f"/v1/payment_intents/{unrecorded.id}")["status"] == "canceled"
    assert unrecorded.id in report.orphans.changed
