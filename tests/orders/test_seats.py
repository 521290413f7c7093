"""Seat shards (``orders.services.seats``): a hot ticket type's seats split over several items,
drawn from by orders, given back by cancellations and moved by capacity changes, with the
total exact: capacity = seats in orders holding or owning them + seats left in the shards.

The concurrent tests run through the contention model (``bench.dynamo_contention``), which
answers as DynamoDB does when transactions collide on an item or a partition is over budget;
moto alone never refuses a request for being busy."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.test import Client

from bench.dynamo_contention import ContentionModel, ContentionProxy
from core.dynamodb import connections_reset, table_name
from core.exceptions import Conflict
from orders.actions import order_cancel
from orders.models import ORDERS_BY_STATUS, Order, OrderStatus, SeatShard, TicketType
from orders.selectors import catalog_list, ticket_type_get
from orders.services.seats import CapacityBelowSold, seats_capacity_change, seats_shard_levels
from tests.admin_forms import page_form
from tests.factories import order_body, ticket_type_create

pytestmark = pytest.mark.usefixtures("aws")


def buy(n: int, quantity: int = 1, sku: str = "hot", *, deferred: bool = True):
    """Buyer ``n`` (their own address, so the rate limit does not mix them up) orders as the
    reference checkout does (the PaymentIntent at "Pay", so seats alone are tested here; or,
    not ``deferred``, with the PaymentIntent made with the order), and tries again after a 503
    (DynamoDB busy) or a 409 ``conflict`` (other orders took the seats it was about to take:
    see Retry-After)."""
    client = Client(raise_request_exception=False, REMOTE_ADDR=f"10.0.{n // 200}.{n % 200}")
    body = order_body(f"b{n}@example.com", items=[{"sku": sku, "quantity": quantity}])
    for _ in range(5):
        response = client.post(
            "/orders",
            json.dumps(body),
            content_type="application/json",
            headers={"API-Version": "2026-12-07" if deferred else "2025-01-01"},
        )
        collided = response.status_code == 409 and response.json()["error"]["code"] == "conflict"
        if response.status_code != 503 and not collided:
            break
    return response


def buy_once(n: int, quantity: int = 1, sku: str = "hot"):
    """Buyer ``n``'s order, sent once (no retry: the answer itself is under test)."""
    client = Client(raise_request_exception=False, REMOTE_ADDR=f"10.1.{n // 200}.{n % 200}")
    body = order_body(f"b{n}@example.com", items=[{"sku": sku, "quantity": quantity}])
    return client.post(
        "/orders", json.dumps(body), content_type="application/json",
        headers={"API-Version": "2026-12-07"},
    )  # fmt: skip


def levels(sku: str = "hot") -> list[int]:
    """Seats left in each shard (the one item's ``available`` for an unsharded type)."""
    ticket_type = TicketType.get(sku, consistent_read=True)
    if not ticket_type.sharded:
        return [int(ticket_type.available)]
    shards = int(ticket_type.seat_shards)
    by_shard = seats_shard_levels(shard_counts={sku: shards})[sku]
    return [by_shard[n] for n in range(shards)]


def levels_set(values: list[int], sku: str = "hot") -> None:
    """Set-up: the shards as an on-sale might have left them (drained unevenly)."""
    for n, available in enumerate(values):
        SeatShard(pk=SeatShard.key_for(sku, n), sku=sku, shard=n, available=available).save()


def seats_in_orders(sku: str = "hot") -> int:
    """Seats of the orders that hold or own them (every status but canceled)."""
    orders = [
        o for status in OrderStatus if status != OrderStatus.CANCELED
        for o in ORDERS_BY_STATUS.query(status.value)
    ]  # fmt: skip
    return sum(int(i.quantity) for o in orders for i in o.items if i.sku == sku)


def assert_exact(capacity: int, sku: str = "hot") -> None:
    left = levels(sku)
    assert min(left) >= 0
    assert seats_in_orders(sku) + sum(left) == capacity
    assert int(TicketType.get(sku, consistent_read=True).capacity) == capacity


@pytest.fixture
def contention(local_stack, monkeypatch) -> Iterator[ContentionProxy]:
    """The app's DynamoDB requests go through the contention model (1 ms latency, DynamoDB's
    budgets) for this test."""
    proxy = ContentionProxy(local_stack.aws_url, model=ContentionModel(latency=0.001)).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    connections_reset()
    yield proxy
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_stack.aws_url)
    connections_reset()
    proxy.shutdown()
    proxy.server_close()


