"""The payment item's history (``payments.services.records``), called directly against the
emulator: each change is applied once however often it is repeated, a payment's status never
moves backwards, and a change made from a stale read is re-done, not lost."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import TransactWriteError

from core.dynamodb import transaction
from integrations.stripe_client import RefundResult
from payments.models import Payment
from payments.selectors import payment_get
from payments.services.records import (
    payment_change,
    payment_record_attempt,
    payment_record_canceled,
    payment_record_dispute,
    payment_record_new,
    payment_record_refunds,
    payment_record_success,
)

pytestmark = pytest.mark.usefixtures("aws")

PI = "pi_records0001"
CREATED_AT = "2026-11-25T10:00:00.000000Z"


@pytest.fixture
def payment() -> Payment:
    with transaction() as writes:
        payment_record_new(
            writes,
            payment_intent_id=PI,
            order_id="ord_records0001",
            status="requires_payment_method",
            amount=5000,
            currency="usd",
            at=CREATED_AT,
        )
    return current()


def current() -> Payment:
    found = payment_get(payment_intent_id=PI)
    assert found is not None
    return found


def test_a_new_payment_starts_with_its_first_attempt_and_is_never_overwritten(payment):
    assert (payment.order_id, payment.status, payment.amount) == (
        "ord_records0001",
        "requires_payment_method",
        5000,
    )
    assert [a.status for a in payment.attempts] == ["requires_payment_method"]

    with pytest.raises(TransactWriteError), transaction() as writes:
        payment_record_new(
            writes,
            payment_intent_id=PI,
            order_id="ord_someone_else",
            status="requires_payment_method",
            amount=1,
            currency="usd",
            at=CREATED_AT,
        )
    assert current().order_id == "ord_records0001"


def test_success_is_recorded_once(payment):
    assert payment_record_success(payment_intent_id=PI, charge_id="ch_1") is True
    assert payment_record_success(payment_intent_id=PI, charge_id="ch_1") is False

    paid = current()
    assert (paid.status, paid.charge_id) == ("succeeded", "ch_1")
    assert [a.status for a in paid.attempts] == ["requires_payment_method", "succeeded"]


def test_a_failed_attempt_is_recorded_once_per_event_with_a_short_message(payment):
    kwargs = dict(
        payment_intent_id=PI,
        event_id="evt_1",
        status="requires_payment_method",
        failure_code="card_declined",
        failure_message="Your card was declined. " * 20,
    )

    assert payment_record_attempt(**kwargs) is True
    assert payment_record_attempt(**kwargs) is False  # the same event delivered again

    attempts = current().attempts
    assert [(a.event_id, a.failure_code) for a in attempts] == [
        (None, None),
        ("evt_1", "card_declined"),
    ]
    assert len(attempts[1].failure_message) == 200


def test_a_late_failure_or_cancel_never_moves_a_paid_payment_back(payment):
    payment_record_success(payment_intent_id=PI, charge_id="ch_1")

    late_failure = payment_record_attempt(
        payment_intent_id=PI,
        event_id="evt_late",
        status="requires_payment_method",
        failure_code="card_declined",
        failure_message=None,
    )
    late_cancel = payment_record_canceled(payment_intent_id=PI)

    assert late_failure is True  # kept in the history...
    assert late_cancel is False
    assert current().status == "succeeded"  # ...but the status stays


def test_a_cancel_is_recorded_once(payment):
    assert payment_record_canceled(payment_intent_id=PI) is True
    assert payment_record_canceled(payment_intent_id=PI) is False
    assert current().status == "canceled"


def test_a_dispute_is_recorded_once(payment):
    assert payment_record_dispute(payment_intent_id=PI) is True
    assert payment_record_dispute(payment_intent_id=PI) is False
    assert current().disputed is True


def test_refunds_follow_stripe_and_the_refunded_total_is_what_succeeded(payment):
    pending = RefundResult(id="re_1", status="pending", amount=1000, payment_intent_id=PI)
    done = RefundResult(id="re_1", status="succeeded", amount=1000, payment_intent_id=PI)
    elsewhere = RefundResult(id="re_2", status="succeeded", amount=500, payment_intent_id=PI)
    failed = RefundResult(
        id="re_2",
        status="failed",
        amount=500,
        payment_intent_id=PI,
        failure_reason="expired_or_canceled_card",
    )

    payment_record_refunds(payment_intent_id=PI, refunds=[pending])
    assert current().amount_refunded == 0  # pending: not refunded yet
    payment_record_refunds(payment_intent_id=PI, refunds=[done, elsewhere])
    payment_record_refunds(payment_intent_id=PI, refunds=[done, elsewhere])  # the same again
    refunded = current()
    assert [(r.refund_id, r.status, r.amount) for r in refunded.refunds] == [
        ("re_1", "succeeded", 1000),
        ("re_2", "succeeded", 500),
    ]
    assert refunded.amount_refunded == 1500

    # A refund that fails later (its refund.updated) is taken off the total, with the reason.
    payment_record_refunds(payment_intent_id=PI, refunds=[done, failed])
    after = current()
    assert after.amount_refunded == 1000
    assert after.refunds[1].failure_reason == "expired_or_canceled_card"


def test_a_change_made_from_a_stale_read_is_redone_on_a_fresh_one(payment):
    stale = current()
    payment_record_dispute(payment_intent_id=PI)  # someone else, meanwhile

    changed = payment_record_success(payment_intent_id=PI, charge_id="ch_1", current=stale)

    after = current()
    assert changed is True
    assert (after.status, after.disputed) == ("succeeded", True)  # neither change lost


def test_a_change_to_a_payment_that_does_not_exist_writes_nothing(aws):
    assert payment_record_success(payment_intent_id="pi_nobody", charge_id="ch_1") is False
    assert payment_change(payment_intent_id="pi_nobody", change=lambda p: True) is False
    assert payment_get(payment_intent_id="pi_nobody") is None
