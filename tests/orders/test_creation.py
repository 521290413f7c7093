"""Order creation behind an ``Idempotency-Key`` (``orders.services.creation.
order_create_idempotent``), called directly against the emulator and localstripe: the first
answer is stored and replayed without creating anything again, a failed creation frees the
key, and no key means no record."""

from __future__ import annotations

import pytest

from core.models import IdempotencyRecord
from orders.models import Order, TicketType
from orders.services.creation import OrderLine, SoldOut, order_create_idempotent
from tests.factories import ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")

PAYLOAD = {"items": [{"sku": "ga", "quantity": 2}]}


class Renderer:
    """The API's serialiser stand-in: counts how often a body was made."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, created) -> dict:
        self.calls += 1
        return {"order_id": created.order.order_id, "render": self.calls}


def create(key: str | None, render: Renderer, quantity: int = 2):
    return order_create_idempotent(
        idempotency_key=key,
        payload={"items": [{"sku": "ga", "quantity": quantity}]},
        email="buyer@example.com",
        name="Buyer",
        phone=None,
        lines=[OrderLine(sku="ga", quantity=quantity)],
        render=render,
    )


def orders() -> list[Order]:
    return list(Order.scan())


def test_a_repeated_request_gets_the_stored_answer_and_creates_nothing_more():
    ticket_type_create("ga", available=10)
    render = Renderer()

    first = create("k-1", render)
    second = create("k-1", render)

    assert (first.status, first.replayed) == (201, False)
    assert (second.status, second.replayed) == (201, True)
    assert second.body == first.body == {"order_id": orders()[0].order_id, "render": 1}
    assert render.calls == 1
    assert len(orders()) == 1
    assert TicketType.get("ga").available == 8


def test_a_failed_creation_frees_the_key_so_the_same_request_can_succeed_later():
    ticket_type_create("ga", available=1)
    render = Renderer()

    with pytest.raises(SoldOut):
        create("k-2", render)
    TicketType.get("ga").update(actions=[TicketType.available.set(5)])  # seats came back
    retry = create("k-2", render)

    assert (retry.status, retry.replayed) == (201, False)
    assert [o.order_id for o in orders()] == [retry.body["order_id"]]


def test_without_a_key_each_request_creates_an_order_and_no_record_is_kept():
    ticket_type_create("ga", available=10)
    render = Renderer()

    first, second = create(None, render), create(None, render)

    assert first.body["order_id"] != second.body["order_id"]
    assert len(orders()) == 2
    assert list(IdempotencyRecord.scan(IdempotencyRecord.kind == "idempotency")) == []
