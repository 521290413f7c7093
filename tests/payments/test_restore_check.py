"""``manage.py restore_check`` (the restore drill's check, docs/runbook.md) against the
emulator: orders created through the real service hold every invariant; a ticket type whose
seats no longer add up, and a paid order whose payment is gone, are each reported and fail the
command. The rehearsal runs it on restored copies of a deployed stage."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order, TicketType
from orders.services.creation import OrderLine, order_create_idempotent
from payments.models import Payment
from tests.factories import ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


def _order(quantity: int = 2) -> str:
    created = order_create_idempotent(
        idempotency_key=None,
        payload={"items": [{"sku": "ga", "quantity": quantity}]},
        email="buyer@example.com",
        name="Buyer",
        phone=None,
        lines=[OrderLine(sku="ga", quantity=quantity)],
        render=lambda created: {"order_id": created.order.order_id},
    )
    return created.body["order_id"]


def _check() -> dict:
    out = StringIO()
    call_command("restore_check", "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_orders_made_by_the_service_hold_every_invariant():
    ticket_type_create("ga", available=10)
    _order(2)
    _order(3)

    report = _check()

    assert report["problems"] == []
    assert report["counts"]["orders"] == 2
    assert report["counts"]["ticket-types"] == 1


def test_seats_that_do_not_add_up_are_reported():
    ticket_type_create("ga", available=10)
    _order(2)
    ticket_type = TicketType.get("ga")
    ticket_type.update(actions=[TicketType.available.set(9)])  # 2 in an order + 9 left != 10

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("restore_check", stdout=out)
    assert "seats of ga: 2 in orders + 9 left != capacity 10" in out.getvalue()


def test_a_paid_order_without_its_payment_is_reported():
    ticket_type_create("ga", available=10)
    order_id = _order(2)
    (order,) = Order.query(order_id)
    order.update(actions=[Order.status.set("paid")])
    for payment in Payment.scan():
        payment.delete()

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("restore_check", stdout=out)
    assert f"{order_id}: paid without its payment {order.payment_intent_id}" in out.getvalue()
