"""Failure points where the full matrix (``bench/faults.py``) found an invariant broken, kept
as regression tests after the fix. Each names the request it fails by what it is in the
flow's clean run, so it stays on that step when the flow gains or loses a request."""

from __future__ import annotations

import pytest

from bench.faults import FLOWS, flow_count, run_point

pytestmark = pytest.mark.usefixtures("aws")


def _nth(sent, operation: str, nth: int = 1) -> int:
    """The number of the ``nth`` request ``operation`` in a run."""
    return [r.n for r in sent if r.operation == operation][nth - 1]


def test_a_crash_right_after_the_reconciliation_paid_an_order_still_gets_it_fulfilled(harness):
    """The reconciliation's sync paid the order (one transaction), then the process died
    before queuing its fulfillment: no webhook will come to sync it again, so it stayed
    ``paid``, out of the fulfillment queue, forever. The sweep now starts such orders."""
    flow = FLOWS["reconciliation"]
    clean = flow_count(harness, flow)

    result = run_point(harness, flow, "crash", _nth(clean.sent, "TransactWriteItems"))

    assert result.notes[:1] == ["crashed"]
    assert result.violations == [], result.violations
