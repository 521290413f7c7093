"""Issue 13, part 2: the Stripe event inbox. Every verified event is kept with its outcome and
the order it touched, audited on that order, listed in the admin newest first by outcome and
type, kept 30 days (TTL); a failed event can be replayed once, and the replay re-reads the
payment from Stripe. Stripe is localstripe; events are signed as Stripe signs them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.audit import SYSTEM_STRIPE, audit_entries_of
from core.dynamodb import utc_now
from orders.models import OrderStatus
from payments.models import EventOutcome, WebhookEventStatus
from payments.selectors import webhook_event_get
from payments.services.events import (
    EventNotReplayable,
    EventReplayFailed,
    webhook_event_replay,
)
from tests.admin_forms import act
from tests.factories import (
    PAID_OR_LATER,
    event_build,
    intent_pay,
    order_create,
    order_get,
    ticket_type_create,
    webhook_post,
)
from tests.payments.stripe_down import stripe_unreachable

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def order(aws):
    ticket_type_create(sku="ga", available=10)
    return order_create(items=[("ga", 2)])


def _paid_event(aws, order) -> dict:
    return event_build("payment_intent.succeeded", intent_pay(aws, order.payment_intent_id))


def _failed_event(aws, client, order, monkeypatch) -> dict:
    """A payment_intent.succeeded whose handling fails because Stripe cannot be reached."""
    event = _paid_event(aws, order)
    with stripe_unreachable(monkeypatch):
        response = webhook_post(client, aws, event)
    assert response.status_code == 503
    return event


def _order_timeline(order_id: str) -> list:
    return audit_entries_of(object_type="orders.order", object_id=order_id)


def test_an_applied_event_is_kept_with_its_order_and_written_on_the_orders_timeline(
    aws, client, order
):
    event = _paid_event(aws, order)

    webhook_post(client, aws, event)
    webhook_post(client, aws, event)  # Stripe delivers it again

    record = webhook_event_get(event_id=event["id"])
    assert (record.outcome, record.order_id, record.status) == (
        EventOutcome.APPLIED,
        order.order_id,
        WebhookEventStatus.DONE,
    )
    assert record.object_id == record.payment_intent_id == order.payment_intent_id
    assert (record.deliveries, record.duplicates) == (1, 1)
    # Retention: the table's TTL attribute, 30 days on.
    assert timedelta(days=29) < record.expires_at - utc_now() <= timedelta(days=30)
    stripe_lines = [e for e in _order_timeline(order.order_id) if e.action == "stripe_event"]
    assert len(stripe_lines) == 1  # the duplicate delivery wrote nothing
    assert stripe_lines[0].actor == SYSTEM_STRIPE
    assert "payment_intent.succeeded" in stripe_lines[0].summary
    assert "applied" in stripe_lines[0].summary


def test_a_failed_event_keeps_its_error_is_audited_once_and_stripes_retry_applies_it(
    aws, client, order, monkeypatch
):
    event = _failed_event(aws, client, order, monkeypatch)
    with stripe_unreachable(monkeypatch):
        assert webhook_post(client, aws, event).status_code == 503  # a retry, still down

    record = webhook_event_get(event_id=event["id"])
    assert (record.status, record.outcome, record.failures) == ("failed", "failed", 2)
    assert record.error.startswith("PaymentProviderUnavailable")
    assert record.order_id == order.order_id
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT
    failed_lines = [e for e in _order_timeline(order.order_id) if "failed" in e.summary]
    assert len(failed_lines) == 1

    retried = webhook_post(client, aws, event)  # Stripe's next retry, Stripe reachable again

    assert (retried.status_code, retried.json()["outcome"]) == (200, "applied")
    assert webhook_event_get(event_id=event["id"]).outcome == EventOutcome.APPLIED
    assert order_get(order.order_id).status in PAID_OR_LATER


def test_a_replay_re_reads_stripe_applies_once_and_is_audited(aws, client, order, monkeypatch):
    event = _failed_event(aws, client, order, monkeypatch)

    result = webhook_event_replay(event_id=event["id"], staff="ada")

    assert result.outcome == EventOutcome.APPLIED
    assert order_get(order.order_id).status in PAID_OR_LATER
    record = webhook_event_get(event_id=event["id"])
    assert (record.status, record.outcome, record.replayed_by) == ("done", "applied", "ada")
    with pytest.raises(EventNotReplayable):
        webhook_event_replay(event_id=event["id"], staff="ada")
    paid = [e for e in _order_timeline(order.order_id) if e.action == "paid"]
    assert len(paid) == 1 and paid[0].actor == "ada"
    replays = audit_entries_of(object_type="payments.stripeevent", object_id=event["id"])
    assert [(e.actor, e.action) for e in replays] == [("ada", "replay")]


def test_a_replay_reads_the_payment_now_not_the_stale_payload(aws, client, order, monkeypatch):
    # The event said "canceled" (stale: the buyer paid since); the replay applies what Stripe
    # says now, so the order is paid, never canceled.
    intent = intent_pay(aws, order.payment_intent_id)
    event = event_build("payment_intent.canceled", {**intent, "status": "canceled"})
    with stripe_unreachable(monkeypatch):
        assert webhook_post(client, aws, event).status_code == 503

    webhook_event_replay(event_id=event["id"], staff="ada")

    assert order_get(order.order_id).status in PAID_OR_LATER


def test_a_replay_while_stripe_is_down_leaves_the_event_failed(aws, client, order, monkeypatch):
    event = _failed_event(aws, client, order, monkeypatch)

    with stripe_unreachable(monkeypatch), pytest.raises(EventReplayFailed):
        webhook_event_replay(event_id=event["id"], staff="ada")

    record = webhook_event_get(event_id=event["id"])
    assert (record.status, record.failures) == ("failed", 2)
    assert order_get(order.order_id).status == OrderStatus.PENDING_PAYMENT


def test_an_event_that_did_not_fail_cannot_be_replayed(aws, client, order):
    event = _paid_event(aws, order)
    webhook_post(client, aws, event)

    with pytest.raises(EventNotReplayable):
        webhook_event_replay(event_id=event["id"], staff="ada")
    with pytest.raises(EventNotReplayable):
        webhook_event_replay(event_id="evt_never_seen", staff="ada")


# --- The admin's list -----------------------------------------------------------------------------


def test_the_admin_lists_events_newest_first_filtered_by_outcome_and_type(
    aws, client, order, staff_client, monkeypatch
):
    failed = _failed_event(aws, client, order, monkeypatch)
    ignored = event_build("customer.created", {"id": "cus_x", "object": "customer"})
    webhook_post(client, aws, ignored)
    unknown = event_build("charge.refunded", {"id": "ch_unknown", "object": "charge"})
    webhook_post(client, aws, unknown)
    browser = staff_client("viewer")

    everything = browser.get("/admin/payments/stripeevent/").content.decode()
    only_failed = browser.get("/admin/payments/stripeevent/?outcome=failed").content.decode()
    refunds = browser.get("/admin/payments/stripeevent/?type=charge.refunded").content.decode()
    both = browser.get(
        "/admin/payments/stripeevent/?type=charge.refunded&outcome=failed"
    ).content.decode()

    positions = [everything.index(e["id"]) for e in (unknown, ignored, failed)]
    assert positions == sorted(positions)  # newest first
    assert failed["id"] in only_failed and ignored["id"] not in only_failed
    assert f'href="/admin/orders/order/{order.order_id}/change/"' in only_failed
    assert unknown["id"] in refunds and failed["id"] not in refunds
    assert unknown["id"] not in both
    page = browser.get(f"/admin/payments/stripeevent/{failed['id']}/change/").content.decode()
    assert "PaymentProviderUnavailable" in page
    assert 'id="action-replay"' not in page  # a viewer may look, not replay


def test_support_replays_a_failed_event_from_its_admin_page(
    aws, client, order, staff_client, monkeypatch
):
    event = _failed_event(aws, client, order, monkeypatch)
    browser = staff_client("support")
    url = f"/admin/payments/stripeevent/{event['id']}/change/"
    assert "Replay" in browser.get(url).content.decode()

    response = act(browser, f"/admin/payments/stripeevent/{event['id']}/", "replay", follow=True)

    assert response.status_code == 200
    assert "applied" in response.content.decode()
    assert order_get(order.order_id).status in PAID_OR_LATER
