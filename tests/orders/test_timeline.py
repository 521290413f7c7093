"""``order_timeline`` and ``orders.services.notes``: an order's story from its records, in
time order, each line with who or what did it; notes are audited and validated."""

from __future__ import annotations

import pytest

from core.audit import audit_history
from core.exceptions import ValidationFailed
from orders import selectors
from orders.services.notes import NOTE_MAX_LENGTH, customer_note_add, order_note_add

pytestmark = pytest.mark.usefixtures("aws")


def test_a_staff_cancel_shows_with_its_reason_and_who_after_the_order_was_placed(aws):
    from orders.actions import order_cancel
    from tests.factories import order_create, ticket_type_create

    ticket_type_create("ga")
    order = order_create(items=[("ga", 1)])

    order_cancel(order_id=order.order_id, staff="sam", reason="buyer asked on the phone")

    events = selectors.order_timeline(order=selectors.order_get(order_id=order.order_id))
    assert events[0].kind == "created" and events[0].actor == "Buyer (storefront)"
    cancel = next(e for e in events if e.kind == "cancel")
    assert (cancel.actor, cancel.reason) == ("sam", "buyer asked on the phone")
    assert [e.at for e in events] == sorted(e.at for e in events)


def test_notes_are_on_the_timeline_and_in_history_and_empty_ones_are_refused(aws):
    from tests.factories import paid_order_create

    order = paid_order_create(email="ada@example.com")
    customer = selectors.customer_get(customer_id=order.customer_id, consistent=True)

    order_note_add(order=order, staff="sam", text="  Called twice.\nWants a receipt.  ")
    customer_note_add(customer=customer, staff="fin", text="VIP")
    with pytest.raises(ValidationFailed):
        order_note_add(order=order, staff="sam", text=" \n ")
    with pytest.raises(ValidationFailed):
        order_note_add(order=order, staff="sam", text="x" * (NOTE_MAX_LENGTH + 1))

    notes = [e for e in selectors.order_timeline(order=order) if e.kind == "note"]
    assert [(e.title, e.actor, e.detail) for e in notes] == [
        ("Note", "sam", "Called twice.\nWants a receipt."),
        ("Note on the customer", "fin", "VIP"),
    ]
    history = audit_history(object_type="orders.order", object_id=order.order_id)
    assert [(h.actor, h.action, h.summary) for h in history] == [
        ("sam", "note", "Note: Called twice.")
    ]
    customer_lines = selectors.customer_timeline(customer_id=customer.customer_id)
    assert [(e.kind, e.detail) for e in customer_lines] == [("note", "VIP")]


def test_stripe_event_outcomes_recorded_on_the_order_show_as_webhook_lines(aws):
    from core.audit import SYSTEM_STRIPE, audit_record
    from tests.factories import paid_order_create

    order = paid_order_create()
    # What the payments app's event inbox records on the order for each Stripe event.
    audit_record(
        staff=SYSTEM_STRIPE,
        object_type="orders.order",
        object_id=order.order_id,
        object_repr=order.order_id,
        action="stripe_event",
        summary="Stripe webhook: payment_intent.succeeded (evt_1) applied",
        after={"event_id": "evt_1", "event_type": "payment_intent.succeeded", "outcome": "applied"},
    )

    webhook = next(e for e in selectors.order_timeline(order=order) if e.kind == "webhook")
    assert webhook.title == "Stripe event payment_intent.succeeded"
    assert webhook.detail == "Applied (evt_1)"
    assert (webhook.actor, webhook.system) == ("Stripe (system)", True)
