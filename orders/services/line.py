"""The on-sale's line: when buyers arrive faster than seats and Stripe's budget allow, each
gets a place, first come, first admitted, instead of an error.

- **Staff open an on-sale** for a ticket type (``onsale_open``: start time, hold, how many
  buyers to admit a second). From then on ``POST /orders`` for that type needs a pass.
- **Joining** (``line_join``) costs one write, spread over 16 counter shards of the arrival's
  second (``LINE#{sku}`` / ``ARRIVALS#{second}#{shard}``), and hands the buyer a *signed
  token* holding its arrival time (µs). Nothing per buyer is stored: the token is the place.
  Who joins before the start is placed at random within the start's first second.
- **Admission is a cursor over arrival times** (``admitted_until`` on ``LINE#{sku}`` /
  ``STATE``): everyone who arrived up to it may order, so nobody is admitted ahead of anyone
  who arrived earlier. It advances at ``admit_per_second`` buyers a second (the counters say
  how many arrived in each second; within a second, arrivals are taken as spread evenly), and
  stops while no seat is free (they may come back from expired carts). One poll at most every
  quarter second moves it, with a conditional write; the others only read.
- **Polling is cheap**: verifying the token's signature and one eventually consistent read of
  the line's item; the place and the estimate come from the item's counts.
- **Sold out ends the line**: no seat left and none held by an unpaid order, and everyone
  still waiting is told ``sold_out``.

The token is signed with Django's ``signing`` (the app's secret key), so a buyer cannot move
itself forward. This module decides admission; ``orders.apis`` checks the pass on ``POST
/orders`` through ``line_pass_check``.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core import signing
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from core.backoffice import LINE, LINE_ARRIVALS, LINE_LIST
from core.dynamodb import condition_failed
from core.exceptions import ApplicationError, Conflict, NotFound
from orders.models import (
    ORDERS_BY_STATUS,
    LineArrivals,
    OnSaleLine,
    OrderStatus,
    TicketType,
)

logger = logging.getLogger(__name__)

MICROS = 1_000_000
SHARDS = 16
ADVANCE_EVERY_US = 250_000
SCAN_SECONDS = 120  # arrival seconds counted past the cursor per advance
SALT = "orders.line"


class LineError(ApplicationError):
    status_code = 403
    code = "line_pass_required"
    message = "This on-sale admits buyers through its line: join it (POST /onsales/{sku}/line)."


class NotAdmittedYet(LineError):
    code = "line_not_admitted_yet"
    message = "Your place in the line has not been reached yet; keep polling the line."


class SeatsInCarts(Conflict):
    """An admitted buyer's order when every seat left is in another buyer's unpaid cart: not
    sold out yet (carts that expire give their seats back), so the buyer keeps its place and
    tries again; ``sold_out`` only once no seat is left and none is held."""

    code = "seats_in_carts"
    message = (
        "The seats left are in other buyers' carts; those not paid in time come back on sale. "
        "Your place is kept: send the order again after Retry-After seconds."
    )
    retry_after_seconds = 10

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("Retry-After", str(self.retry_after_seconds))


@dataclass(frozen=True)
class LinePlace:
    """What a buyer in the line is told."""

    status: str  # waiting | admitted | sold_out
    token: str
    place: int  # about how many are ahead (0 once admitted)
    estimate_seconds: int
    poll_after_seconds: float


def _now_us() -> int:
    return int(time.time() * MICROS)


def onsale_open(
    *,
    sku: str,
    start: datetime,
    hold_minutes: int,
    admit_per_second: float,
    staff: str = "",
) -> OnSaleLine:
    """Open (or change) the on-sale of ``sku``: its line starts at ``start``."""
    try:
        TicketType.get(sku)
    except DoesNotExist:
        raise NotFound("No ticket type with this sku.") from None
    start_us = int(start.timestamp() * MICROS)
    line = OnSaleLine(
        pk=LINE.pk(sku),
        gsi1sk=sku,
        sku=sku,
        start_us=start_us,
        hold_minutes=hold_minutes,
        admit_per_second=admit_per_second,
        admitted_until=start_us,
        advanced_us=0,
        opened_by=staff,
    )
    line.save()
    logger.info("on-sale opened", extra={"sku": sku, "staff": staff})
    return line


def line_get(*, sku: str, consistent: bool = False) -> OnSaleLine | None:
    try:
        return OnSaleLine.get(LINE.pk(sku), LINE.sk, consistent_read=consistent)
    except DoesNotExist:
        return None


def lines_list() -> list[OnSaleLine]:
    """Every on-sale's line (the dashboard), newest sku order."""
    return list(OnSaleLine.lines.query(LINE_LIST.pk()))


