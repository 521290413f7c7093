"""The suite's tiers (``tests/README.md``): pure logic runs without any server, and
``TESTS_WITHOUT_SERVERS=1`` turns every test that needs the emulator into a skip, not a failure.

Each check runs pytest in a fresh process, since this session may have started the servers
already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules of pure logic: cursors, money, state words, seat rules, backoff, roles, key rules.
PURE = [
    "tests/dynamo_admin/test_cursor.py",
    "tests/dynamo_admin/test_paging.py",
    "tests/core/test_formatting.py",
    "tests/orders/test_backoff.py",
    "tests/staff/test_roles.py",
]


def pytest_run(*args: str, without_servers: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TESTS_WITHOUT_SERVERS"}
    if without_servers:
        env["TESTS_WITHOUT_SERVERS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pure_logic_runs_without_starting_any_server():
    result = pytest_run(*PURE, without_servers=False)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "local stack: not started" in result.stdout
    assert "skipped" not in result.stdout


def test_without_servers_a_test_that_needs_the_emulator_is_skipped_and_a_pure_one_runs():
    result = pytest_run(
        "tests/orders/test_seats_rules.py",
        "-k",
        "a_busy_single_item_type or a_short_shard_moves",
        without_servers=True,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed, 1 skipped" in result.stdout
    assert "needs the local servers (TESTS_WITHOUT_SERVERS=1)" in result.stdout + result.stderr
    assert "local stack: not started" in result.stdout
