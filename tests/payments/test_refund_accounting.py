"""Refund accounting that agrees everywhere: after partial, full, refused, failed-later and
concurrent refunds, the order page, its payment row, the payment page and the CSV export show
the same refunded amount, and a refund Stripe refuses or fails later shows as failed with
Stripe's reason.

No webhook endpoint is registered with localstripe here, so what the pages show right after a
refund is what ``refund_create`` recorded itself (the bug this guards: the order said USD
49.00 and its payment row USD 0.00 until a ``charge.refunded`` webhook came).
"""

from __future__ import annotations

import threading

import pytest

from core.audit import SYSTEM_SCHEDULER
from core.exceptions import Conflict
from orders.models import OrderStatus
from payments.services.refunds import RefundRefused, refund_create
from payments.services.sync import payment_sync
from tests.factories import (
    event_build,
    intent_pay,
    order_create,
    order_get,
    payment_get,
    stripe_object,
    stripe_request,
    ticket_type_create,
    webhook_post,
)
from tests.payments.pages import csv_row, detail, table

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def paid(aws):
    """A fulfilled order of USD 100.00, paid in localstripe."""
    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    order = order_create(items=[("ga", 2)], age_minutes=10)
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    return order_get(order.order_id)


def _shown(browser, order) -> dict[str, str]:
    """The refunded amount on every page staff read it from."""
    order_page = browser.get(f"/admin/orders/order/{order.order_id}/change/").content.decode()
    payment_page = browser.get(
        f"/admin/payments/payment/{order.payment_intent_id}/change/"
    ).content.decode()
    (payment_row,) = table(order_page, "Payments")
    row = csv_row(browser, order.order_id)
    return {
        "order page": detail(order_page, "Refunded"),
        "payment row": payment_row["Refunded"],
        "payment page": detail(payment_page, "Refunded"),
        "CSV": f"{row['currency'].upper()} {row['refunded']}",
    }


def _agree(browser, order, amount: str) -> None:
    assert _shown(browser, order) == dict.fromkeys(
        ("order page", "payment row", "payment page", "CSV"), amount
    )


def test_a_partial_refund_shows_the_same_amount_everywhere(paid, staff_client):
    refund_create(order_id=paid.order_id, amount=4900, staff="fin")

    _agree(staff_client("finance"), paid, "USD 49.00")
    assert order_get(paid.order_id).status == OrderStatus.PARTIALLY_REFUNDED
    assert payment_get(paid.payment_intent_id).amount_refunded == 4900


def test_a_full_refund_shows_the_same_amount_everywhere(paid, staff_client):
    refund_create(order_id=paid.order_id, amount=2500, staff="fin")
    refund_create(order_id=paid.order_id, amount=None, staff="fin")

    _agree(staff_client("finance"), paid, "USD 100.00")
    assert order_get(paid.order_id).status == OrderStatus.REFUNDED


def test_concurrent_refunds_add_up_everywhere(aws, paid, staff_client):
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def refund(amount: int) -> None:
        barrier.wait()
        try:
            refund_create(order_id=paid.order_id, amount=amount, staff="fin")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=refund, args=(a,)) for a in (1000, 2000, 3000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    _agree(staff_client("finance"), paid, "USD 60.00")
    listed = stripe_object(aws, f"/v1/refunds?payment_intent={paid.payment_intent_id}")
    assert sorted(r["amount"] for r in listed["data"]) == [1000, 2000, 3000]


def test_a_refund_stripe_refuses_is_failed_with_its_reason_not_a_conflict(aws, paid, staff_client):
    refund_create(order_id=paid.order_id, amount=1000, staff="fin")
    # localstripe refuses a refund of a failed charge ("Cannot refund a failed payment."): the
    # one refusal it can make, put in place by updating the charge there.
    intent = stripe_object(aws, f"/v1/payment_intents/{paid.payment_intent_id}")
    charge_id = intent["latest_charge"]
    charge_id = charge_id if isinstance(charge_id, str) else charge_id["id"]
    stripe_request(aws, "POST", f"/v1/charges/{charge_id}", {"status": "failed"})

    with pytest.raises(RefundRefused) as refused:
        refund_create(order_id=paid.order_id, amount=2000, staff="fin")

    assert not isinstance(refused.value, Conflict)
    assert "Cannot refund a failed payment" in refused.value.message
    browser = staff_client("finance")
    _agree(browser, paid, "USD 10.00")  # the refused one counts nowhere
    payment_page = browser.get(
        f"/admin/payments/payment/{paid.payment_intent_id}/change/"
    ).content.decode()
    rows = {r["Amount"]: r for r in table(payment_page, "Refunds")}
    assert rows["USD 20.00"]["Status"] == "failed"
    assert "Cannot refund a failed payment" in rows["USD 20.00"]["Stripe's reason"]
    assert rows["USD 10.00"]["Status"] == "succeeded"
    order_page = browser.get(f"/admin/orders/order/{paid.order_id}/change/").content.decode()
    assert "changed by someone else" not in order_page
    assert {r["Status"] for r in table(order_page, "Refunds")} == {"succeeded", "failed"}


@pytest.mark.parametrize("event_type", ["refund.updated", "charge.refund.updated"])
def test_a_refund_that_fails_later_is_shown_failed_and_taken_off_every_total(
    aws, client, paid, staff_client, event_type
):
    first = refund_create(order_id=paid.order_id, amount=4900, staff="fin")
    refund_create(order_id=paid.order_id, amount=1000, staff="fin")
    # The card was closed: Stripe fails the 49.00 refund days later. localstripe cannot fail a
    # refund by itself; its status is updated there, and the event Stripe would send (with the
    # reason, which localstripe does not keep) is signed and delivered.
    stripe_request(aws, "POST", f"/v1/refunds/{first.refund_id}", {"status": "failed"})
    failed = {
        **stripe_object(aws, f"/v1/refunds/{first.refund_id}"),
        "failure_reason": "expired_or_canceled_card",
    }

    answer = webhook_post(client, aws, event_build(event_type, failed))

    assert answer.status_code == 200, answer.content
    browser = staff_client("finance")
    _agree(browser, paid, "USD 10.00")
    order = order_get(paid.order_id)
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    refunds = {r.refund_id: r for r in payment_get(paid.payment_intent_id).refunds}
    assert (refunds[first.refund_id].status, refunds[first.refund_id].failure_reason) == (
        "failed",
        "expired_or_canceled_card",
    )
    order_page = browser.get(f"/admin/orders/order/{paid.order_id}/change/").content.decode()
    shown = {r["Refund"]: r for r in table(order_page, "Refunds")}
    assert shown[first.refund_id]["Status"] == "failed"
    assert shown[first.refund_id]["Stripe's reason"] == "expired or canceled card"


def test_when_the_only_refund_fails_later_the_order_is_back_to_its_paid_state(
    aws, client, paid, staff_client
):
    only = refund_create(order_id=paid.order_id, amount=None, staff="fin")
    assert order_get(paid.order_id).status == OrderStatus.REFUNDED
    stripe_request(aws, "POST", f"/v1/refunds/{only.refund_id}", {"status": "failed"})

    webhook_post(
        client,
        aws,
        event_build("refund.failed", stripe_object(aws, f"/v1/refunds/{only.refund_id}")),
    )

    _agree(staff_client("finance"), paid, "USD 0.00")
    assert order_get(paid.order_id).status == OrderStatus.FULFILLED
    # The money can be refunded again.
    again = refund_create(order_id=paid.order_id, amount=None, staff="fin")
    assert again.amount == 10000