def onsale_hold(*, sku: str) -> float | None:
    """How long a cart of ``sku`` holds its seats in its on-sale (minutes), None when it has
    none: the expiry job's hold for the orders holding that ticket type."""
    line = line_get(sku=sku)
    return float(line.hold_minutes) if line is not None and line.hold_minutes else None


def _token(sku: str, arrival_us: int) -> str:
    return signing.dumps({"s": sku, "a": arrival_us}, salt=SALT, compress=True)


def _arrival_of(sku: str, token: str) -> int:
    try:
        data = signing.loads(token, salt=SALT)
        if data["s"] != sku:
            raise ValueError
        return int(data["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LineError("This line token is not valid for this on-sale; join again.") from None


def line_join(*, sku: str) -> LinePlace:
    """A buyer joins ``sku``'s line: its place (a signed token) and what to expect."""
    line = line_get(sku=sku)
    if line is None:
        raise NotFound("No on-sale is open for this ticket type.")
    now = _now_us()
    start = int(line.start_us)
    # Before the start, nobody is first: a random place within the start's first second.
    arrival = now if now >= start else start + random.randrange(MICROS)  # noqa: S311
    second = arrival // MICROS
    counter = LineArrivals(
        pk=LINE.pk(sku),
        sk=LINE_ARRIVALS.sk_of(f"{second:012d}", random.randrange(SHARDS)),  # noqa: S311
    )
    counter.update(
        actions=[
            LineArrivals.count.add(1),
            LineArrivals.expires_at.set(datetime.now(UTC) + timedelta(days=2)),
        ]
    )
    return _place(line, sku, arrival)


def line_status(*, sku: str, token: str) -> LinePlace:
    """Where the token's holder stands now (and, at most every quarter second, the line
    moves on)."""
    arrival = _arrival_of(sku, token)
    line = line_get(sku=sku)
    if line is None:
        raise NotFound("No on-sale is open for this ticket type.")
    if arrival > int(line.admitted_until) and not line.sold_out:
        line = _advance(line) or line
    return _place(line, sku, arrival, token=token)


def line_pass_check(*, sku: str, token: str | None) -> bool:
    """``POST /orders`` for ``sku``: allowed without a pass when no line is open for it;
    else only for a buyer the line has admitted (read strongly: the poll that admitted the
    buyer may have moved the cursor a moment ago). True when ``sku`` is on sale through a
    line."""
    line = line_get(sku=sku, consistent=True)
    if line is None:
        return False
    if not token:
        raise LineError()
    if _arrival_of(sku, token) > int(line.admitted_until):
        raise NotAdmittedYet()
    return True


def line_sold_out(*, sku: str) -> bool:
    """An admitted buyer's order found too few seats of ``sku``: whether its on-sale is over
    (no seat left and none held by an unpaid order; the line then ends for everyone). False
    while carts hold seats that may come back. Recounted at most every quarter second (the
    line's own pace), else the line's last word."""
    line = line_get(sku=sku, consistent=True)
    if line is None or line.sold_out:
        return True
    line = _advance(line) or line
    return bool(line.sold_out)


def _place(line: OnSaleLine, sku: str, arrival: int, token: str | None = None) -> LinePlace:
    token = token or _token(sku, arrival)
    rate = max(float(line.admit_per_second), 0.001)
    if arrival <= int(line.admitted_until):
        return LinePlace("admitted", token, 0, 0, 0.0)
    if line.sold_out:
        return LinePlace("sold_out", token, 0, 0, 0.0)
    ahead_seconds = (arrival - int(line.admitted_until)) / MICROS
    place = max(1, round(ahead_seconds * float(line.density)))
    estimate = max(1, round(place / rate))
    # Poll sooner as the place nears; never more than every second, never less than every 10.
    return LinePlace("waiting", token, place, estimate, float(min(10, max(1, estimate / 4))))


def _arrivals(sku: str, from_second: int, to_second: int) -> dict[int, int]:
    """Arrivals per second in [from_second, to_second] (every shard summed)."""
    counts: dict[int, int] = {}
    low = LINE_ARRIVALS.sk_of(f"{from_second:012d}")
    high = LINE_ARRIVALS.sk_of(f"{to_second:012d}", "~")
    for item in LineArrivals.query(LINE.pk(sku), LineArrivals.sk.between(low, high)):
        second = int(item.sk.split("#")[1])
        counts[second] = counts.get(second, 0) + int(item.count)
    return counts


def _seats_free(sku: str) -> tuple[int | None, bool]:
    """Seats left of ``sku`` (None: unlimited), and whether unpaid orders still hold some."""
    from orders.services.seats import seats_fill

    ticket_type = TicketType.get(sku)
    seats_fill(ticket_types=[ticket_type], consistent=False)
    available = None if ticket_type.available is None else int(ticket_type.available)
    held = False
    if available is not None and available <= 0:
        held = any(
            any(item.sku == sku for item in order.items)
            # the first held one answers: small pages, not a megabyte of carts each time
            for order in ORDERS_BY_STATUS.query(OrderStatus.PENDING_PAYMENT.value, page_size=25)
        )
    return available, held


def _advance_claim(line: OnSaleLine, now: int) -> bool:
    """Whether this caller recounts the line now: one per quarter second, claimed with a
    conditional write before the reads (the seats, the unpaid carts, the arrivals), so a crowd
    of polls does not all read them to find another poll moved the cursor."""
    try:
        line.update(
            actions=[OnSaleLine.advanced_us.set(now)],
            condition=OnSaleLine.advanced_us < now - ADVANCE_EVERY_US,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _advance(line: OnSaleLine) -> OnSaleLine | None:
    """Move the cursor on as far as the admission rate and the seats allow (one caller at a
    time: a conditional write on the cursor). The line as written, or None if nothing moved."""
    now = _now_us()
    start = int(line.start_us)
    if now < start or now - int(line.advanced_us or 0) < ADVANCE_EVERY_US:
        return None
    if not _advance_claim(line, now):
        return None  # another caller recounts this quarter second
    sku = str(line.sku)
    try:
        available, held = _seats_free(sku)
    except PynamoDBException:
        logger.warning("line not advanced: seats unreadable", extra={"sku": sku})
        return None
    cursor = int(line.admitted_until)
    admitted = int(line.admitted)
    sold_out = available is not None and available <= 0 and not held
    budget = (
        0.0
        if (available is not None and available <= 0)
        else (float(line.admit_per_second) * (now - start) / MICROS - admitted)
    )
    first = cursor // MICROS
    last = min(now // MICROS, first + SCAN_SECONDS)
    counts = _arrivals(sku, first, last)
    moved = cursor
    taken = 0.0
    for second in range(first, last + 1):
        if budget - taken < 1 and moved > cursor:
            break
        count = counts.get(second, 0)
        begin = max(cursor, second * MICROS)
        end = min((second + 1) * MICROS, now)
        if end <= begin:
            continue
        share = count * (end - begin) / MICROS  # arrivals in (begin, end], spread evenly
        if share <= budget - taken:
            taken += share
            moved = end
        else:
            fraction = (budget - taken) / share if share else 1.0
            moved = begin + int((end - begin) * max(0.0, fraction))
            taken = budget
            break
    if budget <= 0:
        moved = cursor
    waiting_seconds = max(1e-6, (now - moved) / MICROS)
    waiting = sum(
        count * max(0.0, min(1.0, ((second + 1) * MICROS - max(moved, second * MICROS)) / MICROS))
        for second, count in counts.items()
        if (second + 1) * MICROS > moved
    )
    try:
        line.update(
            actions=[
                OnSaleLine.admitted_until.set(moved),
                OnSaleLine.admitted.set(admitted + round(taken)),
                OnSaleLine.advanced_us.set(now),
                OnSaleLine.waiting.set(round(waiting)),
                OnSaleLine.density.set(round(waiting / waiting_seconds, 3)),
                OnSaleLine.sold_out.set(sold_out),
            ],
            condition=OnSaleLine.admitted_until == cursor,
        )
    except UpdateError as error:
        if condition_failed(error):
            return None  # another poll moved it
        raise
    if sold_out:
        logger.info("on-sale sold out: the line ends", extra={"sku": sku})
    return line
