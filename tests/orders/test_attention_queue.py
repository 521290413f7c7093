"""The needs-attention queue (``/admin/attention/``): each reason an order's money and state
can disagree appears there, with the one action that resolves it, and that action (or, for a
dispute, Stripe's decision) takes the order out. Against localstripe and the stand-in vendor;
no webhook endpoint is registered with localstripe, so its own events go nowhere.
"""

from __future__ import annotations

import re
import socket
from datetime import timedelta

import pytest

from core.audit import SYSTEM_SCHEDULER, audit_entries_of
from core.dynamodb import iso_utc, utc_now
from core.dynamodb_requests import dynamodb_requests
from core.exceptions import PaymentProviderUnavailable
from orders.models import AttentionReason, OrderStatus
from orders.services.attention import order_attention_set
from orders.services.transitions import order_mark_canceled
from payments.models import Payment
from payments.services.refunds import refund_create
from payments.services.sync import payment_sync
from tests.factories import (
    event_build,
    intent_pay,
    order_create,
    order_get,
    payment_get,
    seats_available,
    stripe_object,
    ticket_type_create,
    webhook_post,
)
from tests.vendor import vendor_behave, vendor_requests

pytestmark = pytest.mark.usefixtures("aws")

QUEUE = "/admin/attention/"


@pytest.fixture(autouse=True)
def ticket_type(aws):
    return ticket_type_create(sku="ga", unit_amount=5000, available=10)


def queue(browser) -> dict[str, list[str]]:
    """The order ids listed under each reason, as staff see the page."""
    page = browser.get(QUEUE)
    assert page.status_code == 200
    html = page.content.decode()
    sections = re.split(r'<div class="module attention" id="', html)[1:]
    return {
        section.split('"', 1)[0]: re.findall(r'<tr data-order="([^"]+)"', section)
        for section in sections
    }


def section_form(browser, reason: AttentionReason) -> dict[str, str]:
    """The hidden fields of a reason's form as the page renders it (its one-time token)."""
    html = browser.get(QUEUE).content.decode()
    section = html.split(f'<div class="module attention" id="{reason.value}">', 1)[1]
    return dict(
        re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', section.split("</form>", 1)[0]
        )
    )


def act(browser, reason: AttentionReason, action: str, *order_ids: str, one: bool = True):
    """Open the queue and press the reason's action (one row's button, or the bulk one)."""
    data = {**section_form(browser, reason), "reason": reason.value, "action": action}
    if one:
        data["only"] = order_ids[0]
    else:
        data["order_id"] = list(order_ids)
    return browser.post(QUEUE, data, follow=True)


def _paid(aws, *, age_minutes: float = 60):
    order = order_create(items=[("ga", 2)], age_minutes=age_minutes)
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    return order_get(order.order_id)


# --- Paid, not fulfilled ---------------------------------------------------------------------


def test_paid_but_not_fulfilled_past_the_threshold_appears_and_retry_fulfills_them(
    aws, staff_client
):
    vendor_behave(aws, "unavailable", times=3)  # every first attempt fails, retried later
    stuck = [_paid(aws) for _ in range(2)]
    recent = _paid(aws, age_minutes=1)  # still within the threshold
    support = staff_client("support")
    assert {order_get(o.order_id).status for o in stuck} == {OrderStatus.PAID}

    before = queue(support)
    page = act(
        support,
        AttentionReason.PAID_NOT_FULFILLED,
        "retry",
        *(o.order_id for o in stuck),
        one=False,
    ).content.decode()

    assert sorted(before["paid_not_fulfilled"]) == sorted(o.order_id for o in stuck)
    assert recent.order_id not in before["paid_not_fulfilled"]
    assert page.count("was started again") == 2
    assert {order_get(o.order_id).status for o in stuck} == {OrderStatus.FULFILLED}
    assert queue(support)["paid_not_fulfilled"] == []


# --- Fulfillment failed ----------------------------------------------------------------------


