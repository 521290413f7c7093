"""Failure points where the full matrix (``bench/faults.py``) found an invariant broken, kept
as regression tests after the fix. Each names the request it fails by what it is in the
flow's clean run, so it stays on that step when the flow gains or loses a request."""

from __future__ import annotations

import pytest

from bench.faults import FLOWS, flow_count, run_point

pytestmark = pytest.mark.usefixtures("aws")


def _nth(sent, operation: str, nth: int = 1) -> int:
    """The number of the ``nth`` request ``operation`` in a run."""
    return [r.n for r in sent if r.operation == operation][nth - 1]


def test_a_crash_right_after_the_reconciliation_paid_an_order_still_gets_it_fulfilled(harness):
    """The reconciliation's sync paid the order (one transaction), then the process died
    before queuing its fulfillment: no webhook will come to sync it again, so it stayed
    ``paid``, out of the fulfillment queue, forever. The sweep now starts such orders."""
    flow = FLOWS["reconciliation"]
    clean = flow_count(harness, flow)

    result = run_point(harness, flow, "crash", _nth(clean.sent, "TransactWriteItems"))

    assert result.notes[:1] == ["crashed"]
    assert result.violations == [], result.violations


def _after(sent, previous: str, operation: str) -> int:
    """The number of the first request ``operation`` after the first ``previous``."""
    start = next(r.n for r in sent if r.operation == previous)
    return next(r.n for r in sent if r.n > start and r.operation == operation)


def test_a_refund_whose_answer_was_not_recorded_is_matched_by_stripes_webhook(harness):
    """Stripe made the staff refund, then writing its answer over the reservation failed
    (here a TransactionConflict; a crash does the same): the order showed the refund once the
    webhook came, so nobody refunded again, and the reservation stayed ``reserved`` for good,
    counted on top of Stripe's refund in what is left to refund. Stripe's refund now carries
    the reservation's key in its metadata, and the webhook puts it in the reservation's
    place."""
    flow = FLOWS["staff_refund"]
    clean = flow_count(harness, flow)

    at = _after(clean.sent, "POST /v1/refunds", "PutItem")
    result = run_point(harness, flow, "conflict", at)

    assert result.fired is not None and result.fired.operation == "PutItem"
    assert "staff refunded again" not in result.notes
    assert result.violations == [], result.violations


def test_a_refund_reservation_whose_answer_was_lost_is_not_reserved_twice(harness):
    """The reservation's write was applied and its answer lost: botocore's retry failed the
    version condition, the change was re-done on a fresh read and reserved a second refund.
    The first stayed ``reserved``, and the next refund of the order would have sent it to
    Stripe: a refund staff asked for once, made twice. The re-done change now finds its own
    reservation."""
    flow = FLOWS["staff_refund"]
    clean = flow_count(harness, flow)

    at = _nth(clean.sent, "PutItem")
    result = run_point(harness, flow, "lose", at)

    assert result.fired is not None and result.fired.operation == "PutItem"
    assert result.violations == [], result.violations


def test_an_audit_entry_whose_answer_was_lost_is_written_once_without_an_error(harness):
    """DynamoDB wrote the entry and its answer was lost; the SDK sent the put again, which
    failed its "new item" condition: the action that had worked (an e-mail sent, found in the
    on-sale bench under load) then raised, and its caller logged a failure."""
    from core.audit import audit_entries_of, audit_record

    harness.plan.arm("lose", 1)
    try:
        audit_record(staff="system#mail", object_type="orders.order", object_id="ord_lost",
                     object_repr="ord_lost", action="email", summary="sent")  # fmt: skip
    finally:
        sent = harness.plan.disarm()

    assert harness.plan.fired is not None and [r.operation for r in sent] == ["PutItem"] * 2
    entries = audit_entries_of(object_type="orders.order", object_id="ord_lost")
    assert [e.summary for e in entries] == ["sent"]


def test_a_pay_press_whose_record_failed_keeps_the_order_payable(harness):
    """The buyer pressed "Pay": Stripe made the PaymentIntent, then recording it on the order
    failed (a TransactionConflict). The intent was canceled on the spot, so "Pay" again got
    the same, canceled intent from Stripe (the same idempotency key) and the buyer lost the
    order. The intent now stays open for the next press to record."""
    flow = FLOWS["payment_open"]
    clean = flow_count(harness, flow)

    result = run_point(harness, flow, "conflict", _nth(clean.sent, "TransactWriteItems"))

    assert result.fired is not None and result.fired.operation == "TransactWriteItems"
    assert result.violations == [], result.violations


def test_an_admin_message_that_cannot_be_stored_leaves_the_done_action_without_an_error(
    harness,
):
    """Staff add a note; the note is written, then storing the page's "note added" message for
    the next page fails (a DynamoDB write that is not retried). The answer was "503 service
    unavailable" for an action that had worked, inviting staff to do it again; now the next
    page comes, without that message."""
    from orders.selectors import order_get, order_timeline
    from tests.admin_forms import action_form
    from tests.factories import paid_order_create

    order = paid_order_create(email="ada@example.com")
    url = f"/admin/orders/order/{order.order_id}/"
    browser = harness.staff_client("support")

    def add_note(text: str, fault: str | None = None, at: int = 0):
        form = action_form(browser, url, "add_note")
        harness.plan.arm(fault, at)
        try:
            answer = browser.post(f"{url}action/add_note/", {**form, "text": text})
        finally:
            sent = harness.plan.disarm()
        return answer, sent

    clean, sent = add_note("First call.")
    assert clean.status_code == 302
    message_put = [r.n for r in sent if r.operation == "PutItem"][-1]  # the message, last

    answer, _ = add_note("Second call.", "conflict", message_put)

    assert harness.plan.fired is not None and harness.plan.fired.operation == "PutItem"
    assert answer.status_code == 302
    notes = [e.detail for e in order_timeline(order=order_get(order_id=order.order_id))
             if e.kind == "note"]  # fmt: skip
    assert notes == ["First call.", "Second call."]
    page = browser.get(answer["Location"])
    assert page.status_code == 200
