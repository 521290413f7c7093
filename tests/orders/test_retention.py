"""The retention policy (``orders.services.retention``, SSM ``retention_personal_data_months``
and ``retention_audit_years``): customers whose last order is older than the policy are
erased by the daily job, once each, day by day from where the last run stopped; a customer
with money in flight is held and tried again; audit lines get their TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from core.audit import audit_entries_of, audit_record
from core.backoffice import RETENTION_CURSOR, RETENTION_HELD
from core.config import config_cache_clear
from core.dynamodb import iso_utc, new_id
from core.models import AuditEntry
from orders.models import (
    RETENTION_PARTITION,
    Customer,
    Order,
    OrderItem,
    RetentionCursor,
    RetentionHeld,
)
from orders.services.retention import months_before, retention_apply, retention_job

pytestmark = pytest.mark.usefixtures("aws")

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _policy(aws, months: int, years: int = 7) -> None:
    aws.provision_config(
        {"retention_personal_data_months": str(months), "retention_audit_years": str(years)}
    )
    config_cache_clear()


def _customer(name: str, *orders: tuple[int, str]) -> Customer:
    """A customer with orders ``(days ago, status)``, each with an audit line."""
    created = iso_utc(NOW - timedelta(days=max(days for days, _ in orders)))
    customer = Customer(
        customer_id=new_id("cus"), email=f"{name.lower()}@example.com", name=name,
        phone="+15555550100", created_at=created, updated_at=created,
    )  # fmt: skip
    customer.save()
    for days, status in orders:
        at = iso_utc(NOW - timedelta(days=days))
        order = Order(
            order_id=new_id("ord"), created_at=at, customer_id=customer.customer_id,
            customer_email_masked="x***@example.com", status=status, currency="usd",
            total_amount=1000,
            items=[OrderItem(sku="ga", name="GA", quantity=1, unit_amount=1000, amount=1000)],
            updated_at=at,
        )  # fmt: skip
        order.save()
        audit_record(staff="sam", object_type="orders.order", object_id=order.order_id,
                     object_repr=order.order_id, action="note", summary=f"Note: {name} called",
                     after={"text": f"{name} called"})  # fmt: skip
    return customer


def test_months_before_keeps_the_day_or_the_months_last():
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )


def test_the_job_counts_first_then_erases_the_customers_past_the_policy_once_each(aws):
    _policy(aws, months=12, years=7)
    old = _customer("Grace", (500, "fulfilled"), (420, "refunded"))
    recent = _customer("Alan", (500, "fulfilled"), (30, "fulfilled"))  # bought again since
    new = _customer("Edsger", (10, "fulfilled"))

    counted = retention_apply(now=NOW, dry_run=True)
    assert (counted.due, counted.erased) == (1, 0)
    assert Customer.get(old.customer_id).name == "Grace"  # a dry run erases nothing

    summary = retention_job(now=NOW)

    assert (summary["due"], summary["erased"], summary["held"]) == (1, 1, 0)
    assert Customer.get(old.customer_id).erased_at
    assert [Customer.get(c.customer_id).name for c in (recent, new)] == ["Alan", "Edsger"]
    # The audit lines about the erased customer's orders: scrubbed, and kept 7 years.
    order_id = next(iter(Order.customer_index.query(old.customer_id))).order_id
    (entry,) = AuditEntry.query(f"AUDIT#orders.order#{order_id}")
    assert "Grace" not in entry.summary + entry.after
    at = datetime.fromisoformat(entry.at.replace("Z", "+00:00"))
    assert entry.expires_at.year == at.year + 7
    # Again: nothing more is erased, nothing twice; the cursor is past the walked days.
    again = retention_apply(now=NOW)
    assert (again.erased, again.due) == (0, 0)
    erasures = [
        e
        for e in audit_entries_of(object_type="orders.customer", object_id=old.customer_id)
        if e.action == "erase"
    ]
    assert [(e.actor, e.reason) for e in erasures] == [
        ("system#retention", "Retention policy: personal data kept past its time")
    ]
    cursor = RetentionCursor.get(RETENTION_PARTITION, RETENTION_CURSOR.sk).day
    assert cursor == months_before(NOW, 12).date().isoformat()


def test_a_customer_with_money_in_flight_is_held_and_erased_once_it_settles(aws):
    _policy(aws, months=6)
    customer = _customer("Barbara", (400, "paid"))  # paid, tickets never issued

    first = retention_apply(now=NOW)

    assert (first.due, first.erased, first.held) == (1, 0, 1)
    held = RetentionHeld.get(RETENTION_PARTITION, RetentionHeld.key_for(customer.customer_id))
    assert "is paid and its tickets are not issued yet" in held.reason
    assert "Barbara" not in held.reason
    order = next(iter(Order.customer_index.query(customer.customer_id)))
    Order.get(order.order_id, order.created_at).update(actions=[Order.status.set("fulfilled")])

    second = retention_apply(now=NOW)  # the cursor moved past its day: found among the held

    assert (second.erased, second.held) == (1, 0)
    assert Customer.get(customer.customer_id).erased_at
    assert (
        list(
            RetentionHeld.query(RETENTION_PARTITION, RetentionHeld.sk.startswith(RETENTION_HELD.sk))
        )
        == []
    )


def test_a_run_stops_at_its_limit_and_the_next_carries_on(aws):
    _policy(aws, months=1)
    customers = [_customer(f"Kathleen{n}", (100 + n, "fulfilled")) for n in range(3)]

    first = retention_apply(now=NOW, max_erasures=2)
    second = retention_apply(now=NOW, max_erasures=2)

    assert (first.erased, first.stopped_early) == (2, True)
    assert (second.erased, second.stopped_early) == (1, False)
    assert all(Customer.get(c.customer_id).erased_at for c in customers)


def test_the_policy_off_erases_nothing_and_the_command_says_so(aws, capsys):
    _policy(aws, months=0)
    customer = _customer("Margaret", (900, "fulfilled"))

    call_command("apply_retention")

    assert "retention policy off" in capsys.readouterr().out
    assert Customer.get(customer.customer_id).erased_at is None


def test_the_command_dry_run_counts_without_erasing(aws, capsys):
    _policy(aws, months=3)
    customer = _customer("Frances", (200, "fulfilled"))

    call_command("apply_retention", "--dry-run")

    assert "1 customers due (dry run, nothing erased)" in capsys.readouterr().out
    assert Customer.get(customer.customer_id).erased_at is None
