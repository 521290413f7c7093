"""docs/runbook.md has an entry for every alarm ``infra/`` creates, and only for those.

An alarm's runbook name is its ``alarm_name`` without the ``${local.name}-`` prefix
(``ticketstoheaven-prod-``): ``lambda-errors``, ``async-failures``. A ``for_each`` over a local
map expands ``${each.key}`` to each key (the app's metric alarms); the per-table DynamoDB alarm
is one entry, ``<table>-throttles``. Any other interpolation fails the test, so a new kind of
name is decided here rather than silently skipped.

Each entry is a ``### `name``` heading with three parts an operator needs at 3 a.m.: what it
means, the first three checks (a numbered list of exactly three), and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.test_infra import _all, _locals

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "runbook.md"

# Interpolations with a fixed runbook spelling (anything else fails).
_PLACEHOLDERS = {"${each.value.name}": "<table>"}


def alarm_names(documents: list[dict[str, Any]], local_values: dict[str, Any]) -> set[str]:
    """The runbook names of every ``aws_cloudwatch_metric_alarm`` in the parsed documents."""
    names: set[str] = set()
    for document in documents:
        for entry in document.get("resource", []):
            for address, body in entry.get("aws_cloudwatch_metric_alarm", {}).items():
                name = body["alarm_name"]
                name = name.removeprefix("${local.name}-")
                if "${each.key}" in name:
                    source = body.get("for_each", "")
                    match = re.fullmatch(r"\$\{local\.(\w+)\}", source)
                    assert match, f"alarm {address}: for_each {source!r} is not a local map"
                    keys = local_values[match.group(1)]
                    names.update(name.replace("${each.key}", key) for key in keys)
                    continue
                for expression, placeholder in _PLACEHOLDERS.items():
                    name = name.replace(expression, placeholder)
                assert "${" not in name, f"alarm {address}: cannot name {name!r} in the runbook"
                names.add(name)
    return names


def runbook_entries(text: str) -> dict[str, str]:
    """``### `name``` sections of the runbook's "Alarms" chapter, by name."""
    chapter = text.split("\n## Alarms\n", 1)[1].split("\n## ", 1)[0]
    entries: dict[str, str] = {}
    for block in re.split(r"^### ", chapter, flags=re.MULTILINE)[1:]:
        heading, _, body = block.partition("\n")
        match = re.fullmatch(r"`([^`]+)`", heading.strip())
        assert match, f"runbook heading {heading!r} is not a `name`"
        assert match.group(1) not in entries, f"two runbook entries for {match.group(1)}"
        entries[match.group(1)] = body
    return entries


def entry_problems(name: str, body: str) -> list[str]:
    problems = []
    for part in ("**Means**:", "**First checks**:", "**Fix**:"):
        if part not in body:
            problems.append(f"{name}: no {part}")
    if "**First checks**:" in body:
        checks = body.split("**First checks**:", 1)[1].split("**Fix**:", 1)[0]
        numbered = re.findall(r"^(\d+)\. ", checks, flags=re.MULTILINE)
        if numbered != ["1", "2", "3"]:
            problems.append(f"{name}: first checks are {numbered}, not 1-3")
    return problems


@pytest.fixture(scope="module")
def infra_alarms() -> set[str]:
    return alarm_names(_all(), _locals())


@pytest.fixture(scope="module")
def entries() -> dict[str, str]:
    return runbook_entries(RUNBOOK.read_text())


def test_infra_has_the_alarms_the_runbook_is_checked_against(infra_alarms: set[str]) -> None:
    # The expansion works: the fixed alarms, the per-table one and the app's metrics are there.
    assert {"lambda-errors", "<table>-throttles", "async-failures", "PaymentsFailed"} <= (
        infra_alarms
    )


def test_every_alarm_has_a_runbook_entry(infra_alarms: set[str], entries: dict[str, str]) -> None:
    missing = sorted(infra_alarms - set(entries))
    assert not missing, f"alarms in infra/ without an entry in docs/runbook.md: {missing}"


def test_the_runbook_names_no_alarm_that_does_not_exist(
    infra_alarms: set[str], entries: dict[str, str]
) -> None:
    stale = sorted(set(entries) - infra_alarms)
    assert not stale, f"docs/runbook.md entries for alarms infra/ does not create: {stale}"


def test_every_entry_says_what_it_means_three_first_checks_and_the_fix(
    entries: dict[str, str],
) -> None:
    problems = [p for name, body in entries.items() for p in entry_problems(name, body)]
    assert not problems, problems


def test_a_new_alarm_without_an_entry_is_caught(entries: dict[str, str]) -> None:
    # The same functions on a document with one alarm more than infra/ has.
    extra = {
        "resource": [
            {
                "aws_cloudwatch_metric_alarm": {
                    "queue_age": {"alarm_name": "${local.name}-queue-age"},
                }
            }
        ]
    }
    names = alarm_names([*_all(), extra], _locals())
    assert sorted(names - set(entries)) == ["queue-age"]


def test_an_entry_with_two_checks_is_caught() -> None:
    body = "**Means**: x\n\n**First checks**:\n1. a\n2. b\n\n**Fix**: y\n"
    assert entry_problems("x", body) == ["x: first checks are ['1', '2'], not 1-3"]


def test_the_runbook_names_only_settings_that_exist() -> None:
    # The throttling entry once told operators to raise `lambda_concurrency`, which exists
    # nowhere. Every `snake_case` name the runbook calls a setting must be a Terraform
    # variable or an SSM parameter name (infra/variables.tf) or a Zappa setting.
    import json

    text = RUNBOOK.read_text()
    variables = {name for document in _all() for v in document.get("variable", []) for name in v}
    zappa = set(json.loads((ROOT / "zappa_settings.json").read_text())["prod"])
    mentioned = set(re.findall(r"`(\w+_\w+)`", text))
    settings_like = {
        name
        for name in mentioned
        if re.search(r"(threshold|limit|timeout|minutes|seconds|concurrency|_ms)$", name)
    }
    unknown = sorted(
        name
        for name in settings_like
        if name not in variables
        and name not in zappa
        and name not in {"CONFIG_CACHE_SECONDS"}
        and f"/{name}" not in text
    )
    assert not unknown, f"the runbook names settings that exist nowhere: {unknown}"
