"""An event is canceled (``payments.services.event_cancellation``): its ticket type stops
selling; every order holding it is refunded that type's part once (in localstripe), its tickets
for it voided at the stand-in vendor, its buyer e-mailed (read back from the emulator's SES);
unpaid ones are canceled; other types' orders are untouched. Started twice, run again, or
interrupted after a refund, no order is refunded twice; Stripe down or at its rate limit, the
job stops and resumes."""

from __future__ import annotations

import json
import urllib.request

import pytest

from devstack.stripe_limits import Limits
from orders.models import OrderStatus, TicketState
from orders.selectors import catalog_list, order_get, ticket_type_get
from payments.models import EventCancellation, EventCancellationOrder
from payments.services.event_cancellation import (
    event_cancellation_get,
    event_cancellation_preview,
    event_cancellation_run,
    event_cancellation_start,
    event_cancellations_continue,
)
from tests.admin_forms import action_form, confirm, confirmation_form
from tests.factories import (
    customer_create,
    event_build,
    intent_pay,
    order_body,
    order_create,
    stripe_object,
    ticket_type_create,
    webhook_post,
)
from tests.payments.stripe_down import stripe_unreachable

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def buyer(aws):
    return customer_create()


def _paid(aws, client, items):
    order = order_create(items=items)
    intent = intent_pay(aws, order.payment_intent_id)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))
    paid = order_get(order_id=order.order_id)
    assert paid.status == OrderStatus.FULFILLED, paid.status
    return paid


def _stripe_refunds(aws, order) -> list[int]:
    listed = stripe_object(aws, f"/v1/refunds?payment_intent={order.payment_intent_id}")
    return sorted(int(r["amount"]) for r in listed["data"])


def _vendor_tickets(stack) -> dict[str, str]:
    with urllib.request.urlopen(f"{stack.vendor_url}/_tickets", timeout=5) as response:
        return json.load(response)


@pytest.fixture
def event(aws, client):
    """The concert (``ga``, 50.00) and the parking (``park``, 10.00): two paid orders holding
    the concert (one of them the parking too), one only the parking, one unpaid concert."""
    ticket_type_create(sku="ga", name="Concert", unit_amount=5000, available=20)
    ticket_type_create(sku="park", name="Parking", unit_amount=1000, available=20)
    return {
        "two": _paid(aws, client, [("ga", 2)]),
        "mixed": _paid(aws, client, [("ga", 1), ("park", 1)]),
        "parking": _paid(aws, client, [("park", 1)]),
        "unpaid": order_create(items=[("ga", 1)]),
    }


def test_the_dry_run_counts_the_orders_and_the_money(event):
    preview = event_cancellation_preview(sku="ga")

    assert (preview.orders_to_refund, preview.amount) == (2, 15000)
    assert (preview.orders_to_cancel, preview.orders_waiting, preview.complete) == (1, 0, True)
    assert ticket_type_get(sku="ga").active  # nothing changed


def test_canceling_an_event_refunds_its_part_voids_its_tickets_and_tells_each_buyer(
    aws, client, event
):
    _, started = event_cancellation_start(sku="ga", staff="fin", note="Artist ill")
    # Locally the first run happens at once (in Lambda: an asynchronous task).

    done = event_cancellation_get(sku="ga")
    assert started and done.status == "done"
    assert (int(done.orders_refunded), int(done.refunded_amount)) == (2, 15000)
    assert (int(done.orders_canceled), int(done.orders_failed)) == (1, 0)
    two, mixed = (
        order_get(order_id=event["two"].order_id),
        order_get(order_id=event["mixed"].order_id),
    )
    assert (two.status, mixed.status) == (OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED)
    assert _stripe_refunds(aws, two) == [10000] and _stripe_refunds(aws, mixed) == [5000]
    at_vendor = _vendor_tickets(aws)
    assert {at_vendor[t.ticket_id] for t in two.tickets} == {"void"}
    assert {t.sku: at_vendor[t.ticket_id] for t in mixed.tickets} == {"ga": "void", "park": "valid"}
    assert {t.sku: t.state for t in mixed.tickets}["park"] in (None, TicketState.VALID)
    # Other events' orders are untouched; the unpaid one is canceled, its seat back.
    assert order_get(order_id=event["parking"].order_id).status == OrderStatus.FULFILLED
    assert _stripe_refunds(aws, event["parking"]) == []
    assert order_get(order_id=event["unpaid"].order_id).status == OrderStatus.CANCELED
    # It is not sold any more: out of the catalog, and an order for it is refused.
    assert "ga" not in {t.sku for t in catalog_list()}
    refused = client.post("/orders", json.dumps(order_body(items=[{"sku": "ga", "quantity": 1}])),
                          content_type="application/json")  # fmt: skip
    assert refused.status_code in (400, 409), refused.status_code
    # Each paid buyer reads why, once per order.
    told = [m for m in aws.sent_emails() if m["subject"].startswith("Canceled: Concert")]
    assert sorted(m["subject"] for m in told) == sorted(
        [f"Canceled: Concert. We refund USD 100.00 of order {two.order_id}",
         f"Canceled: Concert. We refund USD 50.00 of order {mixed.order_id}"]
    )  # fmt: skip
    assert all("Artist ill" not in m["text"] for m in told)  # staff's note stays with us


