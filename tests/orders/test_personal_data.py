"""A customer's personal data on request (``orders.services.personal_data``, the customer
page's "Export personal data" and "Erase personal data"): the export holds every record the
admin's searches for the person find; the erasure leaves no form of their name, e-mail or
phone in any table, the vendor or Stripe's metadata, while every total stays; it is refused
while money or tickets are in flight, happens once, and resumes after a failure.

The suite-wide log guard (tests/log_guard.py) fails any of these tests whose logs carry the
person's e-mail or phone."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest

from core.audit import audit_entries_of
from orders.models import Customer, CustomerEmailClaim, ErasureRecord, Order
from orders.services.buyer_mail import buyer_emails_of
from orders.services.personal_data import (
    ErasureInterrupted,
    ErasureRefused,
    customer_erase,
)
from tests.admin_forms import action_form, confirm
from tests.factories import stripe_object, ticket_type_create
from tests.personal_data import (
    EMAIL,
    NAME,
    PHONE,
    PHONE_TYPED,
    TABLES,
    buyer_with_history,
    found_in,
    table_leaks,
)
from tests.vendor import vendor_behave

pytestmark = pytest.mark.usefixtures("aws")

CUSTOMER_LINK = re.compile(r'href="/admin/orders/customer/(cus_[^/]+)/change/"')
ORDER_LINK = re.compile(r'href="/admin/orders/order/(ord_[^/]+)/change/"')


@pytest.fixture
def buyer(aws, client, staff_client):
    return buyer_with_history(aws, client, staff_client)


PERSONAL_TERMS = ("Ada", "Lovelace", "Ada Lovelace", "Byron", "ada.lov", EMAIL, PHONE)


def _searches(browser, buyer, *, ids: bool = True) -> tuple[set[str], set[str]]:
    """What the admin's search boxes find for the person: customers and orders. By their
    name, e-mail and phone, and (``ids``) by their orders' PaymentIntents and ticket codes."""
    customers: set[str] = set()
    orders: set[str] = set()
    for term in PERSONAL_TERMS:
        page = browser.get("/admin/orders/customer/", {"q": term}).content.decode()
        customers |= set(CUSTOMER_LINK.findall(page))
    for term in (*PERSONAL_TERMS, *((*buyer.intents, *buyer.ticket_codes) if ids else ())):
        page = browser.get("/admin/orders/order/", {"q": term}).content.decode()
        orders |= set(ORDER_LINK.findall(page))
    return customers, orders


def _export(browser, customer_id: str) -> dict:
    response = browser.get(f"/admin/orders/customer/{customer_id}/personal-data/")
    assert response.status_code == 200, response.status_code
    assert response["Content-Disposition"] == (
        f'attachment; filename="personal-data-{customer_id}.json"'
    )
    return json.loads(response.content)


def _totals(browser) -> dict:
    """Every total staff read: the orders' and payments' amounts and states, the dashboard's
    counters and the CSV export's money columns."""
    from orders.daily_totals import daily_totals_list
    from payments.models import Payment

    csv_text = b"".join(
        browser.get("/admin/orders/order/export/", {"preset": "today"}).streaming_content
    ).decode()
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    return {
        "orders": sorted(
            (o.order_id, o.status, int(o.total_amount), int(o.refunded_amount or 0))
            for o in Order.scan()
        ),
        "payments": sorted(
            (p.payment_id, p.status, int(p.amount), int(p.amount_refunded or 0))
            for p in Payment.scan()
        ),
        "daily": sorted(
            (d.day, d.currency, d.orders, d.revenue)
            for d in daily_totals_list(first=date(2000, 1, 1), last=date(2100, 1, 1))
        ),
        "csv": sorted((r["order_id"], r["status"], r["total"], r["refunded"]) for r in rows),
    }


# --- Export ---------------------------------------------------------------------------------