# --- Layout and catalog ----------------------------------------------------------------------


def test_a_sharded_type_spreads_its_seats_and_the_catalog_shows_their_sum(aws):
    ticket_type_create("hot", available=1003, seat_shards=4)
    ticket_type_create("ga", available=12)

    assert levels() == [251, 251, 251, 250]
    assert TicketType.get("hot").available is None  # not on the type's item
    response = Client().get("/catalog")
    assert {t["sku"]: t["available"] for t in response.json()} == {"hot": 1003, "ga": 12}
    assert ticket_type_get(sku="hot").available == 1003


def test_an_order_takes_its_seats_from_one_shard_and_a_cancel_gives_them_back_there(aws):
    ticket_type_create("hot", available=40, seat_shards=4)

    response = buy(1, quantity=3)

    assert response.status_code == 201
    order = Order.query(response.json()["order_id"], limit=1).next()
    (item,) = order.items
    assert [(int(t.shard), int(t.quantity)) for t in item.shards] == [
        (n, 3) for n, left in enumerate(levels()) if left == 7
    ]
    assert sum(levels()) == 37
    order_cancel(order_id=order.order_id, reason="test")
    assert levels() == [10, 10, 10, 10]


def test_stripe_unreachable_gives_the_seats_back_to_their_shard(aws, monkeypatch):
    ticket_type_create("hot", available=40, seat_shards=4)
    levels_set([10, 1, 10, 10])
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{closed}")

    responses = [buy(n, quantity=2, deferred=False) for n in range(3)]

    assert [r.status_code for r in responses] == [503] * 3
    assert levels() == [10, 1, 10, 10]
    assert seats_in_orders() == 0


# --- Draining unevenly and the last seats -------------------------------------------------------


def test_shards_drained_unevenly_sell_every_seat_then_answer_sold_out(aws):
    ticket_type_create("hot", available=40, seat_shards=4)
    levels_set([0, 5, 0, 1])  # 34 seats in orders elsewhere, say; 6 left

    codes = [buy(n).status_code for n in range(8)]

    assert codes == [201] * 6 + [409] * 2
    assert levels() == [0, 0, 0, 0]
    assert seats_in_orders() == 6


def test_the_last_seats_of_an_order_come_from_several_shards(aws):
    ticket_type_create("hot", available=8, seat_shards=4)
    levels_set([1, 0, 1, 1])

    response = buy(1, quantity=3)

    assert response.status_code == 201
    (item,) = Order.query(response.json()["order_id"], limit=1).next().items
    assert sorted((int(t.shard), int(t.quantity)) for t in item.shards) == [(0, 1), (2, 1), (3, 1)]
    assert levels() == [0, 0, 0, 0]
    again = buy(2)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "sold_out"


def test_more_seats_than_all_shards_hold_is_sold_out_and_takes_none(aws):
    ticket_type_create("hot", available=8, seat_shards=4)
    levels_set([1, 0, 1, 0])

    response = buy(1, quantity=3)

    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"items.0.quantity": ["Not enough seats left."]}
    assert levels() == [1, 0, 1, 0]
    assert seats_in_orders() == 0


def test_a_canceled_split_order_gives_each_shard_its_seats_back(aws):
    ticket_type_create("hot", available=8, seat_shards=4)
    levels_set([1, 0, 2, 0])
    order_id = buy(1, quantity=3).json()["order_id"]

    order_cancel(order_id=order_id, reason="test")

    assert levels() == [1, 0, 2, 0]


# --- Concurrency, through the contention model ------------------------------------------------


def test_many_concurrent_buyers_get_exactly_the_seats_there_are(aws, contention):
    ticket_type_create("hot", available=30, seat_shards=4)
    levels_set([12, 9, 6, 3])
    buyers = 40

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda n: buy(n), range(buyers)))

    codes = [r.status_code for r in responses]
    assert codes.count(201) == 30
    assert codes.count(409) == 10
    assert levels() == [0, 0, 0, 0]
    assert seats_in_orders() == 30


