"""The one audit model (``core.models.AuditEntry`` through ``core.audit``), directly:
what an entry holds, who it is shown as, which index it is in, and the three reads (an
object's story oldest first, its History newest first, a staff member's recent actions).
Building entries needs no server; writing and reading them uses the emulator. The services
that write them are tested in ``tests/core/test_audit.py`` and with each service."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pynamodb.exceptions import PutError

from core.audit import (
    AUDIT_NEW,
    SYSTEM_SCHEDULER,
    SYSTEM_STRIPE,
    audit_entries_of,
    audit_entry_build,
    audit_history,
    audit_recent_by,
    audit_record,
)
from core.models import AuditEntry


def build(actor: str = "sam", **kwargs) -> AuditEntry:
    values = dict(
        actor=actor,
        object_type="orders.order",
        object_id="ord_1",
        object_repr="Order ord_1",
        action="cancel",
    )
    return audit_entry_build(**{**values, **kwargs})


def record(staff: str, action: str, object_id: str = "ord_1", **kwargs):
    return audit_record(
        staff=staff,
        object_type="orders.order",
        object_id=object_id,
        object_repr=f"Order {object_id}",
        action=action,
        **kwargs,
    )


# --- Building an entry (pure) ------------------------------------------------------------------


def test_an_entry_is_keyed_by_its_object_and_time():
    entry = build(at="2026-11-25T10:00:00.000000Z")

    assert entry.pk == "AUDIT#orders.order#ord_1"
    assert entry.sk.startswith("2026-11-25T10:00:00.000000Z#")
    assert build(at="2026-11-25T10:00:00.000000Z").sk != entry.sk  # same instant, two entries


def test_a_staff_entry_is_in_the_recent_actions_index_and_a_system_one_is_not():
    staff, system = build("sam"), build(SYSTEM_STRIPE, action="paid")

    assert (staff.gsi1pk, staff.gsi1sk) == ("AUDITBY#sam", staff.at)
    assert (system.gsi1pk, system.gsi1sk) == (None, None)


def test_before_and_after_are_stored_as_json_and_any_value_becomes_text():
    entry = build(
        before={"status": "pending_payment", "total": 5000},
        after={"status": "canceled", "at": datetime(2026, 11, 25, tzinfo=UTC)},
    )

    assert json.loads(entry.before) == {"status": "pending_payment", "total": 5000}
    assert json.loads(entry.after) == {"status": "canceled", "at": "2026-11-25 00:00:00+00:00"}
    assert json.loads(build().before) == {} == json.loads(build().after)


def test_long_texts_are_cut_to_their_limits():
    entry = build(object_repr="r" * 300, summary="s" * 600, reason="w" * 600)

    assert (len(entry.object_repr), len(entry.summary), len(entry.reason)) == (200, 500, 500)


# --- Writing and reading (emulator) ------------------------------------------------------------


def test_a_recorded_entry_reads_back_as_written_and_names_its_actor(aws):
    written = record(
        "sam", "cancel", summary="Canceled", reason="asked by phone", after={"status": "canceled"}
    )
    system = record(SYSTEM_SCHEDULER, "expired")

    [first, second] = audit_entries_of(object_type="orders.order", object_id="ord_1")
    assert first == written
    assert (first.staff, first.is_system, first.reason) == ("sam", False, "asked by phone")
    assert first.after == {"status": "canceled"}
    assert second == system
    assert (second.staff, second.is_system) == ("Scheduler (system)", True)


def test_an_entry_is_never_overwritten(aws):
    entry = build()
    entry.save(condition=AUDIT_NEW)

    with pytest.raises(PutError):
        entry.save(condition=AUDIT_NEW)


def test_an_objects_story_is_oldest_first_and_its_history_newest_first_with_a_limit(aws):
    for action in ("add", "change", "cancel"):
        record("sam", action)
    record("sam", "add", object_id="ord_2")  # another object's story

    story = audit_entries_of(object_type="orders.order", object_id="ord_1")
    history = audit_history(object_type="orders.order", object_id="ord_1", limit=2)

    assert [r.action for r in story] == ["add", "change", "cancel"]
    assert [r.action for r in history] == ["cancel", "change"]


def test_recent_actions_are_one_staff_members_newest_first_without_system_events(aws):
    record("sam", "change", object_id="ord_1")
    record("kim", "change", object_id="ord_2")
    record(SYSTEM_STRIPE, "paid", object_id="ord_3")
    record("sam", "cancel", object_id="ord_4")

    recent = audit_recent_by(staff="sam")

    assert [(r.action, r.object_id) for r in recent] == [("cancel", "ord_4"), ("change", "ord_1")]
    assert audit_recent_by(staff="sam", limit=1)[0].object_id == "ord_4"
    assert audit_recent_by(staff=SYSTEM_STRIPE) == []