def test_the_export_lists_every_record_the_admins_searches_for_the_person_find(buyer, staff_client):
    finance = staff_client("finance")
    customers, orders = _searches(finance, buyer)

    document = _export(finance, buyer.customer_id)

    assert customers == {buyer.customer_id}
    assert orders == set(buyer.orders)
    assert [c["customer_id"] for c in document["customer"]] == [buyer.customer_id]
    assert (document["customer"][0]["name"], document["customer"][0]["email"]) == (NAME, EMAIL)
    assert document["customer"][0]["phone"] == PHONE
    assert {o["order_id"] for o in document["orders"]} == orders
    assert {p["payment_id"] for p in document["payments"]} == set(buyer.intents)
    codes = {t["code"] for o in document["orders"] for t in o["tickets"]}
    assert codes == set(buyer.ticket_codes)
    assert sorted(n["text"] for n in document["notes"]) == sorted(
        [f"Called from {PHONE_TYPED}; prefers {EMAIL}", "Ada asked for one ticket back"]
    )
    actions = {(a["on"].split(":")[0], a["action"]) for a in document["audit"]}
    assert {("orders.customer", "change"), ("orders.order", "paid"),
            ("orders.order", "cancel"), ("orders.order", "refund")} <= actions  # fmt: skip
    assert set(buyer.events) <= {e["event_id"] for e in document["stripe_events"]}
    assert {r["order_id"] for r in document["vendor"]} == set(buyer.orders[:2])
    refunds = [r for p in document["payments"] for r in p["refunds"]]
    assert [r["amount"] for r in refunds] == [5000]
    # The e-mails we sent them: both confirmations and tickets, the refund, the cancellation.
    sent = sorted((m["order_id"], m["kind"]) for m in document["emails"] if m["status"] == "sent")
    assert sent == sorted(
        [(o, "confirmation") for o in buyer.orders[:2]] + [(o, "tickets") for o in buyer.orders[:2]]
        + [(buyer.orders[1], "refund"), (buyer.orders[2], "cancellation")]
    )  # fmt: skip
    assert {m["sent_to"] for m in document["emails"]} == {"a***@example.com"}
    # Non-secret fields only: no client secret of a PaymentIntent anywhere.
    assert "client_secret" not in json.dumps(document)
    # The export is audited on the customer, with counts and none of the data.
    (entry,) = [
        e
        for e in audit_entries_of(object_type="orders.customer", object_id=buyer.customer_id)
        if e.action == "export_personal_data"
    ]
    assert entry.actor.startswith("staff-finance") or entry.actor
    assert found_in([entry.summary, entry.after, entry.object_repr]) == []


def test_only_finance_and_admin_see_and_can_use_the_export_and_the_erase(buyer, staff_client):
    url = f"/admin/orders/customer/{buyer.customer_id}/"
    for role in ("viewer", "support"):
        browser = staff_client(role, f"{role}-reader")
        page = browser.get(url + "change/").content.decode()
        assert "Export personal data" not in page and "Erase personal data" not in page
        assert browser.get(url + "personal-data/").status_code == 403
    page = staff_client("admin").get(url + "change/").content.decode()
    assert "Export personal data" in page and "Erase personal data" in page


# --- Erasure --------------------------------------------------------------------------------


def _erase_in_admin(browser, customer_id: str):
    return confirm(
        browser,
        f"/admin/orders/customer/{customer_id}/",
        "erase",
        answers={"reason": "requested_by_customer"},
        follow=True,
    )


@pytest.mark.parametrize("table", list(TABLES))
def test_after_erasure_no_attribute_of_the_table_holds_the_persons_name_email_or_phone(
    aws, buyer, staff_client, table
):
    finance = staff_client("finance")
    before = _totals(finance)
    if table == "orders":  # orders keep a masked e-mail only
        assert {o.customer_email_masked for o in Order.scan()} == {"a***@example.com"}
    else:
        assert table_leaks(aws).get(TABLES[table])  # the person's data is there

    page = _erase_in_admin(finance, buyer.customer_id).content.decode()

    assert "Personal data erased" in page, page[-3000:]
    assert table_leaks(aws).get(TABLES[table], []) == []
    assert _totals(finance) == before
    assert _searches(finance, buyer, ids=False) == (set(), set())
    if table == "orders":
        assert {o.customer_email_masked for o in Order.scan()} == {"e***@erased.invalid"}


