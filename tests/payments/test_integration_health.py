"""Issue 13, part 3: integration health, visible. Each condition shows as a banner on the
admin index and the dashboard while it lasts and goes when it ends: webhooks failing their
signature check, webhooks silent while orders are being paid, Stripe unreachable, the
vendor's circuit open. Each also emits the metric its CloudWatch alarm watches
(infra/alarms.tf; tests/test_infra.py checks every emitted metric is declared there)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.exceptions import PaymentProviderUnavailable
from orders.services.fulfillment import BREAKER_COOLDOWN, fulfillment_start
from orders.services.fulfillment.sweeper import fulfillment_sweep
from payments.services.reconcile import payments_reconcile
from payments.services.sync import payment_sync
from tests.factories import (
    event_build,
    intent_pay,
    metrics_in,
    order_create,
    order_get,
    paid_order_create,
    ticket_type_create,
    webhook_post,
)
from tests.payments.stripe_down import stripe_unreachable
from tests.vendor import vendor_behave

pytestmark = pytest.mark.usefixtures("aws")

PAGES = ["/admin/", "/admin/dashboard/"]


@pytest.fixture
def staff(staff_client):
    return staff_client("viewer")


def _banners(browser) -> dict[str, set[str]]:
    """The health banners' ids on each page."""
    found = {}
    for page in PAGES:
        html = browser.get(page).content.decode()
        found[page] = {
            part.split('"', 1)[0] for part in html.split('id="health-')[1:] if part[0] != "b"
        }
    return found


def _shown(browser, key: str) -> bool:
    banners = _banners(browser)
    on = [key in ids for ids in banners.values()]
    assert on[0] == on[1], banners  # the index and the dashboard agree
    return on[0]


def _good_event(client, aws):
    return webhook_post(client, aws, event_build("customer.created", {"id": "cus_1"}))


def test_no_banner_when_all_is_well(aws, client, staff):
    _good_event(client, aws)

    assert _banners(staff) == {page: set() for page in PAGES}


def test_signature_failures_show_until_a_verified_event_arrives(aws, client, staff, capsys):
    event = event_build("customer.created", {"id": "cus_1"})
    assert webhook_post(client, aws, event, header="t=1,v1=forged").status_code == 400
    webhook_post(client, aws, event, header="t=1,v1=forged")

    assert _shown(staff, "webhook-signature-failures")
    page = staff.get("/admin/").content.decode()
    assert "2 refused since the last good event" in page
    assert metrics_in(capsys.readouterr().out, "WebhookSignatureFailures") == 2

    assert _good_event(client, aws).status_code == 200

    assert not _shown(staff, "webhook-signature-failures")


def test_a_payment_found_by_the_job_with_no_webhook_shows_silence_until_an_event_arrives(
    aws, client, staff, capsys
):
    ticket_type_create(sku="ga", available=5)
    order = order_create(items=[("ga", 1)], age_minutes=10)
    intent_pay(aws, order.payment_intent_id)  # paid in Stripe; its event never reaches us

    report = payments_reconcile()

    assert report.changed == [order.order_id]
    assert _shown(staff, "webhook-silent")
    assert metrics_in(capsys.readouterr().out, "PaymentsWithoutWebhook") == 1

    _good_event(client, aws)

    assert not _shown(staff, "webhook-silent")


def test_a_staff_sync_or_a_webhook_paying_an_order_is_not_silence(aws, client, staff):
    ticket_type_create(sku="ga", available=5)
    order = order_create(items=[("ga", 1)], age_minutes=10)
    intent_pay(aws, order.payment_intent_id)

    payment_sync(payment_intent_id=order.payment_intent_id, actor="ada")

    assert not _shown(staff, "webhook-silent")


def test_stripe_unreachable_shows_while_calls_fail_and_goes_when_one_succeeds(
    aws, staff, monkeypatch, capsys
):
    ticket_type_create(sku="ga", available=5)
    order = order_create(items=[("ga", 1)])

    with stripe_unreachable(monkeypatch), pytest.raises(PaymentProviderUnavailable):
        payment_sync(payment_intent_id=order.payment_intent_id, actor="ada")

    assert _shown(staff, "stripe-unreachable")
    assert metrics_in(capsys.readouterr().out, "StripeUnavailable") == 1

    payment_sync(payment_intent_id=order.payment_intent_id, actor="ada")

    assert not _shown(staff, "stripe-unreachable")
    assert order_get(order.order_id).status == "pending_payment"


def test_the_vendors_open_circuit_shows_until_a_probe_succeeds(aws, staff, capsys):
    orders = [paid_order_create(email=f"o{n}@example.com") for n in range(6)]
    vendor_behave(aws, "unavailable")
    for order in orders:
        fulfillment_start(order_id=order.order_id)

    assert _shown(staff, "vendor-circuit-open")
    assert metrics_in(capsys.readouterr().out, "VendorCircuitOpened") >= 1

    vendor_behave(aws, "ok")
    fulfillment_sweep(now=datetime.now(UTC) + timedelta(hours=1) + BREAKER_COOLDOWN)

    assert not _shown(staff, "vendor-circuit-open")
