"""Stripe's request budget, shared by every Lambda instance: never send Stripe more than the
configured rates, and let money already moving go first.

Stripe limits each API endpoint (``POST /v1/payment_intents`` is one, ``GET
/v1/payment_intents/{id}`` another: 25 a second by default) and the whole account (100 a
second live, 25 in test mode), and answers 429 past them. A fleet of Lambdas cannot count in
memory, so each limit is a bucket in the back-office table (``core.backoffice.STRIPE_BUDGET``),
kept as GCRA (the generic cell rate algorithm, a token bucket stored as one number): ``tat``,
the "theoretical arrival time" in microseconds, moves on by ``1 / rate`` for every request,
and a request may go while ``tat`` stays within ``burst`` of now. Taking a slot is one
conditional ``UpdateItem`` (two when the bucket was idle), with no read first and no lock:

- ``SET tat = tat + interval IF tat BETWEEN now AND limit`` (the bucket is in use), else
- ``SET tat = now + interval IF tat < now OR no tat`` (it was idle: start from now), else
- the bucket is full: one read tells when the next slot comes, and the caller sleeps until
  then (with jitter) or, past its deadline, is told ``BudgetExhausted`` with that wait.

An endpoint's slots are *booked* rather than raced for: ``tat`` may run ahead of now by the
caller's longest wait, and the caller sleeps until its booked slot, so waiting callers are
served in the order they came, one write each.

Priority: a new PaymentIntent (``Priority.NEW``) may take a slot only while ``reserve`` of the
burst stays free; refunds, cancellations, confirmations' re-reads, syncs and the
event-cancellation job (``Priority.MOVING``) may use all of it. Under a sustained load of both,
money already moving is served first and new payments get what is left.

The rates are SSM parameters (``core.config.Parameters``: ``stripe_account_rate``,
``stripe_endpoint_rate``, ``stripe_endpoint_rates`` for per-endpoint overrides), defaulting to
Stripe's documented figures; raise them when Stripe raises the account's limits. The burst is a
fraction of a second's worth (``stripe_burst_seconds``): smaller than Stripe's own, so network
jitter between Lambdas never makes a within-budget sequence look like a burst to Stripe.

This module must not call Stripe, and imports no app (``integrations`` is the floor).
"""

from __future__ import annotations

import enum
import random
import time
from dataclasses import dataclass

from pynamodb.exceptions import UpdateError

from core.backoffice import STRIPE_BUDGET
from core.config import parameters_get
from core.dynamodb import condition_failed
from core.models import StripeBudgetBucket

ACCOUNT = "account"
MICROS = 1_000_000


class Priority(enum.Enum):
    MOVING = "moving"  # money already moving: refunds, cancels, re-reads, syncs
    NEW = "new"  # a new PaymentIntent: waits behind the rest


