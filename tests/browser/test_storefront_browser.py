"""A buyer in a real browser, through the reference checkout (storefront/), against the local
stack: the API on a live server, localstripe (with the Payment Element stand-in) as Stripe,
signing and sending its own webhooks, and the stand-in vendor issuing the tickets."""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect

from devstack.stack import free_port
from devstack.storefront import storefront_build, storefront_config, storefront_serve
from devstack.stripe_webhooks import stripe_webhook_register, stripe_webhook_unregister
from orders.models import Order, OrderStatus
from tests.factories import order_body, ticket_type_create

AXE = (
    Path(__file__).resolve().parents[2] / "storefront" / "node_modules" / "axe-core" / "axe.min.js"
)
PAYS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0341"  # localstripe: attaches, then the charge is declined


def all_orders() -> list[Order]:
    return list(Order.scan())


@pytest.fixture(scope="module")
def storefront_dist() -> Iterator[Path]:
    """``npm run build`` (typecheck + Vite) of the current sources, into a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="storefront-dist-") as tmp:
        yield storefront_build(Path(tmp) / "dist")


@pytest.fixture
def storefront(aws, live_server, storefront_dist) -> Iterator[str]:
    """The built checkout on its own origin, allowed by CORS, with localstripe sending its
    webhooks to the live server (fulfillment inline: the webhook calls the vendor)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    server = storefront_serve(
        dist=storefront_dist,
        port=port,
        config=storefront_config(api_base=live_server, stripe_url=aws.stripe_url),
    )
    endpoint_id = f"storefront-{secrets.token_hex(4)}"
    stripe_webhook_register(
        stripe_url=aws.stripe_url,
        endpoint_id=endpoint_id,
        url=f"{live_server}/webhooks/stripe",
        secret=aws.secrets.stripe_webhook_secret,
    )
    try:
        with override_settings(CORS_ALLOWED_ORIGINS=[origin], STOREFRONT_URL=f"{origin}/"):
            yield origin
    finally:
        stripe_webhook_unregister(stripe_url=aws.stripe_url, endpoint_id=endpoint_id)
        server.shutdown()
        server.server_close()


@pytest.fixture
def catalog(aws):
    ticket_type_create("ga-2027", name="General admission", unit_amount=8900, available=50)
    ticket_type_create("vip-2027", name="VIP", unit_amount=24900, available=5)


