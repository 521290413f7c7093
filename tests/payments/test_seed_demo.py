"""Demo data: every order state is there, and seeding twice writes the same data again."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from orders.models import CATALOG_ACTIVE, ORDERS_BY_STATUS, OrderStatus, TicketType
from payments.models import Payment

pytestmark = pytest.mark.usefixtures("aws")


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _orders_by_status() -> dict[str, set[str]]:
    return {s.value: {o.order_id for o in ORDERS_BY_STATUS.query(s.value)} for s in OrderStatus}


def test_demo_data_has_orders_in_every_state_with_their_payments(aws):
    _seed()

    by_status = _orders_by_status()

    assert all(by_status[status.value] for status in OrderStatus), by_status
    for order_ids in by_status.values():
        for order_id in order_ids:
            assert list(Payment.order_index.query(order_id))
    assert {t.sku for t in TicketType.catalog_index.query(CATALOG_ACTIVE)} == {
        "ga-2027",
        "vip-2027",
        "stream-2027",
    }


def test_seeding_twice_adds_nothing(aws):
    _seed()
    first = _orders_by_status()

    _seed()

    assert _orders_by_status() == first


def test_create_tables_command_reports_tables_up_to_date(aws):
    out = io.StringIO()
    call_command("create_tables", stdout=out)

    assert "created" not in out.getvalue()
    assert "up to date  ticketstoheaven-local-orders" in out.getvalue()
