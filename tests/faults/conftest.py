"""The fault-injection harness (``bench.faults``) for this test's app: proxies in front of the
test session's emulator, localstripe and vendor, set up on the freshly reset AWS of each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.faults import Harness


@pytest.fixture
def harness(aws) -> Iterator[Harness]:
    harness = Harness(aws)
    harness.attach()
    yield harness
    harness.detach()
