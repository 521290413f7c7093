"""Fulfillment retries wait with full jitter, doubling up to a cap, and never less than the
vendor's Retry-After (``orders.services.fulfillment.backoff_delay``). Pure: no server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orders.services.fulfillment.attempts import BACKOFF_BASE, BACKOFF_CAP, backoff_delay


@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 5])
def test_each_wait_is_between_half_and_all_of_a_doubling_ceiling(attempts):
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))

    delays = [backoff_delay(attempts) for _ in range(200)]

    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 100  # jittered: retries of many orders do not land together


def test_the_ceiling_doubles_with_each_attempt():
    assert max(backoff_delay(1) for _ in range(100)) <= timedelta(seconds=30)
    assert min(backoff_delay(3) for _ in range(100)) >= timedelta(seconds=60)


def test_late_attempts_wait_at_most_the_cap():
    delays = [backoff_delay(40) for _ in range(100)]

    assert all(BACKOFF_CAP / 2 <= d <= BACKOFF_CAP for d in delays)


def test_the_vendors_retry_after_is_honoured_when_longer():
    assert backoff_delay(1, retry_after=600) == timedelta(seconds=600)
    assert backoff_delay(1, retry_after=1) >= BACKOFF_BASE / 2  # shorter: our own wait
    assert backoff_delay(1, retry_after=None) >= BACKOFF_BASE / 2