def test_fulfillment_failed_appears_and_one_retry_fulfills_it(aws, staff_client):
    vendor_behave(aws, "reject", times=1)
    failed = _paid(aws)
    support = staff_client("support")

    before = queue(support)
    act(support, AttentionReason.FULFILLMENT_FAILED, "retry", failed.order_id)

    assert order_get(failed.order_id).status == OrderStatus.FULFILLED
    assert before["fulfillment_failed"] == [failed.order_id]
    assert queue(support)["fulfillment_failed"] == []
    actions = [
        e.action for e in audit_entries_of(object_type="orders.order", object_id=failed.order_id)
    ]
    assert "retry_fulfillment" in actions


# --- Paid after it was canceled --------------------------------------------------------------


def _paid_after_cancel(aws, quantity: int = 2):
    """Canceled here (expired) while the buyer's payment went through in Stripe."""
    order = order_create(items=[("ga", quantity)], age_minutes=60)
    order_mark_canceled(order_id=order.order_id, reason="expired", actor=SYSTEM_SCHEDULER)
    intent_pay(aws, order.payment_intent_id)
    result = payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    assert result.order_status == OrderStatus.CANCELED
    return order_get(order.order_id)


def test_paid_after_cancel_with_seats_free_is_reinstated(aws, staff_client):
    order = _paid_after_cancel(aws)
    assert seats_available("ga") == 10  # its seats went back when it was canceled
    finance = staff_client("finance")

    before = queue(finance)
    page = act(finance, AttentionReason.PAID_CANCELED, "reinstate_or_refund", order.order_id)

    assert before["paid_canceled"] == [order.order_id]
    assert "was reinstated" in page.content.decode()
    assert order_get(order.order_id).status == OrderStatus.FULFILLED
    assert seats_available("ga") == 8  # taken again
    assert queue(finance)["paid_canceled"] == []
    assert len(vendor_requests(aws)) == 1


