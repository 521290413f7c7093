"""The order list's search as staff use it (issue 14, feature 3): by customer name, by the
start of an e-mail, by ticket code and by Stripe charge id, each answered by an index (no
Scan), keeping the active filters; the list shows whose order each row is."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from core.dynamodb import new_id, utc_now_iso
from orders.models import Customer, Order, OrderItem, Ticket
from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")


def _order(name: str, email: str, *, status: str = "paid", codes: tuple[str, ...] = ()) -> Order:
    from orders.emails import email_mask
    from orders.services.fulfillment import ticket_codes_record
    from payments.models import Payment

    now = utc_now_iso()
    customer = Customer(
        customer_id=new_id("cus"), email=email, name=name, created_at=now, updated_at=now
    )
    customer.save()
    order = Order(
        order_id=new_id("ord"),
        created_at=now,
        customer_id=customer.customer_id,
        customer_email_masked=email_mask(email),
        status=status,
        currency="usd",
        total_amount=4900,
        items=[OrderItem(sku="ga", name="GA", quantity=1, unit_amount=4900, amount=4900)],
        payment_intent_id=new_id("pi"),
        tickets=[Ticket(ticket_id=new_id("tkt"), sku="ga", code=c) for c in codes],
        updated_at=now,
    )
    order.save()
    Payment(
        payment_id=order.payment_intent_id,
        created_at=now,
        order_id=order.order_id,
        status="succeeded",
        amount=4900,
        currency="usd",
        charge_id=f"ch_{order.order_id[4:]}",
        updated_at=now,
    ).save()
    if codes:
        ticket_codes_record(order_id=order.order_id, tickets=list(order.tickets))
    return order


def _search(page: Page, term: str) -> None:
    page.fill("#searchbar", term)
    page.press("#searchbar", "Enter")


def _rows(page: Page):
    return page.locator("#result_list tbody tr")


def test_search_by_name_email_start_ticket_code_and_charge_keeps_the_filters(
    make_staff, new_page, artifacts
):
    ada = _order("Ada Lovelace", "ada@example.com", codes=("BEEC37D0",))
    ada_unpaid = _order("Ada Lovelace", "ada.l@work.example", status="pending_payment")
    alan = _order("Alan Turing", "alan@example.org")
    _order("Grace Hopper", "grace@example.com", status="fulfilled")
    make_staff("viewer", "vic")
    page = new_page()
    sign_in(page, "vic")
    page.goto("/admin/orders/order/")

    # Whose order each row is, at a glance: the customer's name.
    expect(_rows(page)).to_have_count(4)
    expect(page.locator("#result_list")).to_contain_text("Ada Lovelace")
    expect(page.locator("#result_list")).to_contain_text("Alan Turing")
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 720})
        page.screenshot(path=str(artifacts / f"order-list-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1600, "height": 1000})

    # By name: the start of the first name, or of the last.
    _search(page, "ada")
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("#result_list")).not_to_contain_text("Alan Turing")
    _search(page, "lovel")
    expect(_rows(page)).to_have_count(2)
    # "Al": Alan's name and e-mail start so; nobody else's name, surname or e-mail does.
    _search(page, "Al")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(alan.order_id)

    # By the start of an e-mail.
    _search(page, "ada@exa")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(ada.order_id)

    # A filter stays while searching, and a search stays while filtering.
    page.goto("/admin/orders/order/?status=pending_payment")
    _search(page, "ada")
    page.wait_for_url(lambda url: "status=pending_payment" in url and "q=ada" in url)
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(ada_unpaid.order_id)
    page.click("#changelist-filter >> text=Paid")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(ada.order_id)
    expect(page.locator("#searchbar")).to_have_value("ada")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(artifacts / "order-list-search.png"), full_page=True)
    page.click("text=Clear search")
    page.wait_for_url(lambda url: "status=paid" in url and "q=" not in url)
    expect(_rows(page)).to_have_count(2)  # both paid orders: Ada's and Alan's

    # By ticket code (any case) and by Stripe charge id.
    page.goto("/admin/orders/order/")
    _search(page, "beec37d0")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(ada.order_id)
    _search(page, f"ch_{alan.order_id[4:]}")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text(alan.order_id)

    # Nothing found says so.
    _search(page, "zz-nobody")
    expect(page.locator("#changelist")).to_contain_text("0 results")


def test_the_customer_list_searches_by_name_and_email_start(make_staff, new_page):
    _order("Ada Lovelace", "ada@example.com")
    _order("Alan Turing", "alan@example.org")
    make_staff("viewer", "vic")
    page = new_page()
    sign_in(page, "vic")
    page.goto("/admin/orders/customer/")

    _search(page, "turing")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text("Alan Turing")
    _search(page, "ada@")
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page)).to_contain_text("Ada Lovelace")
