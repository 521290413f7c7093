"""Staff on the order page: resend the buyer's e-mails (rate-limited, audited) and correct the
buyer's e-mail or name (the claim moves with it; another customer's address is refused)."""

from __future__ import annotations

import pytest

from core.audit import audit_entries_of
from orders.models import CustomerEmailClaim
from orders.selectors import customer_get, customer_id_for_email, order_get
from tests.admin_forms import act, confirm
from tests.factories import (
    customer_create,
    event_build,
    intent_pay,
    order_create,
    ticket_type_create,
    webhook_post,
)

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture
def paid(aws, client):
    customer_create(email="ada@example.com", name="Ada Lovelace")
    ticket_type_create(sku="ga", unit_amount=4900, available=10)
    order = order_create(items=[("ga", 1)])
    webhook_post(
        client,
        aws,
        event_build("payment_intent.succeeded", intent_pay(aws, order.payment_intent_id)),
    )
    return order_get(order_id=order.order_id)


def _url(order) -> str:
    return f"/admin/orders/order/{order.order_id}/"


def _to(aws, address: str) -> list[str]:
    return [m["subject"] for m in aws.sent_emails() if address in " ".join(m["to"])]


def test_staff_resend_the_confirmation_once_per_click_and_not_too_often(aws, paid, staff_client):
    support = staff_client("support")

    page = act(support, _url(paid), "resend_confirmation", follow=True).content.decode()

    assert "Order confirmation e-mail of order" in page
    confirmations = [s for s in _to(aws, "ada@example.com") if s.endswith("is confirmed")]
    assert len(confirmations) == 2  # the first, and the resend
    resent = [m for m in aws.sent_emails() if "Sent again at your request" in m["text"]]
    assert len(resent) == 1
    entries = audit_entries_of(object_type="orders.order", object_id=paid.order_id)
    assert len([e for e in entries if e.action == "email_resend"]) == 1
    # Clicking on: at most 3 a minute per order. 7 resends in all span at most two minute
    # windows, so one window holds 4 or more: at least one is refused.
    pages = [
        act(support, _url(paid), "resend_tickets", follow=True).content.decode() for _ in range(6)
    ]
    refused = sum("resent a moment ago; wait a minute" in p for p in pages)
    assert refused >= 1
    tickets = [s for s in _to(aws, "ada@example.com") if s.startswith("Your tickets")]
    assert len(tickets) == 1 + 6 - refused


def test_a_corrected_address_moves_the_claim_and_gets_the_confirmation(aws, paid, staff_client):
    support = staff_client("support")

    page = confirm(
        support,
        _url(paid),
        "change_contact",
        answers={"email": "Ada.L@Example.org ", "name": "Ada King", "reason": "typo"},
        follow=True,
    ).content.decode()

    assert "the confirmation goes to the new address" in page
    customer = customer_get(customer_id=paid.customer_id)
    assert (customer.email, customer.name) == ("ada.l@example.org", "Ada King")
    assert customer_id_for_email(email="ada.l@example.org") == paid.customer_id
    assert customer_id_for_email(email="ada@example.com") is None  # the old claim is gone
    assert order_get(order_id=paid.order_id).customer_email_masked == "a***@example.org"
    assert [s for s in _to(aws, "ada.l@example.org") if s.endswith("is confirmed")]
    entries = audit_entries_of(object_type="orders.customer", object_id=paid.customer_id)
    (change,) = [e for e in entries if e.action == "contact_change"]
    assert change.before["email"] == "a***@example.com" and change.reason == "typo"


def test_a_malformed_address_gets_a_clear_error_and_changes_nothing(aws, paid, staff_client):
    support = staff_client("support")

    page = confirm(
        support, _url(paid), "change_contact", answers={"email": "ada@", "name": "Ada"}
    ).content.decode()

    assert "Enter a valid email address." in page
    assert customer_get(customer_id=paid.customer_id).email == "ada@example.com"


def test_another_customers_address_is_refused_and_no_claim_is_shared(aws, paid, staff_client):
    customer_create(email="grace@example.com", name="Grace", customer_id="cus_grace")
    support = staff_client("support")

    page = confirm(
        support,
        _url(paid),
        "change_contact",
        answers={"email": "grace@example.com", "name": "Ada"},
        follow=True,
    ).content.decode()

    assert "Customer cus_grace has g***@example.com already" in page
    assert customer_get(customer_id=paid.customer_id).email == "ada@example.com"
    claim = CustomerEmailClaim.get(CustomerEmailClaim.key_for("grace@example.com"), "CLAIM")
    assert claim.customer_id == "cus_grace"
    assert customer_id_for_email(email="ada@example.com") == paid.customer_id