def vendor_slow(stack, seconds: float) -> None:
    """The vendor's next answer comes after ``seconds`` (the read timeout raised above it):
    the order stays paid for a few of the page's polls before it is fulfilled."""
    from core.config import config_cache_clear

    stack.provision_config({"vendor_read_timeout": str(int(seconds) + 5)})
    config_cache_clear()
    request = urllib.request.Request(
        f"{stack.vendor_url}/_control",
        data=f'{{"mode": "slow", "delay": {seconds}, "times": 1}}'.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def assert_accessible(page: Page) -> None:
    """axe-core (the engine behind Lighthouse's and most audits' accessibility checks) finds
    no WCAG 2.1 A/AA violation in the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
    ]
    assert not problems, "\n".join(problems)


def choose_and_order(page: Page, storefront: str, quantities: dict[str, int]) -> None:
    page.goto(f"{storefront}/")
    expect(page.get_by_role("heading", name="Buy tickets")).to_be_visible()
    for name, quantity in quantities.items():
        page.get_by_label(f"Quantity of {name}").fill(str(quantity))
    page.get_by_label("E-mail").fill("ada@example.com")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_role("button", name="Continue to payment").click()


def pay(page: Page, card: str) -> None:
    expect(page.get_by_role("heading", name="2. Pay")).to_be_visible()
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiration date (MM / YY)").fill("12 / 34")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay").click()


def test_a_buyer_goes_from_the_catalog_to_tickets_then_a_refund_voids_them(
    aws, catalog, storefront, new_page, artifacts, make_staff
):
    vendor_slow(aws, 4)
    page = new_page()
    page.goto(f"{storefront}/")
    expect(page.locator("#catalog-rows")).to_contain_text("General admission")
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "storefront-catalog.png"), full_page=True)

    choose_and_order(page, storefront, {"General admission": 2, "VIP": 1})
    summary = "2 × General admission, 1 × VIP"  # noqa: RUF001 - the page's multiplication sign
    expect(page.locator("#pay-summary")).to_contain_text(summary)
    expect(page.get_by_role("button", name="Pay")).to_contain_text("$427.00")
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "storefront-payment.png"), full_page=True)
    pay(page, PAYS)

    state = page.locator("#order-state")
    expect(state).to_have_attribute("data-state", "paid", timeout=15_000)
    expect(page.locator("#order-advice")).to_contain_text("Your tickets are being issued")
    page.screenshot(path=str(artifacts / "storefront-paid.png"), full_page=True)
    expect(state).to_have_attribute("data-state", "fulfilled", timeout=20_000)
    expect(page.locator("#tickets li")).to_have_count(3)
    expect(page.locator("#tickets")).to_contain_text("VIP")
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "storefront-tickets.png"), full_page=True)

    [order] = all_orders()
    assert order.status == OrderStatus.FULFILLED
    assert page.locator("#order-id").text_content() == order.order_id
    # A reload keeps following the same order (its id is in the address).
    page.reload()
    expect(page.locator("#tickets li")).to_have_count(3)

    # The buyer's confirmation and tickets, read from the emulator's SES: what reached the inbox.
    mails = {m["subject"]: m for m in aws.sent_emails() if "ada@example.com" in m["to"][0]}
    confirmation = mails[f"Your order {order.order_id} is confirmed"]
    assert "2 x General admission at USD 89.00: USD 178.00" in confirmation["text"]
    assert f"{storefront}/?order={order.order_id}" in confirmation["text"]
    assert f"Your tickets for order {order.order_id}" in mails

    # Staff refund it in full from the admin: the tickets are voided at the vendor, the order
    # page says so, and the buyer's page and inbox follow.
    from tests.browser.test_admin_browser import sign_in

    make_staff("finance", "fin")
    staff = new_page()
    sign_in(staff, "fin")
    staff.goto(f"/admin/orders/order/{order.order_id}/change/")
    staff.click("#action-refund input[type=submit]")
    expect(staff.locator("#action-effects")).to_contain_text("3 valid tickets are voided")
    staff.select_option("#id_reason", "requested_by_customer")
    staff.fill("#id_note", "Cannot come")
    staff.click("#action-confirm input[type=submit]")
    expect(staff.locator(".messagelist .success")).to_contain_text("tickets are voided")
    staff.goto(f"/admin/orders/order/{order.order_id}/change/")
    expect(staff.get_by_role("cell", name="Void", exact=True)).to_have_count(3)
    staff.screenshot(path=str(artifacts / "admin-refunded-tickets-void.png"), full_page=True)

    page.reload()
    expect(page.locator("#tickets li.void")).to_have_count(3)
    expect(page.locator("#tickets")).to_contain_text("Void: no longer valid")
    refund = [m for m in aws.sent_emails() if m["subject"].startswith("Refund of USD 427.00")]
    assert len(refund) == 1 and "void, no longer valid" in refund[0]["text"]


def test_a_declined_card_then_another_card_pays_the_same_order(
    aws, catalog, storefront, new_page, artifacts
):
    page = new_page()
    choose_and_order(page, storefront, {"General admission": 1})
    pay(page, DECLINED)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your card was declined")
    expect(alert).to_contain_text("Nothing was charged; please try another card")
    assert_accessible(page)
    page.screenshot(path=str(artifacts / "storefront-declined.png"), full_page=True)

    pay(page, PAYS)
    expect(page.locator("#order-state")).to_have_attribute(
        "data-state", "fulfilled", timeout=20_000
    )
    expect(page.locator("#tickets li")).to_have_count(1)
    assert len(all_orders()) == 1  # the retry paid the same order


def test_sold_out_says_so_and_shows_what_is_left(aws, catalog, storefront, new_page, client):
    page = new_page()
    page.goto(f"{storefront}/")
    expect(page.locator("#catalog-rows")).to_contain_text("VIP")
    # Someone else buys 4 of the 5 VIP seats while this buyer is choosing.
    other = order_body(items=[{"sku": "vip-2027", "quantity": 4}])
    answer = client.post("/orders", json.dumps(other), content_type="application/json")
    assert answer.status_code == 201

    choose_and_order(page, storefront, {"VIP": 3})

    expect(page.get_by_role("alert")).to_contain_text("not enough tickets left")
    quantity = page.get_by_label("Quantity of VIP")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#catalog-rows")).to_contain_text("1")


def test_rate_limited_and_stripe_unavailable_are_explained(
    aws, catalog, storefront, new_page, monkeypatch, artifacts
):
    from core.config import config_cache_clear

    aws.provision_config({"orders_rate_limit_per_minute": "0"})
    config_cache_clear()
    page = new_page()
    choose_and_order(page, storefront, {"General admission": 1})
    expect(page.get_by_role("alert")).to_contain_text("Too many orders from your connection")

    aws.provision_config({"orders_rate_limit_per_minute": "30"})
    config_cache_clear()
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{free_port()}")  # nothing there
    # Placing the order needs no Stripe (the payment is opened at "Pay"): seats held.
    page.get_by_role("button", name="Continue to payment").click()
    pay(page, PAYS)
    expect(page.get_by_role("alert")).to_contain_text("Payments are unavailable right now")
    page.screenshot(path=str(artifacts / "storefront-stripe-unavailable.png"), full_page=True)
    [order] = all_orders()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.payment_intent_id is None

    monkeypatch.undo()
    page.get_by_role("button", name="Pay").click()  # the same order, its PaymentIntent now
    expect(page.locator("#order-state")).to_have_attribute(
        "data-state", re.compile("paid|fulfilled"), timeout=15_000
    )
    assert len(all_orders()) == 1


def test_a_buyer_waits_in_the_on_sales_line_then_buys(aws, catalog, storefront, new_page, client):
    """An on-sale with a line: the page joins it, shows the place while earlier buyers
    go first (one admitted a second), then orders with its pass and pays."""
    from datetime import UTC, datetime

    from orders.services.line import onsale_open

    onsale_open(sku="ga-2027", start=datetime.now(UTC), hold_minutes=15, admit_per_second=1)
    for _ in range(10):
        assert client.post("/onsales/ga-2027/line").status_code == 201
    page = new_page()
    choose_and_order(page, storefront, {"General admission": 1})
    expect(page.locator("#progress")).to_contain_text("You are in line", timeout=10_000)
    expect(page.get_by_role("heading", name="2. Pay")).to_be_visible(timeout=30_000)
    pay(page, PAYS)
    expect(page.locator("#order-state")).to_have_attribute(
        "data-state", re.compile("paid|fulfilled"), timeout=20_000
    )
    [order] = all_orders()
    assert order.items[0].sku == "ga-2027"


def test_the_checkout_says_every_mistake_at_once_and_reads_well_after_paying(
    aws, catalog, storefront, new_page, artifacts
):
    """No ticket, a bad e-mail and no name: each field says what is wrong, at once, and the
    banner counts them (it does not repeat a field's message); an ordinary address fits its
    box; after paying, the page is about the order (not "Buy tickets") and says its status
    once; the tab has an icon (no 404)."""
    failed: list[str] = []
    page = new_page()
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(f"{storefront}/")
    expect(page.get_by_label("Quantity of General admission")).to_be_visible()

    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page.locator("#items-error")).to_contain_text("Choose at least one ticket")
    expect(page.locator("#email-error")).to_contain_text("does not look like an e-mail")
    expect(page.locator("#name-error")).to_contain_text("Enter your full name")
    expect(page.locator("#alert")).to_have_text("Please correct the 3 fields marked below.")
    page.screenshot(path=str(artifacts / "storefront-errors.png"), full_page=True)
    address = "margaret.hamilton.apollo@example-university.edu"
    page.get_by_label("E-mail").fill(address)
    fits = page.get_by_label("E-mail").evaluate("e => e.scrollWidth <= e.clientWidth")
    assert fits, "the e-mail box cuts an ordinary address off"

    page.get_by_label("Quantity of General admission").fill("1")
    page.get_by_label("Full name").fill("Margaret Hamilton")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_label("Card number").fill(PAYS)
    page.get_by_label("Expiration date (MM / YY)").fill("12 / 34")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#order-state")).to_have_attribute(
        "data-state", "fulfilled", timeout=20_000
    )

    expect(page.get_by_role("heading", level=1)).to_have_text("Your order")
    body = page.locator("main").inner_text().lower()
    assert body.count("fulfilled") == 1, body  # the status, once
    assert failed == [], failed  # the favicon included