def test_started_twice_run_again_or_interrupted_after_a_refund_each_order_is_refunded_once(
    aws, event
):
    event_cancellation_start(sku="ga", staff="fin")
    again, started = event_cancellation_start(sku="ga", staff="other")
    assert not started and again.started_by == "fin"
    # A run that died after refunding one order, before writing its outcome: its outcome
    # missing, the job not done (what the record holds after such a crash).
    record = event_cancellation_get(sku="ga")
    key = (record.pk, EventCancellationOrder.sk_for(event["two"].order_id))
    EventCancellationOrder.get(*key).delete()
    record.update(
        actions=[
            EventCancellation.status.set("running"),
            EventCancellation.cursor_day.set(record.first_day),
            EventCancellation.orders_refunded.add(-1),
            EventCancellation.refunded_amount.add(-10000),
        ]
    )

    event_cancellation_run(sku="ga")
    event_cancellation_run(sku="ga")

    assert _stripe_refunds(aws, event["two"]) == [10000]
    assert _stripe_refunds(aws, event["mixed"]) == [5000]
    done = event_cancellation_get(sku="ga")
    assert (done.status, int(done.orders_refunded), int(done.refunded_amount)) == (
        "done",
        2,
        15000,
    )
    subjects = [m["subject"] for m in aws.sent_emails()]
    assert sum(s.startswith("Canceled: Concert") for s in subjects) == 2


def test_with_stripe_down_the_job_stops_and_the_next_run_finishes(aws, event, monkeypatch):
    with stripe_unreachable(monkeypatch):
        event_cancellation_start(sku="ga", staff="fin")
        stuck = event_cancellation_get(sku="ga")
    assert stuck.status == "running" and "Stripe could not be reached" in stuck.last_error
    assert ticket_type_get(sku="ga").event_canceled_at  # sales stopped all the same

    reports = event_cancellations_continue()  # the every-minute job, Stripe back

    assert reports["ga"].done
    assert _stripe_refunds(aws, event["two"]) == [10000]
    assert _stripe_refunds(aws, event["mixed"]) == [5000]


def test_the_refunds_stay_within_stripes_rate_limit(aws, client, stripe_wire):
    """Stripe's refund endpoint at 4 a second here: twelve orders' refunds wait for the budget
    and Stripe never answers 429."""
    from core.config import config_cache_clear

    stripe_wire.limits = Limits(account_rate=16, endpoint_rate=4)
    aws.provision_config({"stripe_endpoint_rate": "4", "stripe_account_rate": "16"})
    config_cache_clear()
    ticket_type_create(sku="ga", name="Concert", unit_amount=5000, available=20)
    orders = [_paid(aws, client, [("ga", 1)]) for _ in range(12)]
    stripe_wire.reset()

    event_cancellation_start(sku="ga", staff="fin")
    for _ in range(5):  # the runs a few minutes would make, if one ran out of time
        if event_cancellation_get(sku="ga").status == "done":
            break
        event_cancellations_continue()

    assert event_cancellation_get(sku="ga").status == "done"
    assert stripe_wire.stats()["limited"] == {}
    assert [_stripe_refunds(aws, o) for o in orders] == [[5000]] * 12


def test_a_ticket_already_scanned_is_refunded_and_staff_are_told(aws, event):
    scanned = event["two"].tickets[0].ticket_id
    request = urllib.request.Request(
        f"{aws.vendor_url}/_scan", data=json.dumps({"ticket_id": scanned}).encode(),
        method="POST", headers={"Content-Type": "application/json"},
    )  # fmt: skip
    urllib.request.urlopen(request, timeout=5).close()

    event_cancellation_start(sku="ga", staff="fin")

    two = order_get(order_id=event["two"].order_id)
    assert _stripe_refunds(aws, two) == [10000]  # the money is the buyer's all the same
    assert two.void_queue == "failed" and "scanned" in (two.void_failure_reason or "")


def test_finance_cancel_an_event_from_its_page_after_the_dry_run(event, staff_client):
    url = "/admin/orders/tickettype/ga/"
    support, finance = staff_client("support"), staff_client("finance")
    assert "action-cancel_event" not in support.get(url + "change/").content.decode()

    form = confirmation_form(finance, url, "cancel_event")
    page = finance.get(url + "action/cancel_event/", action_form(finance, url, "cancel_event"))
    text = page.content.decode()
    assert "Refunded: 2 paid order(s), USD 150.00 in all" in text
    assert "Canceled: 1 unpaid order(s)" in text
    assert form  # the confirmation asks why
    no_reason = confirm(finance, url, "cancel_event", answers={"note": ""})
    assert no_reason.status_code == 200 and not ticket_type_get(sku="ga").event_canceled_at

    done = confirm(finance, url, "cancel_event", answers={"note": "Artist ill"}, follow=True)

    shown = done.content.decode()
    assert "its orders are being refunded" in shown
    assert "2 order(s), USD 150.00" in shown and "done" in shown
    assert "action-cancel_event" not in finance.get(url + "change/").content.decode()
