"""Seats: the pieces of a DynamoDB transaction that take seats from or give seats back to a
ticket type, and the staff's capacity changes. Callers put the pieces in the same
``TransactWrite`` as the order change they belong to, so seats and orders can never disagree.

Two layouts, chosen per ticket type when it is created (``TicketType.seat_shards``):

- **One item** (``seat_shards`` absent or 1, the default): the seats left are ``available`` on
  the ticket-type item. Taking ``q`` seats is ``available = available - q`` with the condition
  ``available >= q`` and the type still active: two buyers can never get the same last seat,
  and ``available`` never goes below zero. Each update bumps the ticket type's version, so a
  staff edit made from a stale read is refused, not overwritten. Right for all but the hottest
  types: DynamoDB runs one transaction at a time on an item (a concurrent one is canceled with
  ``TransactionConflict``) and one partition takes about 1,000 write units a second, so one
  item sells a few dozen orders a second under contention (``bench/onsale.py``).
- **Shards** (``seat_shards`` = N, 2..96, for an on-sale): the seats are split over N
  ``SeatShard`` items, each with its own partition key. An order takes its seats from one
  shard chosen at random, with the same ``available >= q`` condition on that shard, so
  concurrent orders land on different items. If the shard is short (its condition fails), the
  order reads every shard (one BatchGet) and takes from one that has enough, or splits the
  quantity over several; it is sold out only when all shards together have fewer than ``q``
  seats. If it collided with another transaction on its shard, it moves to another shard. The
  order item records the shards it took from (``OrderItem.shards``) and a cancellation gives
  the seats back to those shards. The total is exact at every moment:
  ``capacity = seats sold + seats held by pending orders + sum of the shards' available``.
  Sales do not touch the ticket-type item, so staff edits are not refused because of them.
  The ``active`` flag is checked when the order reads the catalog (strongly consistent), not
  inside the transaction: an order that read the type active milliseconds before staff
  deactivated it may still go through, as if it had come a moment earlier.

Unlimited types (``available`` absent, not sharded) are not touched.

A capacity change (``seats_capacity_change``) moves the seats left by exactly the change (for
a sharded type into the emptiest shard or out of the fullest ones), in one transaction with
the ticket-type item, and is refused when more seats are sold or held than the new capacity.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from core.backoffice import SEAT_SHARD
from core.dynamodb import cancellation_codes, transaction
from core.exceptions import Conflict, ServiceUnavailable, ValidationFailed
from orders.models import OrderItem, SeatShard, SeatShardTake, TicketType

# A capacity change writes the ticket type and every shard in one transaction (at most 100
# items), and a type's shards are read with one BatchGet (at most 100 keys).
MAX_SEAT_SHARDS = 96
# Cancellation reasons that say "busy, try again" rather than "no": another transaction on
# the item, or the item's partition over its write budget.
TRANSIENT_CODES = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
CAPACITY_ATTEMPTS = 10
_random = random.SystemRandom()


class CapacityBelowSold(ValidationFailed):
    message = "More seats are sold than the new capacity allows."


# --- Reads -------------------------------------------------------------------------------------


def _shard_keys(sku: str, shards: int) -> list[tuple[str, str]]:
    return [(SeatShard.key_for(sku, n), SEAT_SHARD.sk) for n in range(shards)]


def seats_shard_levels(
    *, shard_counts: dict[str, int], consistent: bool = True
) -> dict[str, dict[int, int]]:
    """The seats left in each shard of each sharded type (``sku -> shard -> available``), in
    one BatchGet per 100 shards. A missing shard counts as empty."""
    keys = [key for sku, n in sorted(shard_counts.items()) for key in _shard_keys(sku, n)]
    levels: dict[str, dict[int, int]] = {
        sku: dict.fromkeys(range(n), 0) for sku, n in shard_counts.items()
    }
    if keys:
        for shard in SeatShard.batch_get(keys, consistent_read=consistent):
            levels[shard.sku][int(shard.shard)] = int(shard.available)
    return levels


def seats_fill(*, ticket_types: Iterable[TicketType], consistent: bool = True) -> None:
    """Set ``available`` on each sharded type to the sum over its shards (one BatchGet for all
    of them); other types are left as read."""
    sharded = {t.sku: t for t in ticket_types if t.sharded}
    if not sharded:
        return
    levels = seats_shard_levels(
        shard_counts={sku: int(t.seat_shards) for sku, t in sharded.items()},
        consistent=consistent,
    )
    for sku, ticket_type in sharded.items():
        ticket_type.available = sum(levels[sku].values())


# --- Creating a type's shards ------------------------------------------------------------------


def seats_stock(transaction: TransactWrite, *, ticket_type: TicketType) -> None:
    """Lay out the seats of a new ticket type that the caller saves in ``transaction``: on the
    item itself (``available = capacity``), or split evenly over ``seat_shards`` new shards."""
    shards = int(ticket_type.seat_shards or 1)
    if shards < 1 or shards > MAX_SEAT_SHARDS:
        raise ValidationFailed(fields={"seat_shards": [f"From 1 to {MAX_SEAT_SHARDS}."]})
    if shards > 1 and ticket_type.capacity is None:
        raise ValidationFailed(
            fields={"seat_shards": ["An unlimited ticket type has no seats to split."]}
        )
    if shards == 1:
        ticket_type.seat_shards = None
        ticket_type.available = ticket_type.capacity
        return
    ticket_type.available = None
    for n, seats in enumerate(_spread(int(ticket_type.capacity), shards)):
        transaction.save(
            SeatShard(
                pk=SeatShard.key_for(ticket_type.sku, n),
                sku=ticket_type.sku,
                shard=n,
                available=seats,
            ),
            condition=SeatShard.pk.does_not_exist(),
        )


def _spread(total: int, shards: int) -> list[int]:
    """``total`` split over ``shards`` as evenly as whole seats allow."""
    return [total // shards + (1 if n < total % shards else 0) for n in range(shards)]


# --- Orders: take and give back ----------------------------------------------------------------


def seats_plan(*, items: Iterable[OrderItem], ticket_types: dict[str, TicketType]) -> None:
    """Mark the items whose seats are counted (``reserved``) and, for a sharded type, pick the
    shard each takes from (at random; ``seats_failure`` moves it if that shard is short)."""
    for item in items:
        ticket_type = ticket_types[item.sku]
        item.reserved = ticket_type.limited
        if item.reserved and ticket_type.sharded:
            item.seat_shards = int(ticket_type.seat_shards)
            item.shards = [
                SeatShardTake(shard=_random.randrange(item.seat_shards), quantity=item.quantity)
            ]


def _ticket_type_ref(sku: str) -> TicketType:
    # A key-only instance: the version value only makes PynamoDB add ``version + 1``; the
    # condition on it is turned off, because a sale must not fail on a concurrent sale.
    return TicketType(sku=sku, version=0)


def _shard_ref(sku: str, shard: int) -> SeatShard:
    return SeatShard(pk=SeatShard.key_for(sku, shard), sku=sku, shard=shard, available=0)


def _entries(items: Sequence[OrderItem]) -> list[tuple[int, int | None]]:
    """For each update ``seats_take`` adds: (index of the item, index of its shard take)."""
    entries: list[tuple[int, int | None]] = []
    for index, item in enumerate(items):
        if item.reserved:
            if item.shards:
                entries += [(index, n) for n in range(len(item.shards))]
            else:
                entries.append((index, None))
    return entries


def seats_take(transaction: TransactWrite, *, items: Iterable[OrderItem]) -> None:
    """Add the seat decrements of ``items`` (those marked ``reserved``) to ``transaction``."""
    for item in items:
        if not item.reserved:
            continue
        if item.shards:
            for take in item.shards:
                transaction.update(
                    _shard_ref(item.sku, int(take.shard)),
                    actions=[SeatShard.available.add(-int(take.quantity))],
                    condition=SeatShard.available >= int(take.quantity),
                )
        else:
            transaction.update(
                _ticket_type_ref(item.sku),
                actions=[TicketType.available.add(-item.quantity)],
                condition=(TicketType.available >= item.quantity) & (TicketType.active == True),  # noqa: E712
                add_version_condition=False,
            )


def seats_give_back(transaction: TransactWrite, *, items: Iterable[OrderItem]) -> None:
    """Add the seat increments of ``items`` (those marked ``reserved``) to ``transaction``: to
    the shards they came from for a sharded type."""
    for item in items:
        if not item.reserved:
            continue
        if item.shards:
            for take in item.shards:
                transaction.update(
                    _shard_ref(item.sku, int(take.shard)),
                    actions=[SeatShard.available.add(int(take.quantity))],
                    condition=SeatShard.pk.exists(),
                )
        else:
            transaction.update(
                _ticket_type_ref(item.sku),
                actions=[TicketType.available.add(item.quantity)],
                condition=TicketType.available.exists(),
                add_version_condition=False,
            )


@dataclass
class SeatsFailure:
    """What the seat updates of a canceled order transaction say (``seats_failure``)."""

    sold_out: list[int] = field(default_factory=list)  # items (by index) that cannot be had
    moved: bool = False  # a sharded item now takes from other shards: try again at once
    busy: bool = False  # an item was busy (conflict, throttled) and stays where it was


def seats_failure(*, items: Sequence[OrderItem], codes: Sequence[str | None]) -> SeatsFailure:
    """Read the cancellation codes of the seat updates (in ``seats_take``'s order) of a canceled
    transaction, and for a sharded type move the order's take where seats are: a short shard
    makes it read all shards (one BatchGet) and take from those that have seats; a busy shard
    moves it to another shard at random. An item is sold out when the one item (unsharded) or
    all shards together (sharded) have fewer seats than it needs."""
    failure = SeatsFailure()
    short: dict[int, OrderItem] = {}
    for (index, take), code in zip(_entries(items), codes, strict=False):
        item = items[index]
        if code == "ConditionalCheckFailed":
            if take is None:
                failure.sold_out.append(index)
            else:
                short[index] = item
        elif code in TRANSIENT_CODES:
            if take is not None and _take_move(item, take):
                failure.moved = True
            else:
                failure.busy = True
    if short:
        levels = seats_shard_levels(
            shard_counts={item.sku: int(item.seat_shards) for item in short.values()}
        )
        for index, item in short.items():
            takes = _plan(levels[item.sku], int(item.quantity))
            if takes is None:
                failure.sold_out.append(index)
            else:
                item.shards = takes
                failure.moved = True
    failure.sold_out.sort()
    return failure


def _take_move(item: OrderItem, take: int) -> bool:
    """Point take number ``take`` of ``item`` at another shard it does not use yet."""
    used = {int(t.shard) for t in item.shards}
    free = [n for n in range(int(item.seat_shards)) if n not in used]
    if not free:
        return False
    item.shards[take] = SeatShardTake(
        shard=_random.choice(free), quantity=item.shards[take].quantity
    )
    return True


def _plan(levels: dict[int, int], quantity: int) -> list[SeatShardTake] | None:
    """Where ``quantity`` seats come from, given each shard's seats left: one shard with enough
    (at random, to keep orders apart), else the fullest shards together; None if the shards
    together have fewer."""
    enough = [n for n, left in levels.items() if left >= quantity]
    if enough:
        return [SeatShardTake(shard=_random.choice(enough), quantity=quantity)]
    if sum(max(0, left) for left in levels.values()) < quantity:
        return None
    takes, need = [], quantity
    for n, left in sorted(levels.items(), key=lambda level: -level[1]):
        if need == 0 or left <= 0:
            break
        taken = min(left, need)
        takes.append(SeatShardTake(shard=n, quantity=taken))
        need -= taken
    return takes


# --- Staff: capacity ---------------------------------------------------------------------------


def seats_capacity_change(
    *,
    ticket_type: TicketType,
    capacity: int | None,
    version: int,
    actions: Sequence = (),
) -> None:
    """Set the capacity of ``ticket_type`` (as read at ``version``) to ``capacity`` and move
    the seats left by the same amount, together with the other ``actions`` on the type's
    item, in one transaction. ``Conflict`` if the type changed since ``version``;
    ``CapacityBelowSold`` if fewer seats are left than the decrease; nothing is written then.

    Unsharded: ``available ADD change``, with the condition ``available >= -change`` for a
    decrease (decided by DynamoDB, not from the staff's read). Sharded: an increase goes to the
    emptiest shard, a decrease comes off the fullest shards, each with the condition that it
    has that many left (``_capacity_plan``); a sale that empties one meanwhile makes the change
    read the shards again and re-plan. Unlimited becomes limited with every seat left, and
    limited becomes unlimited (seats no longer counted) only for an unsharded type."""
    old = None if ticket_type.capacity is None else int(ticket_type.capacity)
    seat_actions: list = []
    seat_condition = None
    if capacity == old:
        pass
    elif capacity is None:
        if ticket_type.sharded:
            raise ValidationFailed("A ticket type with seat shards cannot become unlimited.")
        seat_actions = [TicketType.capacity.remove(), TicketType.available.remove()]
    elif old is None:
        seat_actions = [TicketType.capacity.set(capacity), TicketType.available.set(capacity)]
    else:
        seat_actions = [TicketType.capacity.set(capacity)]
        if not ticket_type.sharded:
            seat_actions.append(TicketType.available.add(capacity - old))
            if capacity < old:
                seat_condition = TicketType.available >= old - capacity
    change = 0 if capacity is None or old is None else capacity - old
    for attempt in range(CAPACITY_ATTEMPTS):
        shard_updates = _capacity_plan(ticket_type, change) if ticket_type.sharded else []
        condition = TicketType.version == version
        if seat_condition is not None:
            condition &= seat_condition
        try:
            with transaction() as t:
                t.update(
                    TicketType(sku=ticket_type.sku, version=version),
                    actions=[*actions, *seat_actions],  # PynamoDB adds version + 1
                    condition=condition,
                    add_version_condition=False,
                )
                for shard, amount in shard_updates:
                    t.update(
                        _shard_ref(ticket_type.sku, shard),
                        actions=[SeatShard.available.add(amount)],
                        condition=SeatShard.available >= -amount
                        if amount < 0
                        else SeatShard.pk.exists(),
                    )
            return
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if not codes:
                raise
            if codes[0] == "ConditionalCheckFailed":
                if seat_condition is None:
                    raise Conflict() from None
                current = TicketType.get(ticket_type.sku, consistent_read=True)
                if int(current.version) != version:
                    raise Conflict() from None
                raise CapacityBelowSold() from None
            if attempt + 1 < CAPACITY_ATTEMPTS and (
                "ConditionalCheckFailed" in codes[1:] or TRANSIENT_CODES.intersection(codes)
            ):
                # A sale took seats from a shard meanwhile, or an item was busy: look again.
                time.sleep(_random.uniform(0, min(1.0, 0.02 * 2**attempt)))
                continue
            raise ServiceUnavailable() from None
    raise ServiceUnavailable()


def _capacity_plan(ticket_type: TicketType, change: int) -> list[tuple[int, int]]:
    """(shard, seats to add) for a capacity change of ``change`` seats on a sharded type.

    As few shards as possible, so that the change does not collide with the sales running on
    all the others (during an on-sale every shard is in some transaction most of the time): an
    increase goes to the emptiest shard, a decrease comes off the fullest ones. Orders find
    seats wherever they are (``seats_failure``), so the shards need not stay even."""
    shards = int(ticket_type.seat_shards)
    if change == 0:
        return []
    levels = seats_shard_levels(shard_counts={ticket_type.sku: shards})[ticket_type.sku]
    if change > 0:
        emptiest = min(levels.values())
        return [(_random.choice([n for n, left in levels.items() if left == emptiest]), change)]
    if sum(levels.values()) < -change:
        raise CapacityBelowSold()
    plan, need = [], -change
    for n, left in sorted(levels.items(), key=lambda level: -level[1]):
        if not need:
            break
        taken = min(left, need)
        plan.append((n, -taken))
        need -= taken
    return plan