def test_an_order_whose_seats_other_orders_hold_on_every_try_is_told_to_send_it_again(
    aws, contention
):
    """The last seats of an on-sale, raced for: other orders' transactions hold the ticket
    type's seats on each of this order's tries, and DynamoDB refuses every one with
    ``TransactionConflict``. Nothing is ordered; the buyer is told so and when to send it
    again (409 ``conflict``, ``Retry-After: 1``: DynamoDB answered, others were faster, not a
    503). Sent again once they are done, the order gets its seats."""
    ticket_type_create("last", available=3)
    key = {"sku": {"S": "last"}}
    seats_item = f"{TicketType.Meta.table_name}|{json.dumps(key, sort_keys=True)}"
    with contention.model.lock:  # another order's transaction, in flight on every try
        contention.model.in_flight[seats_item] += 1

    held = buy_once(1, sku="last")

    assert held.status_code == 409, held.content[:300]
    assert held.json()["error"]["code"] == "conflict"
    assert held["Retry-After"] == "1"
    assert contention.model.refused["TransactionConflict"] >= 6  # each try, refused
    assert levels("last") == [3] and seats_in_orders("last") == 0

    with contention.model.lock:  # the other order is done
        del contention.model.in_flight[seats_item]
    again = buy_once(1, sku="last")

    assert again.status_code == 201, again.content[:300]
    assert levels("last") == [2] and seats_in_orders("last") == 1


