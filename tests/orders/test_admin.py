"""The order, customer, payment and ticket-type admin over DynamoDB: what staff see, what each
page costs, and that a concurrent change is reported rather than overwritten."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from core.dynamodb import iso_utc, new_id
from core.dynamodb_requests import dynamodb_requests
from dynamo_admin.cursor import cursor_encode
from dynamo_admin.paging import ListSource
from orders.models import (
    ORDERS_BY_STATUS,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    TicketType,
    order_status_shards,
)
from payments.models import Payment
from tests.admin_forms import confirm, confirmation_form, edit, edit_form

pytestmark = pytest.mark.usefixtures("aws")

ORDER_LINK = re.compile(r'href="/admin/orders/order/(ord_[^/]+)/change/"')


def make_order(*, hours_ago: float, status: str = "paid", customer_id: str = "cus_x") -> Order:
    created = iso_utc(datetime.now(UTC) - timedelta(hours=hours_ago))
    order = Order(
        order_id=new_id("ord"),
        created_at=created,
        customer_id=customer_id,
        customer_email_masked="a***@example.com",
        status=status,
        currency="usd",
        total_amount=4900,
        items=[OrderItem(sku="ga", name="GA", quantity=1, unit_amount=4900, amount=4900)],
        updated_at=created,
    )
    order.save()
    return order


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[-2000:]
    return ORDER_LINK.findall(response.content.decode())


def link(response, rel: str) -> str | None:
    match = re.search(rf'<a href="([^"]+)" class="{rel}">', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


@override_settings(DYNAMO_ADMIN_PAGE_SIZE=3)
def test_the_order_list_pages_newest_first_across_days_with_next_and_prev(staff_client):
    orders = [make_order(hours_ago=h) for h in (1, 5, 30, 50, 75, 100, 170)]
    expected = [o.order_id for o in orders]  # already newest first
    browser = staff_client("viewer")

    first = browser.get("/admin/orders/order/")
    second = browser.get("/admin/orders/order/" + link(first, "next"))
    third = browser.get("/admin/orders/order/" + link(second, "next"))
    back = browser.get("/admin/orders/order/" + link(third, "prev"))

    assert listed(first) == expected[:3]
    assert listed(second) == expected[3:6]
    assert listed(third) == expected[6:]
    assert (
        link(third, "next") is None
        or listed(browser.get("/admin/orders/order/" + link(third, "next"))) == []
    )
    assert listed(back) == expected[3:6]
    assert link(first, "prev") is None


def test_a_list_page_never_scans_and_costs_a_bounded_number_of_queries(staff_client):
    for hours in range(0, 24 * 10, 6):
        make_order(hours_ago=hours, status="paid" if hours % 12 else "fulfilled")
    browser = staff_client("viewer")

    for url in (
        "/admin/orders/order/",
        "/admin/orders/order/?status=paid",
        "/admin/orders/order/?created__gte=2026-01-01&created__lte=2026-12-31",
        "/admin/payments/payment/",
        "/admin/orders/customer/",
    ):
        with dynamodb_requests() as calls:
            assert browser.get(url).status_code == 200
        assert calls["Scan"] == 0, url
        # The day walk's budget (64 Queries: a day of a sharded index costs one per shard)
        # and the order list's bound (the oldest order: one per status and shard).
        oldest_day = sum(order_status_shards(s.value) for s in OrderStatus)
        assert calls["Query"] <= ListSource([], Order.created_at).max_queries + oldest_day, (
            url,
            calls,
        )


def test_filters_by_status_and_by_date_range(staff_client):
    old_paid = make_order(hours_ago=24 * 40)
    new_paid = make_order(hours_ago=2)
    canceled = make_order(hours_ago=3, status="canceled")
    browser = staff_client("viewer")
    forty_days_ago = (datetime.now(UTC) - timedelta(days=40)).date().isoformat()

    paid = listed(browser.get("/admin/orders/order/?status=paid"))
    that_day = listed(
        browser.get(
            f"/admin/orders/order/?created__gte={forty_days_ago}&created__lte={forty_days_ago}"
        )
    )
    recent_canceled = listed(
        browser.get(f"/admin/orders/order/?status=canceled&created__gte={forty_days_ago}")
    )

    assert paid == [new_paid.order_id, old_paid.order_id]
    assert that_day == [old_paid.order_id]
    assert recent_canceled == [canceled.order_id]


def test_search_by_order_id_customer_email_and_payment_intent(staff_client):
    call_command("seed_demo")
    grace = next(iter(Customer.email_index.query("grace@example.com")))
    graces_orders = {o.order_id for o in Order.customer_index.query(grace.customer_id)}
    payment = next(iter(Payment.status_index.query("succeeded", limit=1)))
    some_order = next(iter(graces_orders))
    browser = staff_client("viewer")

    by_email = listed(browser.get("/admin/orders/order/?q=Grace@Example.com"))
    by_id = listed(browser.get(f"/admin/orders/order/?q={some_order}"))
    by_intent = listed(browser.get(f"/admin/orders/order/?q={payment.payment_id}"))
    nothing = browser.get("/admin/orders/order/?q=h")  # too short for any search

    assert set(by_email) == graces_orders
    assert by_id == [some_order]
    assert by_intent == [payment.order_id]
    assert "Nothing here searches for" in nothing.content.decode()


def test_a_forged_page_token_is_ignored(staff_client):
    make_order(hours_ago=1)
    browser = staff_client("viewer")
    genuine = cursor_encode(direction="next", sort_value="2000", key="")

    forged = browser.get("/admin/orders/order/?p=" + genuine[:-3] + "abc")

    assert len(listed(forged)) == 1


def test_the_order_page_shows_items_customer_payments_and_attempts(staff_client):
    call_command("seed_demo")
    order = next(iter(ORDERS_BY_STATUS.query("fulfillment_failed")))
    browser = staff_client("viewer")

    page = browser.get(f"/admin/orders/order/{order.order_id}/change/").content.decode()

    assert "General admission" in page
    assert "katherine@example.com" in page
    assert order.payment_intent_id in page
    assert "422 unknown event" in page
    assert "Retry fulfillment" not in page  # a viewer cannot use it: not shown
    support = staff_client("support").get(f"/admin/orders/order/{order.order_id}/change/")
    assert "Retry fulfillment" in support.content.decode()


def test_an_order_action_is_refused_to_a_viewer_and_carried_out_for_support(staff_client):
    order = make_order(hours_ago=1, status="pending_payment")
    viewer = staff_client("viewer")
    support = staff_client("support")
    url = f"/admin/orders/order/{order.order_id}/action/cancel/"
    object_url = f"/admin/orders/order/{order.order_id}/"

    refused = viewer.post(url, {"_version": order.version}, follow=True).content.decode()
    after_refusal = Order.get(order.order_id, order.created_at).status
    reason = {"reason": "requested_by_customer", "note": "asked"}
    done = confirm(support, object_url, "cancel", answers=reason, follow=True).content.decode()

    assert "You are not allowed to cancel unpaid order" in refused
    assert after_refusal == "pending_payment"
    assert f"Order {order.order_id} was canceled and its seats released." in done
    assert Order.get(order.order_id, order.created_at).status == "canceled"


def test_an_action_on_an_order_changed_since_the_page_was_read_is_refused(staff_client):
    order = make_order(hours_ago=1, status="pending_payment")
    support = staff_client("support")
    url = f"/admin/orders/order/{order.order_id}/"
    opened = confirmation_form(support, url, "cancel")
    order.update(actions=[Order.disputed.set(True)])  # someone else, meanwhile

    page = support.post(
        f"{url}action/cancel/",
        {**opened, "reason": "abandoned", "note": "gone"},
        follow=True,
    ).content.decode()

    assert "was changed by someone else" in page
    assert Order.get(order.order_id, order.created_at).status == "pending_payment"


def test_a_customer_edit_is_audited_and_shown_in_history_and_recent_actions(staff_client):
    call_command("seed_demo")
    customer = next(iter(Customer.email_index.query("ada@example.com")))
    support = staff_client("support", "sam")

    response = edit(
        support,
        f"/admin/orders/customer/{customer.customer_id}/",
        {"name": "Ada King", "phone": customer.phone},
    )
    history = support.get(f"/admin/orders/customer/{customer.customer_id}/history/")
    index = support.get("/admin/")

    assert response.status_code == 302
    assert Customer.get(customer.customer_id).name == "Ada King"
    assert "Ada Lovelace" in history.content.decode() and "Ada King" in history.content.decode()
    assert "sam" in history.content.decode()
    assert "Ada King" in index.content.decode()  # the sidebar's "My actions"


def test_a_viewer_cannot_edit_a_customer(staff_client):
    call_command("seed_demo")
    customer = next(iter(Customer.email_index.query("ada@example.com")))
    viewer = staff_client("viewer")

    response = viewer.post(
        f"/admin/orders/customer/{customer.customer_id}/change/",
        {"name": "Mallory", "_version": customer.version},
    )

    assert response.status_code == 403
    assert Customer.get(customer.customer_id).name == "Ada Lovelace"


def test_a_capacity_change_keeps_seats_reserved_meanwhile(staff_client):
    call_command("seed_demo")
    ga = TicketType.get("ga-2027")  # capacity 500, 490 left
    finance = staff_client("finance")
    form = {
        **edit_form(finance, "/admin/orders/tickettype/ga-2027/"),
        "name": ga.name,
        "description": ga.description,
        "unit_amount": "49.00",  # the price as staff type it (unchanged: 4900 minor units)
        "capacity": 600,
        "active": "on",
    }
    # A buyer reserves two seats with a plain atomic decrement while the page is open.
    TicketType._get_connection().update_item("ga-2027", actions=[TicketType.available.add(-2)])

    response = finance.post("/admin/orders/tickettype/ga-2027/change/", form)

    after = TicketType.get("ga-2027")
    assert response.status_code == 302
    assert (after.capacity, after.available, after.unit_amount) == (600, 588, 4900)


def test_finance_adds_a_ticket_type_and_support_may_not(staff_client):
    finance = staff_client("finance")
    support = staff_client("support")
    form = {
        "sku": "balcony-2027",
        "name": "Balcony",
        "description": "Upstairs",
        "unit_amount": "79.00",
        "currency": "usd",
        "capacity": 40,
        "active": "on",
    }

    assert support.post("/admin/orders/tickettype/add/", form).status_code == 403
    response = finance.post("/admin/orders/tickettype/add/", form)

    created = TicketType.get("balcony-2027")
    assert response.status_code == 302
    assert (created.capacity, created.available, created.catalog_key) == (40, 40, "active")
    assert created.unit_amount == 7900


def test_payments_filter_by_status(staff_client):
    call_command("seed_demo")
    browser = staff_client("viewer")

    canceled = browser.get("/admin/payments/payment/?status=canceled").content.decode()
    everything = browser.get("/admin/payments/payment/").content.decode()

    assert canceled.count("/admin/payments/payment/pi_") == 1
    assert everything.count("/admin/payments/payment/pi_") == 7


@pytest.mark.parametrize("role", ["viewer", "support", "finance"])
def test_only_admins_see_staff_accounts(staff_client, role):
    assert staff_client(role).get("/admin/staff/staff/").status_code == 403


def test_an_admin_disables_a_staff_account_and_its_sessions_end(staff_client):
    sam = staff_client("support", "sam")
    admin = staff_client("admin", "ada")
    from staff.services import staff_account_get

    account = staff_account_get(username="sam")
    response = edit(admin, "/admin/staff/staff/sam/", {"email": account.email, "role": "support"})

    assert response.status_code == 302
    assert sam.get("/admin/").status_code == 302
    assert staff_account_get(username="sam").is_active is False


def test_csv_export_streams_the_orders_of_a_date_range(staff_client):
    inside = make_order(hours_ago=24 * 3)
    outside = make_order(hours_ago=24 * 20)
    browser = staff_client("support")
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    before = (datetime.now(UTC) - timedelta(days=5)).date().isoformat()

    response = browser.get(f"/admin/orders/order/export/?from={before}&to={day}")
    body = b"".join(response.streaming_content).decode()

    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert inside.order_id in body and outside.order_id not in body
    assert body.splitlines()[0].startswith("order_id,created_at,status")


def test_a_viewer_may_not_export(staff_client):
    assert staff_client("viewer").get("/admin/orders/order/export/").status_code == 403


@override_settings(DYNAMO_ADMIN_PAGE_SIZE=2)
def test_ticket_types_list_a_to_z_and_page_both_ways(staff_client):
    call_command("seed_demo")  # early-2027, ga-2027, stream-2027, vip-2027
    browser = staff_client("viewer")
    skus = re.compile(r'href="/admin/orders/tickettype/([^/]+)/change/"')

    first = browser.get("/admin/orders/tickettype/")
    second = browser.get("/admin/orders/tickettype/" + link(first, "next"))
    back = browser.get("/admin/orders/tickettype/" + link(second, "prev"))

    assert skus.findall(first.content.decode()) == ["early-2027", "ga-2027"]
    assert skus.findall(second.content.decode()) == ["stream-2027", "vip-2027"]
    assert skus.findall(back.content.decode()) == ["early-2027", "ga-2027"]


def test_every_list_shows_its_rows(staff_client):
    call_command("seed_demo")
    browser = staff_client("admin", "ada")
    staff_client("viewer", "vic")

    customers = browser.get("/admin/orders/customer/").content.decode()
    staff = browser.get("/admin/staff/staff/").content.decode()

    for email in ("ada@example.com", "grace@example.com", "alan@example.com"):
        assert email in customers
    assert staff.index("/admin/staff/staff/ada/change/") < staff.index(
        "/admin/staff/staff/vic/change/"
    )