class BudgetExhausted(Exception):
    """No slot before the caller's deadline; ``retry_after`` seconds until one is free."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Stripe budget exhausted for {retry_after:.2f} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    account_rate: float
    endpoint_rate: float
    endpoint_rates: dict[str, float]
    burst_seconds: float
    reserve: float  # the fraction of the burst kept for Priority.MOVING

    def rate_of(self, endpoint: str) -> float:
        return float(self.endpoint_rates.get(endpoint, self.endpoint_rate))


def limits_get() -> Limits:
    parameters = parameters_get()
    return Limits(
        account_rate=parameters.stripe_account_rate,
        endpoint_rate=parameters.stripe_endpoint_rate,
        endpoint_rates=parameters.stripe_endpoint_rates,
        burst_seconds=parameters.stripe_burst_seconds,
        reserve=parameters.stripe_priority_reserve,
    )


def _now_us() -> int:
    return int(time.time() * MICROS)


def _interval(rate: float) -> int:
    return max(1, int(MICROS / rate))


def _bucket(name: str) -> StripeBudgetBucket:
    return StripeBudgetBucket(pk=STRIPE_BUDGET.pk(name), sk=STRIPE_BUDGET.sk)


def _slot_book(name: str, *, rate: float, burst_us: int, wait_us: int) -> int:
    """Book the next free slot of ``name`` if it comes within ``wait_us``: the microseconds
    to wait before sending (0: now). Bookings are served in the order they were made (one
    number moves on per booking), so waiting callers form a line instead of racing for each
    slot. ``BudgetExhausted`` when the next slot is further away than ``wait_us``."""
    interval = _interval(rate)
    burst_us = max(burst_us, interval)
    item = _bucket(name)
    while True:
        now = _now_us()
        latest = now + burst_us - interval + wait_us
        ahead = StripeBudgetBucket.tat.between(now, latest)
        if _update_if(item, StripeBudgetBucket.tat.add(interval), ahead):
            return max(0, int(item.tat) - burst_us - now)
        idle = StripeBudgetBucket.tat.does_not_exist() | (StripeBudgetBucket.tat < now)
        if _update_if(item, StripeBudgetBucket.tat.set(now + interval), idle):
            return 0
        current = StripeBudgetBucket.get(item.pk, item.sk, consistent_read=True).tat
        if current is not None and int(current) > latest:
            raise BudgetExhausted(retry_after=(int(current) + interval - burst_us - now) / MICROS)
        # Otherwise another caller moved ``tat`` between the two writes: book again.


def _slot_try(name: str, *, rate: float, burst_us: int, reserve_us: int) -> int:
    """Take a slot of ``name`` now if there is one leaving ``reserve_us`` of the burst free:
    0, else the microseconds until there is one."""
    interval = _interval(rate)
    burst_us = max(burst_us, interval)
    reserve_us = min(reserve_us, burst_us - interval)  # a new payment always fits when idle
    now = _now_us()
    # The latest ``tat`` at which one more request still fits within the burst.
    limit = now + burst_us - interval - reserve_us
    item = _bucket(name)
    busy = StripeBudgetBucket.tat.between(now, limit)
    if _update_if(item, StripeBudgetBucket.tat.add(interval), busy):
        return 0
    idle = StripeBudgetBucket.tat.does_not_exist() | (StripeBudgetBucket.tat < now)
    if _update_if(item, StripeBudgetBucket.tat.set(now + interval), idle):
        return 0
    current = StripeBudgetBucket.get(item.pk, item.sk, consistent_read=True).tat
    return max(1, int(current or now) - limit)


def _update_if(item: StripeBudgetBucket, action: object, condition: object) -> bool:
    """One conditional write (``item`` then holds the new values); False when the condition
    failed."""
    try:
        item.update(actions=[action], condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def budget_take(*, endpoint: str, priority: Priority, wait_seconds: float) -> None:
    """Take a slot of ``endpoint``'s budget and of the account's, waiting up to
    ``wait_seconds`` for them; ``BudgetExhausted`` past that (nothing may be sent then).

    The endpoint's slot is booked (callers of one endpoint are served first come, first
    served: a new PaymentIntent is the only user of its endpoint); the account's, shared by
    every endpoint, is taken when free, new payments leaving ``reserve`` of it to money
    already moving."""
    limits = limits_get()
    deadline = time.monotonic() + wait_seconds
    burst_us = int(limits.burst_seconds * MICROS)
    rate = limits.rate_of(endpoint)
    if rate <= 0 or limits.account_rate <= 0:
        raise BudgetExhausted(retry_after=60.0)
    delay = _slot_book(endpoint, rate=rate, burst_us=burst_us, wait_us=int(wait_seconds * MICROS))
    time.sleep(delay / MICROS)
    reserve_us = int(limits.reserve * burst_us) if priority is Priority.NEW else 0
    while True:
        wait_us = _slot_try(
            ACCOUNT, rate=limits.account_rate, burst_us=burst_us, reserve_us=reserve_us
        )
        if wait_us == 0:
            return
        # Jitter of one interval spreads the waiters, so they do not all retry at once.
        wait = wait_us / MICROS + random.uniform(0, 1 / limits.account_rate)  # noqa: S311
        if time.monotonic() + wait > deadline:
            raise BudgetExhausted(retry_after=wait)
        time.sleep(wait)


def budget_penalise(*, endpoint: str, seconds: float) -> None:
    """Stripe answered 429 all the same (another app on the account, a limit lowered): push
    ``endpoint``'s bucket ``seconds`` into the future, so every instance slows down, not only
    the one that was told."""
    item = StripeBudgetBucket(pk=STRIPE_BUDGET.pk(endpoint), sk=STRIPE_BUDGET.sk)
    later = _now_us() + int(seconds * MICROS)
    try:
        item.update(
            actions=[StripeBudgetBucket.tat.set(later)],
            condition=StripeBudgetBucket.tat.does_not_exist() | (StripeBudgetBucket.tat < later),
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
