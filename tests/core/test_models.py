"""Each model survives a round trip through DynamoDB, and its indexes find it."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import PutError

from core.dynamodb import new_id, utc_now_iso
from core.models import BackOfficeRecord
from orders.models import (
    CATALOG_ACTIVE,
    ORDERS_BY_STATUS,
    Customer,
    FulfillmentAttempt,
    Order,
    OrderItem,
    Ticket,
    TicketType,
)
from payments.models import Payment, PaymentAttempt, Refund

pytestmark = pytest.mark.usefixtures("aws")

NOW = "2026-11-25T12:00:00.000000Z"


def _order(**overrides):
    values = {
        "order_id": new_id("ord"),
        "created_at": NOW,
        "customer_id": "cus_1",
        "customer_email_masked": "a***@example.com",
        "currency": "usd",
        "total_amount": 9800,
        "items": [OrderItem(sku="ga", name="GA", quantity=2, unit_amount=4900, amount=9800)],
        "updated_at": NOW,
    }
    return Order(**{**values, **overrides})


def test_an_order_round_trips_with_items_tickets_and_attempts(aws):
    order = _order(
        tickets=[Ticket(ticket_id="tkt_1", sku="ga", code="AB12")],
        fulfillment_attempts=[FulfillmentAttempt(at=NOW, outcome="retryable", detail="503")],
        payment_intent_id="pi_1",
    )
    order.save()

    loaded = Order.get(order.order_id, NOW)

    assert loaded.to_simple_dict() == order.to_simple_dict()
    assert loaded.status == "pending_payment"
    assert loaded.items[0].amount == 9800
    assert loaded.tickets[0].code == "AB12"
    assert loaded.version == 1


def test_orders_are_found_by_customer_and_by_status_newest_first(aws):
    older = _order(customer_id="cus_x", created_at="2026-11-24T00:00:00.000000Z", status="paid")
    newer = _order(customer_id="cus_x", created_at="2026-11-25T00:00:00.000000Z", status="paid")
    other = _order(customer_id="cus_y", status="canceled")
    for order in (older, newer, other):
        order.save()

    by_customer = list(Order.customer_index.query("cus_x", scan_index_forward=False))
    paid = list(ORDERS_BY_STATUS.query("paid", scan_index_forward=False))

    assert [o.order_id for o in by_customer] == [newer.order_id, older.order_id]
    assert [o.order_id for o in paid] == [newer.order_id, older.order_id]


def test_a_stale_order_write_is_refused(aws):
    order = _order()
    order.save()
    first, second = Order.get(order.order_id, NOW), Order.get(order.order_id, NOW)
    first.status = "paid"
    first.save()

    second.status = "canceled"
    with pytest.raises(PutError):
        second.save()
    assert Order.get(order.order_id, NOW).status == "paid"


def test_a_customer_round_trips_and_is_found_by_email(aws):
    customer = Customer(
        customer_id=new_id("cus"),
        email="ada@example.com",
        name="Ada",
        phone=None,
        created_at=NOW,
        updated_at=NOW,
    )
    customer.save()

    assert Customer.get(customer.customer_id).to_simple_dict() == customer.to_simple_dict()
    assert [c.customer_id for c in Customer.email_index.query("ada@example.com")] == [
        customer.customer_id
    ]


def test_the_catalog_index_lists_only_active_ticket_types(aws):
    for sku, active in (("a", True), ("b", False), ("c", True)):
        TicketType(
            sku=sku,
            name=sku.upper(),
            unit_amount=100,
            capacity=None if sku == "c" else 10,
            available=None if sku == "c" else 10,
            active=active,
            catalog_key=CATALOG_ACTIVE if active else None,
            created_at=NOW,
            updated_at=NOW,
        ).save()

    listed = list(TicketType.catalog_index.query(CATALOG_ACTIVE))

    assert [t.sku for t in listed] == ["a", "c"]
    assert TicketType.get("c").available is None
    assert TicketType.get("a").to_simple_dict()["available"] == 10


def test_a_payment_round_trips_and_is_found_by_order_and_status(aws):
    payment = Payment(
        payment_id="pi_123",
        created_at=NOW,
        order_id="ord_1",
        status="succeeded",
        amount=9800,
        currency="usd",
        charge_id="ch_1",
        attempts=[
            PaymentAttempt(at=NOW, status="requires_payment_method", failure_code="card_declined")
        ],
        refunds=[Refund(refund_id="re_1", amount=100, status="succeeded", created_at=NOW)],
        updated_at=NOW,
    )
    payment.save()

    assert Payment.get("pi_123", NOW).to_simple_dict() == payment.to_simple_dict()
    assert [p.payment_id for p in Payment.order_index.query("ord_1")] == ["pi_123"]
    assert [p.payment_id for p in Payment.status_index.query("succeeded")] == ["pi_123"]


def test_a_backoffice_record_round_trips_and_its_index_finds_it(aws):
    from datetime import UTC, datetime, timedelta

    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    BackOfficeRecord(
        pk="SESSION#abc",
        sk="RECORD",
        kind="session",
        gsi1pk="STAFF#ada",
        gsi1sk=utc_now_iso(),
        expires_at=expires,
    ).save()

    loaded = BackOfficeRecord.get("SESSION#abc", "RECORD")

    assert loaded.expires_at == expires
    assert [r.pk for r in BackOfficeRecord.gsi1.query("STAFF#ada")] == ["SESSION#abc"]


def test_new_ids_are_unguessable():
    ids = {new_id("ord") for _ in range(1000)}

    assert len(ids) == 1000
    assert all(len(i) >= 4 + 22 for i in ids)  # 128 random bits in URL-safe base64