def test_paid_after_cancel_with_the_seats_gone_is_refunded_in_full(aws, staff_client):
    order = _paid_after_cancel(aws)
    order_create(items=[("ga", 9)])  # someone else bought the seats meanwhile: 1 left
    finance = staff_client("finance")

    page = act(finance, AttentionReason.PAID_CANCELED, "reinstate_or_refund", order.order_id)

    assert "are gone, so its payment was refunded: USD 100.00" in page.content.decode()
    after = order_get(order.order_id)
    assert (after.status, after.refunded_amount) == (OrderStatus.CANCELED, 10000)
    assert seats_available("ga") == 1  # nothing taken
    listed = stripe_object(aws, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    assert [r["amount"] for r in listed["data"]] == [10000]
    assert queue(finance)["paid_canceled"] == []
    # A later sync of the payment does not put it back in the queue.
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    assert order_get(order.order_id).attention is None


def test_support_may_not_reinstate_or_refund(aws, staff_client):
    order = _paid_after_cancel(aws)
    support = staff_client("support")

    page = support.get(QUEUE).content.decode()
    answer = act(support, AttentionReason.PAID_CANCELED, "reinstate_or_refund", order.order_id)

    assert "Reinstate (seats free) or refund</button>" not in page
    assert answer.status_code == 403
    assert order_get(order.order_id).status == OrderStatus.CANCELED


# --- Refund not confirmed by Stripe ----------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refund_stripe_never_answered_appears_and_sync_settles_it(aws, staff_client, monkeypatch):
    order = _paid(aws)
    with monkeypatch.context() as unreachable:
        unreachable.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{_closed_port()}")
        with pytest.raises(PaymentProviderUnavailable):
            refund_create(order_id=order.order_id, amount=2000, staff="fin")
    support = staff_client("support")
    listed = queue(support)
    page = support.get(QUEUE).content.decode()
    # A minute later: no request that old is still waiting on Stripe.
    payment = payment_get(order.payment_intent_id)
    payment.refunds[0].created_at = iso_utc(utc_now() - timedelta(minutes=2))
    payment.save()

    answer = act(support, AttentionReason.REFUND_MISMATCH, "sync", order.order_id)

    assert listed["refund_mismatch"] == [order.order_id]
    assert "USD 20.00 asked for here has no answer from Stripe" in page
    assert "never reached Stripe" in answer.content.decode()
    (refund,) = payment_get(order.payment_intent_id).refunds
    assert (refund.status, refund.failure_reason) == (
        "failed",
        "never reached Stripe (it could not be reached)",
    )
    assert order_get(order.order_id).refunded_amount == 0
    assert queue(support)["refund_mismatch"] == []
    # And the money can be refunded now.
    assert refund_create(order_id=order.order_id, amount=2000, staff="fin").status == "succeeded"


# --- Dispute open ----------------------------------------------------------------------------


def _dispute(order, status: str, due_by: int) -> dict:
    # localstripe has no disputes: this is the object Stripe's charge.dispute.* events carry.
    return {
        "id": "dp_queue1",
        "object": "dispute",
        "amount": int(order.total_amount),
        "charge": None,
        "payment_intent": order.payment_intent_id,
        "reason": "fraudulent",
        "status": status,
        "evidence_details": {"due_by": due_by},
    }


def test_an_open_dispute_shows_its_evidence_due_date_until_stripe_closes_it(
    aws, client, staff_client
):
    order = _paid(aws)
    due = 1_900_000_000  # 2030-03-17 17:46:40 UTC
    viewer = staff_client("viewer")

    webhook_post(
        client, aws, event_build("charge.dispute.created", _dispute(order, "needs_response", due))
    )
    listed = queue(viewer)
    page = viewer.get(QUEUE).content.decode()
    webhook_post(client, aws, event_build("charge.dispute.closed", _dispute(order, "won", due)))

    assert listed["dispute_open"] == [order.order_id]
    assert "needs response; evidence due 2030-03-17 17:46" in page
    assert "https://dashboard.stripe.com/disputes/dp_queue1" in page
    assert queue(viewer)["dispute_open"] == []
    after = order_get(order.order_id)
    assert (after.disputed, after.dispute_status) == (True, "won")


# --- Pending, but the payment succeeded ------------------------------------------------------


def test_a_pending_order_whose_payment_succeeded_appears_and_sync_pays_it(aws, staff_client):
    order = order_create(items=[("ga", 2)], age_minutes=10)
    intent_pay(aws, order.payment_intent_id)
    # What a sync stopped after its first write leaves (a crash, a timeout): the order marked,
    # not paid.
    order_attention_set(
        order_id=order.order_id, reason=AttentionReason.PENDING_SUCCEEDED, only_pending=True
    )
    support = staff_client("support")

    before = queue(support)
    page = act(support, AttentionReason.PENDING_SUCCEEDED, "sync", order.order_id)

    assert before["pending_succeeded"] == [order.order_id]
    assert "marked paid, its seats sold" in page.content.decode()
    assert order_get(order.order_id).status == OrderStatus.FULFILLED
    assert queue(support)["pending_succeeded"] == []


# --- The page itself and the dashboard -------------------------------------------------------


def test_the_queue_reads_indexes_only_and_the_dashboard_links_its_counts(aws, staff_client):
    _paid_after_cancel(aws)
    viewer = staff_client("viewer")

    with dynamodb_requests() as calls:
        page = viewer.get(QUEUE)
    dashboard = viewer.get("/admin/dashboard/").content.decode()

    assert page.status_code == 200
    assert calls["Scan"] == 0 and calls["Query"] <= 7 + 2  # one per reason (+ the session)
    assert 'href="/admin/attention/#paid_canceled"' in dashboard
    assert re.search(r'data-reason="paid_canceled">1<', dashboard)
    assert re.search(r'data-reason="dispute_open">0<', dashboard)
    # A viewer sees the queue but no button.
    assert 'name="only"' not in page.content.decode()


def test_the_dashboard_and_the_queue_use_one_threshold():
    from orders import admin_dashboard
    from payments import admin_attention

    assert admin_dashboard.PAID_NOT_FULFILLED_AFTER == admin_attention.PAID_NOT_FULFILLED_AFTER


def test_the_payment_item_is_untouched_by_reading_the_queue(aws, staff_client):
    order = _paid_after_cancel(aws)
    version = payment_get(order.payment_intent_id).version
    staff_client("viewer").get(QUEUE)
    assert Payment.get(order.payment_intent_id, order.created_at).version == version