def test_erasure_replaces_the_person_with_a_stable_pseudonym_and_tells_the_vendor_and_stripe(
    aws, buyer, staff_client
):
    from tests.vendor import vendor_erasures, vendor_requests

    outcome = customer_erase(
        customer_id=buyer.customer_id, actor="fin", reason="requested_by_customer"
    )

    customer = Customer.get(buyer.customer_id)
    assert not outcome.already
    assert customer.name.startswith("Erased ") and customer.email.endswith("@erased.invalid")
    assert customer.phone is None and customer.erased_at
    assert [c.customer_id for c in Customer.email_index.query(EMAIL)] == []
    claim = CustomerEmailClaim.get(CustomerEmailClaim.key_for(customer.email), "CLAIM")
    assert claim.customer_id == buyer.customer_id
    assert {o.customer_email_masked for o in Order.customer_index.query(buyer.customer_id)} == {
        "e***@erased.invalid"
    }
    # The e-mails sent keep where they went as the pseudonym's masked address.
    sent_to = {m.sent_to_masked for o in buyer.orders for m in buyer_emails_of(order_id=o)}
    assert sent_to == {"e***@erased.invalid"}
    # The vendor was told, once per fulfilled order, and holds the pseudonym only.
    erasures = vendor_erasures(aws)
    assert sorted(e["idempotency_key"] for e in erasures) == sorted(
        f"erasure:{o}" for o in buyer.orders[:2]
    )
    assert {e["body"]["customer"]["name"] for e in erasures} == {customer.name}
    assert found_in(vendor_requests(aws)) == []
    # Our metadata in Stripe no longer names the buyer; the order id stays.
    metadata = stripe_object(aws, f"/v1/payment_intents/{buyer.intents[0]}")["metadata"]
    assert found_in(metadata) == []
    assert metadata["order_id"] == buyer.orders[0]
    # Notes keep who and when, not what; the erasure's own line names none of the data.
    customer_lines = audit_entries_of(object_type="orders.customer", object_id=buyer.customer_id)
    notes = [e for e in customer_lines if e.action == "note"]
    assert [n.after["text"] for n in notes] == ["[note erased]"]
    (erased,) = [e for e in customer_lines if e.action == "erase"]
    assert erased.actor == "fin" and found_in([erased.summary, erased.after]) == []
    assert erased.reason == "Requested by the customer (GDPR article 17)"
    # The same pseudonym every time (stable): the export after it says so.
    document = _export(staff_client("finance"), buyer.customer_id)
    assert document["erased"] is True
    assert document["customer"][0]["name"] == customer.name
    assert found_in(document) == []


def test_erasing_twice_erases_once(buyer):
    first = customer_erase(customer_id=buyer.customer_id, actor="fin", reason="retention_policy")
    second = customer_erase(customer_id=buyer.customer_id, actor="sam", reason="retention_policy")

    assert (first.already, second.already) == (False, True)
    entries = audit_entries_of(object_type="orders.customer", object_id=buyer.customer_id)
    assert [e.actor for e in entries if e.action == "erase"] == ["fin"]
    record = ErasureRecord.get(ErasureRecord.key_for(buyer.customer_id), "RECORD")
    assert (record.status, record.runs) == ("done", 1)


def test_an_erasure_stopped_by_the_vendor_resumes_where_it_stopped(aws, buyer):
    vendor_behave(aws, "unavailable", times=1)

    with pytest.raises(ErasureInterrupted):
        customer_erase(customer_id=buyer.customer_id, actor="fin", reason="retention_policy")

    assert Customer.get(buyer.customer_id).name == NAME  # not half-erased at the top
    outcome = customer_erase(customer_id=buyer.customer_id, actor="fin", reason="retention_policy")
    assert (outcome.already, outcome.resumed) == (False, True)
    assert table_leaks(aws) == {}


