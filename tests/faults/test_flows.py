"""Every money flow with a fault injected mid-way, then recovery as in production, then the
invariants (``bench.faults``): a bounded sample of the full matrix, which
``bench/faults.py`` runs whole (every request of every flow, every fault kind).

Each flow is first run clean, which counts its requests; the faulted points are then placed at
a fraction of that count, so the sample follows the flows as they change. Between them the
sample covers each fault kind."""

from __future__ import annotations

import pytest

from bench.faults import FLOWS, HUMAN_KINDS, flow_count, run_human, run_point
from bench.faults_proxy import applicable

pytestmark = pytest.mark.usefixtures("aws")

# flow -> the faults tried, each at a fraction of the flow's requests (one per flow keeps the
# tier within make test's budget; the regression tests add more, bench/faults.py all of them)
SAMPLE = {
    "order_create_key": [("crash", 0.6)],
    "order_create_nokey": [("refuse", 0.5)],
    "payment_webhook": [("crash", 0.5)],
    "fulfillment_attempt": [("lose", 0.5)],
    "staff_refund": [("error", 0.5)],
    "staff_cancel": [("crash", 0.6)],
    "expiry": [("crash", 0.7)],
    "reconciliation": [("throttle", 0.5)],
    "capacity_edit": [("conflict", 0.5)],
    "capacity_edit_sharded": [("crash", 0.7)],
    "void_on_refund": [("crash", 0.5)],
    "event_cancel": [("crash", 0.5)],
    "void_sweep": [("lose", 0.5)],
    "email_resend": [("error", 0.6)],
    "erasure": [("crash", 0.6)],
    "retention": [("error", 0.5)],
    "order_create_deferred": [("refuse", 0.6)],
    "payment_open": [("crash", 0.5)],
    "line_order": [("throttle", 0.5)],
}


@pytest.mark.parametrize("name", list(SAMPLE))
def test_a_fault_mid_flow_leaves_every_invariant_holding_after_recovery(harness, name):
    flow = FLOWS[name]
    clean = flow_count(harness, flow)
    assert clean.violations == [], clean.violations
    assert clean.requests > 1

    for kind, fraction in SAMPLE[name]:
        at = max(1, round(fraction * clean.requests))
        # the next request the fault applies to (a TransactionConflict needs a write)
        while not applicable(kind, clean.sent[at - 1].service, clean.sent[at - 1].operation):
            at = at % clean.requests + 1
        result = run_point(harness, flow, kind, at)

        assert result.fired is not None, f"{kind} at {at} never fired: {result.sent}"
        assert result.violations == [], (str(result.fired), result.violations, result.notes)


# One human fault per staff flow (both kinds covered): every action meets both kinds in
# tests/dynamo_admin/test_once_actions.py, and `make faults` runs both on every staff flow.
HUMAN_SAMPLE = [
    ("staff_refund", "twice"),
    ("staff_cancel", "two_staff"),
    ("capacity_edit", "two_staff"),
    ("erasure", "twice"),
]
assert {kind for _, kind in HUMAN_SAMPLE} == set(HUMAN_KINDS)


@pytest.mark.parametrize(("name", "kind"), HUMAN_SAMPLE)
def test_a_staff_form_sent_twice_or_by_two_staff_at_once_acts_once(harness, name, kind):
    """A person, not a wire: one form sent twice at once, or two colleagues confirming at
    once; every invariant holds after recovery (the refund made once, seats given back once,
    each audit entry once)."""
    result = run_human(harness, FLOWS[name], kind)

    assert result.requests > 0  # both submits reached the app
    assert result.violations == [], (result.violations, result.notes)