def test_the_contention_model_refuses_overlapping_transactions_as_dynamodb_does(aws, contention):
    ticket_type_create("hot", available=100, seat_shards=2)
    # Hold each transaction long enough (3 s) to overlap even on a busy machine.
    contention.model.latency = 1.5
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=contention.url,
        region_name="us-east-2",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    update = {
        "Update": {
            "TableName": table_name("backoffice"),
            "Key": {"pk": {"S": SeatShard.key_for("hot", 0)}, "sk": {"S": "SHARD"}},
            "UpdateExpression": "ADD available :minus",
            "ExpressionAttributeValues": {":minus": {"N": "-1"}},
        }
    }
    other = json.loads(json.dumps(update))
    other["Update"]["Key"]["pk"]["S"] = SeatShard.key_for("hot", 1)
    results: list = []

    def attempt(items) -> None:
        try:
            dynamodb.transact_write_items(TransactItems=items)
            results.append("ok")
        except ClientError as error:
            results.append(error.response)

    first = threading.Thread(target=attempt, args=([update],))
    first.start()
    while not contention.model.in_flight:
        time.sleep(0.01)
    attempt([other, update])  # shard 1 is free, shard 0 is in the first transaction
    first.join()

    assert results.count("ok") == 1, results  # the first one, whichever answer came first
    (refused,) = [r for r in results if r != "ok"]
    assert refused["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in refused["CancellationReasons"]] == ["None", "TransactionConflict"]
    assert levels() == [49, 50]


def test_the_contention_model_throttles_a_partition_past_its_write_units(aws, contention):
    # A clock 10,000 times slower than DynamoDB's: a tenth of a write unit a second.
    contention.model.rate, contention.model.latency = 0.1, 0.0
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=contention.url,
        region_name="us-east-2",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    outcomes = []
    for _ in range(4):
        try:
            dynamodb.update_item(
                TableName=table_name("backoffice"),
                Key={"pk": {"S": "RATE#x#1"}, "sk": {"S": "COUNTER"}},
                UpdateExpression="ADD hits :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    dynamodb.update_item(  # another partition has its own budget
        TableName=table_name("backoffice"),
        Key={"pk": {"S": "RATE#y#1"}, "sk": {"S": "COUNTER"}},
        UpdateExpression="ADD hits :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )

    assert outcomes == ["ok"] + ["ThrottlingException"] * 3


# --- Capacity changes --------------------------------------------------------------------------


def test_a_capacity_increase_goes_to_the_emptiest_shard(aws):
    ticket_type = ticket_type_create("hot", available=40, seat_shards=4)
    levels_set([10, 3, 0, 7])

    seats_capacity_change(ticket_type=ticket_type, capacity=46, version=ticket_type.version)

    assert levels() == [10, 3, 6, 7]
    assert int(TicketType.get("hot").capacity) == 46


def test_a_capacity_decrease_comes_off_the_fullest_shards_first(aws):
    ticket_type = ticket_type_create("hot", available=40, seat_shards=4)
    levels_set([10, 3, 0, 7])

    seats_capacity_change(ticket_type=ticket_type, capacity=33, version=ticket_type.version)

    assert levels() == [3, 3, 0, 7]
    assert int(TicketType.get("hot").capacity) == 33


def test_a_decrease_below_the_seats_sold_is_refused_and_changes_nothing(aws):
    ticket_type = ticket_type_create("hot", available=40, seat_shards=4)
    levels_set([1, 0, 2, 0])

    with pytest.raises(CapacityBelowSold):
        seats_capacity_change(ticket_type=ticket_type, capacity=36, version=ticket_type.version)

    assert levels() == [1, 0, 2, 0]
    assert int(TicketType.get("hot").capacity) == 40


def test_a_capacity_change_from_a_stale_read_is_refused(aws):
    ticket_type = ticket_type_create("hot", available=40, seat_shards=4)
    seats_capacity_change(ticket_type=ticket_type, capacity=50, version=ticket_type.version)

    with pytest.raises(Conflict):
        seats_capacity_change(ticket_type=ticket_type, capacity=60, version=ticket_type.version)

    assert int(TicketType.get("hot").capacity) == 50
    assert sum(levels()) == 50


@pytest.mark.parametrize("shards", [1, 4])
def test_a_decrease_below_what_is_left_is_refused_by_dynamodb(aws, shards):
    ticket_type_create("hot", available=10, seat_shards=shards)
    assert buy(1, quantity=8).status_code == 201
    ticket_type = TicketType.get("hot", consistent_read=True)  # a sale bumps an unsharded one

    with pytest.raises(CapacityBelowSold):
        seats_capacity_change(ticket_type=ticket_type, capacity=7, version=ticket_type.version)
    seats_capacity_change(ticket_type=ticket_type, capacity=8, version=ticket_type.version)

    assert ticket_type_get(sku="hot").available == 0
    assert_exact(8)


def test_capacity_changes_racing_sales_keep_the_total_exact(aws, contention):
    ticket_type_create("hot", available=60, seat_shards=4)
    changes = [+10, -15, +5, -20, +7]
    outcomes: list[str] = []

    def change(delta: int) -> None:
        for _ in range(20):  # as staff would: read again and retry after a conflict
            current = TicketType.get("hot", consistent_read=True)
            try:
                seats_capacity_change(
                    ticket_type=current,
                    capacity=int(current.capacity) + delta,
                    version=current.version,
                )
                outcomes.append("changed")
                return
            except Conflict:
                continue
            except CapacityBelowSold:
                outcomes.append("refused")
                return

    with ThreadPoolExecutor(12) as pool:
        sales = [pool.submit(buy, n, 2) for n in range(30)]
        edits = [pool.submit(change, delta) for delta in changes]
        [f.result() for f in sales + edits]

    assert len(outcomes) == len(changes)
    capacity = int(TicketType.get("hot", consistent_read=True).capacity)
    assert_exact(capacity)
    assert {f.result().status_code for f in sales} <= {201, 409}


def test_the_catalog_reads_every_shard_of_every_sharded_type_in_one_batch(aws, contention):
    ticket_type_create("hot", available=100, seat_shards=8)
    ticket_type_create("warm", available=50, seat_shards=2)
    contention.meter.reset()

    entries = {t.sku: t.available for t in catalog_list()}

    assert entries == {"hot": 100, "warm": 50}
    _, _, by_operation = contention.meter.snapshot()
    assert by_operation == {"Query": 1, "BatchGetItem": 1}


# --- Staff, through the admin -------------------------------------------------------------------


def test_finance_adds_a_sharded_type_and_edits_its_capacity_in_the_admin(staff_client):
    finance = staff_client("finance")
    form = {
        "sku": "final-2027",
        "name": "Final",
        "description": "The on-sale",
        "unit_amount": "99.00",
        "currency": "usd",
        "capacity": 1000,
        "seat_shards": 8,
        "active": "on",
    }

    assert finance.post("/admin/orders/tickettype/add/", form).status_code == 302
    assert levels("final-2027") == [125] * 8
    assert buy(1, quantity=4, sku="final-2027").status_code == 201
    page = finance.get("/admin/orders/tickettype/final-2027/change/")
    hidden = page_form(page.content.decode(), "tickettype_form")
    edit = {k: v for k, v in form.items() if k not in {"sku", "currency", "seat_shards"}}
    response = finance.post(
        "/admin/orders/tickettype/final-2027/change/",
        {**edit, "capacity": 990, "_version": hidden["_version"], "_once": hidden["_once"]},
    )

    assert "996" in page.content.decode()  # seats left, summed over the shards
    assert response.status_code == 302
    assert_exact(990, "final-2027")
    assert ticket_type_get(sku="final-2027").available == 986
