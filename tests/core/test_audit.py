"""The one audit log: services record staff actions and system events alike, an order's whole
story reads from one place (and the admin's History page shows it), and entries written
before it are moved in by a maintenance command."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from core.audit import audit_entries_of, audit_history, audit_recent_by
from orders.actions import orders_expire
from orders.models import LegacyOrderAuditEntry
from payments.services.refunds import refund_create
from tests.admin_forms import confirm
from tests.factories import (
    event_build,
    intent_pay,
    order_create,
    order_get,
    payment_get,
    stripe_object,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def ticket_type(aws):
    return ticket_type_create(sku="ga", unit_amount=5000, available=10)


def _story(order_id: str) -> list[tuple[str, str]]:
    return [
        (e.staff, e.action)
        for e in audit_entries_of(object_type="orders.order", object_id=order_id)
    ]


def test_an_orders_whole_story_reads_from_one_place_once_per_change(aws, client):
    order = order_create(items=[("ga", 2)])
    intent = intent_pay(aws, order.payment_intent_id)
    paid = event_build("payment_intent.succeeded", intent)
    webhook_post(client, aws, paid)
    webhook_post(client, aws, event_build("payment_intent.succeeded", intent))  # redelivered

    refund_create(order_id=order.order_id, amount=2000, staff="fin")
    charge_id = payment_get(order.payment_intent_id).charge_id
    charge = stripe_object(aws, f"/v1/charges/{charge_id}")
    webhook_post(client, aws, event_build("charge.refunded", charge))  # confirms: no change
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": order.payment_intent_id}
    webhook_post(client, aws, event_build("charge.dispute.created", dispute))

    # Each event also has its line (type and outcome: issue 13's event inbox); the changes:
    story = _story(order.order_id)
    assert story.count(("Stripe (system)", "stripe_event")) == 4
    assert [line for line in story if line[1] != "stripe_event"] == [
        ("Stripe (system)", "paid"),
        ("Fulfillment (system)", "fulfillment_attempt"),
        ("fin", "refund"),
        ("fin", "refunded"),
        ("Stripe (system)", "dispute"),
    ]
    entries = [
        e
        for e in audit_entries_of(object_type="orders.order", object_id=order.order_id)
        if e.action != "stripe_event"
    ]
    assert (entries[0].before["status"], entries[0].after["status"]) == ("pending_payment", "paid")
    assert entries[1].after == {"fulfillment_status": "fulfilled", "status": "fulfilled"}
    assert entries[3].after == {"status": "partially_refunded", "refunded_amount": 2000}
    # System events stay out of a staff member's "Recent actions"; the staff refund is there.
    assert [e.action for e in audit_recent_by(staff="fin")] == ["refunded", "refund"]


def test_a_staff_cancel_from_the_admin_is_recorded_once_and_shown_in_history(staff_client):
    order = order_create(items=[("ga", 3)])
    support = staff_client("support", "sam")

    confirm(  # the confirmation page's "Yes", with the reason it asks for
        support,
        f"/admin/orders/order/{order.order_id}/",
        "cancel",
        answers={"reason": "requested_by_customer", "note": "asked by phone"},
        follow=True,
    )
    history = support.get(f"/admin/orders/order/{order.order_id}/history/").content.decode()

    assert order_get(order.order_id).status == "canceled"
    (entry,) = audit_history(object_type="orders.order", object_id=order.order_id)
    assert (entry.staff, entry.action, entry.reason) == (
        "sam",
        "cancel",
        "Requested by the customer: asked by phone",
    )
    assert "Order canceled" in history and "sam" in history and "pending_payment" in history


def test_an_expired_order_is_recorded_as_the_schedulers_doing(aws):
    order = order_create(items=[("ga", 1)], age_minutes=120)

    orders_expire(older_than_minutes=30)
    orders_expire(older_than_minutes=30)  # the next run finds nothing to do

    (entry,) = audit_entries_of(object_type="orders.order", object_id=order.order_id)
    assert (entry.staff, entry.action, entry.reason) == ("Scheduler (system)", "expire", "expired")
    assert entry.after["status"] == "canceled"


def _legacy(order_id: str, at: str, action: str, before: dict, after: dict) -> None:
    LegacyOrderAuditEntry(
        pk=f"AUDIT#order#{order_id}",
        sk=f"{at}#0a1b2c3d",
        kind="audit",
        staff="grace",
        action=action,
        before=json.dumps(before),
        after=json.dumps(after),
        at=at,
    ).save()


def test_entries_written_before_the_one_log_are_moved_into_it_once(aws, staff_client):
    order = order_create(items=[("ga", 1)])
    _legacy(
        order.order_id,
        "2026-01-02T03:04:05.000001Z",
        "cancel",
        {"status": "pending_payment"},
        {"status": "canceled", "reason": "customer asked"},
    )
    _legacy(
        order.order_id,
        "2026-01-03T03:04:05.000001Z",
        "refund",
        {"status": "paid", "refunded_amount": 0},
        {"refund_id": "re_1", "amount": 500, "refund_status": "succeeded"},
    )
    out = io.StringIO()

    call_command("audit_entries_migrate", stdout=out)
    call_command("audit_entries_migrate", stdout=out)  # safe to run again: nothing left

    assert out.getvalue().splitlines() == [
        "moved 2 audit entries into the audit log (0 moved meanwhile by another run)",
        "moved 0 audit entries into the audit log (0 moved meanwhile by another run)",
    ]
    cancel, refund = audit_entries_of(object_type="orders.order", object_id=order.order_id)
    assert (cancel.staff, cancel.action, cancel.reason) == ("grace", "cancel", "customer asked")
    assert cancel.after == {"status": "canceled"} and refund.after["amount"] == 500
    assert [e.action for e in audit_recent_by(staff="grace")] == ["refund", "cancel"]
    history = staff_client("viewer").get(f"/admin/orders/order/{order.order_id}/history/")
    assert "Refund requested" in history.content.decode()
    legacy_prefix = LegacyOrderAuditEntry.pk.startswith("AUDIT#order#")
    assert list(LegacyOrderAuditEntry.scan(legacy_prefix)) == []
