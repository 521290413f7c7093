"""The on-sale's line over HTTP: a buyer joins, waits its turn (first come, first admitted),
orders with its pass; nobody orders without one; sold out ends the line for everyone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from orders.services.line import line_get, onsale_open
from tests.factories import order_body, seats_available, ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")

DEFERRED = {"API-Version": "2026-12-07"}


def join(client: Client, sku: str = "ga"):
    return client.post(f"/onsales/{sku}/line")


def status(client: Client, token: str, sku: str = "ga"):
    return client.get(f"/onsales/{sku}/line", headers={"Line-Token": token})


def order(client: Client, token: str | None = None, quantity: int = 2):
    headers = {**DEFERRED, **({"Line-Token": token} if token else {})}
    body = order_body(items=[{"sku": "ga", "quantity": quantity}])
    return client.post("/orders", json.dumps(body), content_type="application/json",
                       headers=headers)  # fmt: skip


def wait_until(client: Client, token: str, wanted: str, seconds: float = 10.0) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        answer = status(client, token).json()
        if answer["status"] == wanted or time.monotonic() > deadline:
            return answer
        time.sleep(0.3)


def test_buyers_are_admitted_in_the_order_they_came_and_order_with_their_pass(client):
    ticket_type_create("ga", available=10)
    onsale_open(sku="ga", start=datetime.now(UTC), hold_minutes=15, admit_per_second=1)

    without = order(client)
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "line_pass_required"
    tokens = [join(client).json()["token"] for _ in range(5)]
    last = status(client, tokens[-1])
    assert last.headers["Cache-Control"] == "no-store"
    assert last.json()["status"] == "waiting"
    assert last.json()["place"] >= 1 and last.json()["estimate_seconds"] >= 1
    refused = order(client, tokens[-1])
    assert refused.json()["error"]["code"] == "line_not_admitted_yet"

    # One a second, in arrival order: polled from the last to the first, whoever is admitted
    # has everyone before them admitted too (the line only moves forward).
    admitted: set[int] = set()
    deadline = time.monotonic() + 20
    while len(admitted) < len(tokens) and time.monotonic() < deadline:
        admitted = {
            n
            for n in reversed(range(len(tokens)))
            if status(client, tokens[n]).json()["status"] == "admitted"
        }
        assert admitted == set(range(len(admitted))), f"admitted out of order: {admitted}"
        time.sleep(0.2)
    assert admitted == set(range(len(tokens)))
    placed = order(client, tokens[0])
    assert placed.status_code == 201
    assert seats_available("ga") == 8


def test_a_forged_or_foreign_token_is_refused(client):
    ticket_type_create("ga", available=10)
    ticket_type_create("vip", available=10)
    onsale_open(sku="ga", start=datetime.now(UTC), hold_minutes=15, admit_per_second=100)
    onsale_open(sku="vip", start=datetime.now(UTC), hold_minutes=15, admit_per_second=100)
    token = join(client, "vip").json()["token"]

    assert status(client, token + "x", "vip").status_code == 403
    assert status(client, token, "ga").json()["error"]["code"] == "line_pass_required"
    assert order(client, token).status_code == 403  # a vip place is no ga pass
    assert join(client, "nope").status_code == 404


def test_sold_out_ends_the_line_for_everyone_waiting(client):
    ticket_type_create("ga", available=2)
    onsale_open(sku="ga", start=datetime.now(UTC) - timedelta(seconds=5), hold_minutes=15,
                admit_per_second=100)  # fmt: skip
    first = join(client).json()["token"]
    assert wait_until(client, first, "admitted")["status"] == "admitted"
    placed = order(client, first)
    assert placed.status_code == 201
    # The last seats are held by an unpaid order: the line waits (they may come back).
    later = join(client).json()["token"]
    time.sleep(0.6)
    assert status(client, later).json()["status"] == "waiting"

    from orders.actions import payment_succeeded  # the buyer paid: nothing held any more

    payment_succeeded(order_id=placed.json()["order_id"], actor="test", first_news=True)
    assert wait_until(client, later, "sold_out")["status"] == "sold_out"


def test_an_admitted_buyer_waits_for_seats_held_in_carts_and_gets_those_not_paid(client):
    from orders.actions import order_cancel, payment_succeeded

    ticket_type_create("ga", available=4)
    onsale_open(sku="ga", start=datetime.now(UTC) - timedelta(seconds=5), hold_minutes=15,
                admit_per_second=100)  # fmt: skip
    tokens = [join(client).json()["token"] for _ in range(4)]
    for token in tokens:
        assert wait_until(client, token, "admitted")["status"] == "admitted"
    first, second = order(client, tokens[0]).json(), order(client, tokens[1]).json()

    # Every seat is in an unpaid cart: the third buyer is not told "sold out" but to wait.
    time.sleep(0.3)  # the line recounts at most every quarter second
    waiting = order(client, tokens[2])
    assert waiting.status_code == 409
    assert waiting.json()["error"]["code"] == "seats_in_carts"
    assert waiting.headers["Retry-After"] == "10"
    assert "items.0.quantity" in waiting.json()["error"]["fields"]

    # The first cart is given up (its hold ran out, or staff canceled it): its seats go to
    # the buyer who waited, with the same pass.
    order_cancel(order_id=first["order_id"], reason="expired")
    third = order(client, tokens[2])
    assert third.status_code == 201

    # The others pay: nothing left and nothing held, the last buyer is told it is over.
    payment_succeeded(order_id=second["order_id"], actor="test", first_news=True)
    payment_succeeded(order_id=third.json()["order_id"], actor="test", first_news=True)
    time.sleep(0.3)
    last = order(client, tokens[3])
    assert last.status_code == 409 and last.json()["error"]["code"] == "sold_out"
    assert seats_available("ga") == 0


def test_staff_see_the_line_on_the_dashboard(client, staff_client):
    ticket_type_create("ga", available=10)
    onsale_open(sku="ga", start=datetime.now(UTC) - timedelta(seconds=30), hold_minutes=12,
                admit_per_second=0.001)  # fmt: skip
    token = join(client).json()["token"]
    assert status(client, token).json()["status"] == "waiting"  # the line counted it

    page = staff_client("viewer").get("/admin/dashboard/").content.decode()

    section = page[page.index('id="onsales"') :]
    assert '<th scope="row">ga</th>' in section
    assert "<td>1</td>" in section  # one waiting
    assert "<td>10</td>" in section  # seats left
    assert "12 min" in section


def test_finance_staff_open_an_on_sale_from_the_ticket_type_page(client, staff_client):
    from tests.admin_forms import act, action_form

    ticket_type_create("ga", available=10)
    url = "/admin/orders/tickettype/ga/"
    with pytest.raises(AssertionError):  # a viewer is not offered the button
        action_form(staff_client("viewer"), url, "open_onsale")
    finance = staff_client("finance")
    opens = datetime.now(UTC) - timedelta(seconds=5)

    done = act(finance, url, "open_onsale", {"start": opens.strftime("%Y-%m-%d %H:%M:%S"),
               "hold_minutes": "12", "admit_per_second": "40"}, follow=True)  # fmt: skip
    refused = act(finance, url, "open_onsale", {"start": "tomorrow", "hold_minutes": "0",
                  "admit_per_second": "40"}, follow=True)  # fmt: skip

    assert "The on-sale of ga opens" in done.content.decode()
    assert "12 min" in finance.get(url + "change/").content.decode()  # the page says so
    assert order(client).status_code == 403  # buyers now need a place in the line
    token = join(client).json()["token"]
    assert wait_until(client, token, "admitted")["status"] == "admitted"
    assert order(client, token).status_code == 201
    assert "The on-sale of ga opens" not in refused.content.decode()
    assert line_get(sku="ga").hold_minutes == 12  # the bad form changed nothing