def test_an_erasure_held_by_a_run_that_died_is_refused_until_its_lease_runs_out(buyer):
    from core.exceptions import Conflict

    ErasureRecord(
        pk=ErasureRecord.key_for(buyer.customer_id), customer_id=buyer.customer_id,
        status="in_progress", actor="fin", reason="retention_policy", claim_token="dead",
        lease_until=2**31, started_at="2026-01-01T00:00:00Z",
    ).save()  # fmt: skip

    with pytest.raises(Conflict):
        customer_erase(customer_id=buyer.customer_id, actor="sam", reason="retention_policy")

    record = ErasureRecord.get(ErasureRecord.key_for(buyer.customer_id), "RECORD")
    record.update(actions=[ErasureRecord.lease_until.set(0)])
    assert customer_erase(
        customer_id=buyer.customer_id, actor="sam", reason="retention_policy"
    ).resumed


# --- Refused while money or tickets are in flight ----------------------------------------------


def _customer_with(client, **change) -> tuple[str, str]:
    ticket_type_create("ga", unit_amount=5000, available=10)
    body = {"customer": {"email": EMAIL, "name": NAME}, "items": [{"sku": "ga", "quantity": 1}]}
    placed = client.post("/orders", json.dumps(body), content_type="application/json").json()
    order = next(iter(Order.query(placed["order_id"], consistent_read=True)))
    if change:
        order.update(actions=[getattr(Order, k).set(v) for k, v in change.items()])
    return order.customer_id, order.order_id


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({}, "is unpaid"),
        ({"status": "paid"}, "is paid and its tickets are not issued yet"),
        ({"status": "fulfillment_failed"}, "its tickets failed to issue"),
        ({"status": "fulfilled", "disputed": True, "dispute_flag": "open"}, "an open dispute"),
    ],
)
def test_erasure_is_refused_with_the_reason_while_money_or_tickets_are_in_flight(
    aws, client, staff_client, change, words
):
    customer_id, order_id = _customer_with(client, **change)
    finance = staff_client("finance")

    with pytest.raises(ErasureRefused, match=words):
        customer_erase(customer_id=customer_id, actor="fin", reason="retention_policy")
    url = f"/admin/orders/customer/{customer_id}/"  # the admin's button says why
    response = finance.get(url + "action/erase/", action_form(finance, url, "erase"), follow=True)

    assert f"order {order_id}" in response.content.decode()
    assert words in response.content.decode()
    assert Customer.get(customer_id).name == NAME
    assert table_leaks(aws).get(TABLES["customers"])


def test_erasure_is_refused_while_a_refund_is_pending_in_stripe(aws, buyer):
    from payments.models import Payment, Refund

    payment = next(iter(Payment.query(buyer.intents[1])))
    payment.refunds = [*payment.refunds, Refund(refund_id="re_pending", amount=100,
                       status="pending", created_at="2026-12-07T00:00:00Z")]  # fmt: skip
    payment.save()

    with pytest.raises(ErasureRefused, match=f"a refund of order {buyer.orders[1]} is not settled"):
        customer_erase(customer_id=buyer.customer_id, actor="fin", reason="retention_policy")


def test_after_a_restore_the_erasures_since_its_time_are_done_again(aws, buyer, tmp_path, capsys):
    """A point-in-time restore brings an erased customer back: the erasures since the restore
    time are listed from the tables in use, then done again on the restored ones."""
    from django.core.management import call_command

    kept = Customer.get(buyer.customer_id)  # the customer as a restore would bring it back
    customer_erase(customer_id=buyer.customer_id, actor="fin", reason="requested_by_customer")
    listing = tmp_path / "erased.txt"
    call_command("erasures_redo", "--since", "2020-01-01T00:00:00Z", "--save", str(listing))
    assert listing.read_text() == f"{buyer.customer_id} requested_by_customer\n"
    # The restore: the customer record and claim as they were, the erasure's record gone.
    kept.save(add_version_condition=False)
    CustomerEmailClaim(pk=CustomerEmailClaim.key_for(EMAIL), customer_id=kept.customer_id).save()
    ErasureRecord(pk=ErasureRecord.key_for(buyer.customer_id)).delete()

    call_command("erasures_redo", "--from-file", str(listing))

    assert "1 erased again, 0 not erased" in capsys.readouterr().out
    assert Customer.get(buyer.customer_id).erased_at
    assert table_leaks(aws).get(TABLES["customers"], []) == []
