"""The seat rules of ``orders.services.seats``, called directly: which items count seats,
where a sharded item takes them from, how a canceled transaction's codes are read, and which
layouts a new type may have. The tests without ``aws`` start no server (pure rules); the ones
with it read real shards from the emulator. The sales themselves, concurrent and through HTTP,
are in ``tests/orders/test_seats.py``."""

from __future__ import annotations

import pytest

from core.dynamodb import transaction
from core.exceptions import ValidationFailed
from orders.models import OrderItem, SeatShard, SeatShardTake, TicketType
from orders.services.seats import (
    MAX_SEAT_SHARDS,
    seats_failure,
    seats_plan,
    seats_stock,
)
from tests.factories import ticket_type_create


def item(sku: str, quantity: int = 2) -> OrderItem:
    return OrderItem(sku=sku, name=sku, quantity=quantity, unit_amount=100, amount=100 * quantity)


def planned(*items: OrderItem) -> list[OrderItem]:
    ticket_types = {
        "limited": TicketType(sku="limited", available=10),
        "unlimited": TicketType(sku="unlimited", available=None),
        "hot": TicketType(sku="hot", capacity=1000, seat_shards=4),
    }
    seats_plan(items=items, ticket_types=ticket_types)
    return list(items)


def takes(order_item: OrderItem) -> list[tuple[int, int]]:
    return [(int(t.shard), int(t.quantity)) for t in order_item.shards]


# --- Planning ----------------------------------------------------------------------------------


def test_only_limited_types_count_seats_and_only_sharded_ones_pick_a_shard():
    limited, unlimited, hot = planned(item("limited"), item("unlimited"), item("hot", 3))

    assert (limited.reserved, limited.shards) == (True, None)
    assert (unlimited.reserved, unlimited.shards) == (False, None)
    assert hot.reserved is True
    assert hot.seat_shards == 4
    [(shard, quantity)] = takes(hot)
    assert 0 <= shard < 4 and quantity == 3


def test_shards_are_picked_at_random_so_concurrent_orders_land_apart():
    picked = {takes(planned(item("hot"))[0])[0][0] for _ in range(200)}

    assert picked == {0, 1, 2, 3}


# --- Reading a canceled transaction (no short shard: nothing to read) ------------------------


def test_a_failed_condition_on_a_single_item_type_is_sold_out_for_that_item_only():
    items = planned(item("unlimited"), item("limited"), item("limited", 1))

    # One code per seat update, in seats_take's order: the unlimited item has none.
    failure = seats_failure(items=items, codes=[None, "ConditionalCheckFailed"])

    assert failure.sold_out == [2]
    assert (failure.moved, failure.busy) == (False, False)


def test_a_busy_single_item_type_stays_where_it_is_and_says_busy():
    items = planned(item("limited"))

    failure = seats_failure(items=items, codes=["TransactionConflict"])

    assert (failure.sold_out, failure.moved, failure.busy) == ([], False, True)


@pytest.mark.parametrize("code", ["TransactionConflict", "ThrottlingError"])
def test_a_busy_shard_moves_the_take_to_another_shard_with_the_same_seats(code):
    [hot] = planned(item("hot", 3))
    [(before, _)] = takes(hot)

    failure = seats_failure(items=[hot], codes=[code])

    [(after, quantity)] = takes(hot)
    assert failure.moved is True and failure.busy is False and failure.sold_out == []
    assert after != before and 0 <= after < 4 and quantity == 3


def test_a_busy_take_with_no_unused_shard_left_says_busy():
    [hot] = planned(item("hot", 4))
    hot.shards = [SeatShardTake(shard=n, quantity=1) for n in range(4)]

    failure = seats_failure(items=[hot], codes=[None, None, "TransactionConflict", None])

    assert (failure.moved, failure.busy) == (False, True)
    assert takes(hot) == [(0, 1), (1, 1), (2, 1), (3, 1)]


def test_an_unknown_code_changes_nothing():
    items = planned(item("limited"))

    failure = seats_failure(items=items, codes=["ValidationError"])

    assert (failure.sold_out, failure.moved, failure.busy) == ([], False, False)


# --- Reading a canceled transaction with a short shard (reads the shards) ---------------------


def test_a_short_shard_moves_the_take_to_one_that_has_enough(aws):
    ticket_type_create("hot", available=8, seat_shards=4)  # 2 seats in each shard
    SeatShard(pk=SeatShard.key_for("hot", 3), sku="hot", shard=3, available=5).save()
    [hot] = planned(item("hot", 4))
    hot.shards = [SeatShardTake(shard=0, quantity=4)]

    failure = seats_failure(items=[hot], codes=["ConditionalCheckFailed"])

    assert failure.moved is True and failure.sold_out == []
    assert takes(hot) == [(3, 4)]


def test_when_no_shard_has_enough_the_fullest_ones_share_the_quantity(aws):
    ticket_type_create("hot", available=8, seat_shards=4)  # 2, 2, 2, 2
    [hot] = planned(item("hot", 5))

    failure = seats_failure(items=[hot], codes=["ConditionalCheckFailed"])

    assert failure.moved is True
    assert sorted(q for _, q in takes(hot)) == [1, 2, 2]
    assert len({shard for shard, _ in takes(hot)}) == 3


def test_a_sharded_type_is_sold_out_only_when_all_shards_together_are_short(aws):
    ticket_type_create("hot", available=8, seat_shards=4)
    [hot] = planned(item("hot", 9))

    failure = seats_failure(items=[hot], codes=["ConditionalCheckFailed"])

    assert failure.sold_out == [0] and failure.moved is False


# --- Laying out a new type's seats -------------------------------------------------------------


def test_a_type_on_one_item_keeps_its_seats_on_the_item():
    ticket_type = TicketType(sku="ga", capacity=120, seat_shards=1)

    seats_stock(transaction(), ticket_type=ticket_type)

    assert (ticket_type.available, ticket_type.seat_shards) == (120, None)


@pytest.mark.parametrize("shards", [-1, MAX_SEAT_SHARDS + 1])
def test_a_shard_count_out_of_range_is_refused(shards):
    with pytest.raises(ValidationFailed) as refused:
        seats_stock(
            transaction(), ticket_type=TicketType(sku="ga", capacity=10, seat_shards=shards)
        )

    assert "seat_shards" in refused.value.fields


def test_an_unlimited_type_cannot_be_split_into_shards():
    with pytest.raises(ValidationFailed) as refused:
        seats_stock(transaction(), ticket_type=TicketType(sku="ga", capacity=None, seat_shards=3))

    assert refused.value.fields == {
        "seat_shards": ["An unlimited ticket type has no seats to split."]
    }
