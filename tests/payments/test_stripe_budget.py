"""Stripe's request budget (``integrations.stripe_budget``) against a real stand-in of Stripe's
limits: ``devstack.stripe_limits`` answering 429 past its rates, in front of localstripe.

What a buyer and Stripe would notice: many callers at once never make Stripe say 429 when the
budget matches Stripe's limits; when Stripe says 429 all the same (a budget set too high), no
caller sees anything but its answer or a 429 ``payment_provider_busy`` (never a 5xx); money
already moving gets through while new payments queue.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from devstack.stripe_limits import Limits, StripeLimits

pytestmark = pytest.mark.usefixtures("aws")

RATE = 10.0  # Stripe's per-endpoint rate in these tests (requests a second)


@pytest.fixture
def stripe_limited(stripe_wire: StripeLimits) -> StripeLimits:
    """Stripe's limits at ``RATE`` a second per endpoint, four times that per account."""
    stripe_wire.limits = Limits(account_rate=4 * RATE, endpoint_rate=RATE)
    return stripe_wire


def _budget(aws, **rates: float) -> None:
    from core.config import config_cache_clear

    aws.provision_config({f"stripe_{name}": str(value) for name, value in rates.items()})
    config_cache_clear()


def _create_many(count: int, threads: int, prefix: str) -> Counter[str]:
    """``count`` PaymentIntents created by ``threads`` callers at once: how each call ended."""
    from core.exceptions import PaymentProviderBusy
    from integrations import stripe_client

    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    numbers = iter(range(count))

    def caller() -> None:
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            try:
                stripe_client.payment_intent_create(
                    order_id=f"{prefix}{n}", amount=1000, currency="usd",
                    idempotency_key=f"order:{prefix}{n}",
                )  # fmt: skip
                outcome = "created"
            except PaymentProviderBusy:
                outcome = "busy"
            except Exception as error:  # counted: the test fails on any
                outcome = f"{type(error).__name__}: {error.__cause__ or error.__context__}"
            with lock:
                outcomes[outcome] += 1

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def test_many_callers_within_the_budget_never_meet_a_429(aws, stripe_limited):
    """Eight callers (eight Lambdas) creating 30 PaymentIntents at once: Stripe never says 429,
    and the creates are paced at the configured rate, not refused."""
    _budget(aws, endpoint_rate=RATE, account_rate=4 * RATE)
    started = time.monotonic()
    outcomes = _create_many(30, threads=8, prefix="within")
    elapsed = time.monotonic() - started

    assert stripe_limited.stats()["limited"] == {}
    assert outcomes == Counter(created=30)
    # A burst of half a second's worth, then one every 1 / RATE.
    assert elapsed >= (30 - RATE / 2 - 1) / RATE


def test_a_budget_above_stripes_limit_meets_429s_and_no_caller_sees_a_5xx(aws, stripe_limited):
    """The budget set four times too high: Stripe answers 429s; each is retried within the
    budget (the bucket pushed back for every caller) and a caller sees its PaymentIntent or
    ``payment_provider_busy``, nothing else."""
    _budget(aws, endpoint_rate=4 * RATE, account_rate=16 * RATE)
    outcomes = _create_many(40, threads=8, prefix="above")

    assert stripe_limited.stats()["limited"], "the stand-in should have said 429"
    assert set(outcomes) <= {"created", "busy"}
    assert outcomes["created"] >= 20


def test_money_moving_goes_before_new_payments(aws, stripe_limited):
    """While new payments saturate the PaymentIntent budget, refunds' and cancels' own
    endpoints stay free, and the account budget keeps a reserve for them: a cancel made in
    the middle of the rush answers at once."""
    from integrations import stripe_client

    _budget(aws, endpoint_rate=RATE, account_rate=RATE)  # one shared account budget
    intent = stripe_client.payment_intent_create(
        order_id="moving", amount=1000, currency="usd", idempotency_key="order:moving"
    )
    rush = threading.Thread(target=_create_many, args=(25, 6, "rush"))
    rush.start()
    time.sleep(0.5)  # the rush has used the burst; the budget is saturated
    started = time.monotonic()
    canceled = stripe_client.payment_intent_cancel(
        payment_intent_id=intent.id, idempotency_key="cancel:moving"
    )
    waited = time.monotonic() - started
    rush.join()

    assert canceled.status == "canceled"
    assert waited < 3 / RATE + 0.3, f"the cancel waited {waited:.2f} s behind new payments"
    assert stripe_limited.stats()["limited"] == {}
