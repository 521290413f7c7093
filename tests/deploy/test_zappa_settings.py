"""zappa_settings.json: the stages say what the spec and infra/ expect (no AWS needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from zappa.core import Zappa

from deploy.build import stage_config
from orders.actions import EXPIRY_EVERY_MINUTES

ROOT = Path(__file__).resolve().parents[2]
STAGES = list(json.loads((ROOT / "zappa_settings.json").read_text()))
# Each deployment is two functions (docs/deploy.md, "Two functions"): its public API's stage
# (prod) and its back office's (prod-backoffice).
BACKOFFICE = "-backoffice"
PUBLIC_STAGES = [s for s in STAGES if not s.endswith(BACKOFFICE)]


def _deployment(stage: str) -> str:
    return stage.removesuffix(BACKOFFICE)


def test_every_deployment_has_both_functions():
    assert sorted(STAGES) == sorted([*PUBLIC_STAGES, *(s + BACKOFFICE for s in PUBLIC_STAGES)])
    for stage in PUBLIC_STAGES:
        public, backoffice = stage_config(stage), stage_config(stage + BACKOFFICE)
        assert public["django_settings"] == "tickets.settings_public"
        assert backoffice["django_settings"] == "tickets.settings_backoffice"
        assert public["role_arn"].endswith(f"role/ticketstoheaven-{stage}-public")
        assert backoffice["role_arn"].endswith(f"role/ticketstoheaven-{stage}-backoffice")
        assert public["aws_environment_variables"]["STRIPE_KEY_NAME"] == "stripe"
        assert backoffice["aws_environment_variables"]["STRIPE_KEY_NAME"] == "stripe-backoffice"


def test_prod_is_the_spec_deployment():
    prod = stage_config("prod")

    assert prod["aws_region"] == "us-east-2"
    assert prod["runtime"] == "python3.13"
    assert prod["django_settings"] == "tickets.settings_public"
    assert prod["endpoint_configuration"] == ["REGIONAL"]
    assert prod["xray_tracing"] is True
    assert prod["manage_roles"] is False
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/ticketstoheaven-prod-public", prod["role_arn"])
    assert prod["keep_warm"] is False
    assert prod["async_source"] == "lambda"
    assert prod["use_precompiled_packages"] is False  # offline, reproducible from uv.lock
    assert prod["callbacks"]["zip"] == "deploy.callbacks.zip_bytecode"
    assert prod["touch_path"] == "/health"


@pytest.mark.parametrize("stage", STAGES)
def test_lambda_variables_name_the_stage_and_hold_no_secret(stage):
    config = stage_config(stage)
    env = config["aws_environment_variables"]

    # Zappa's handler sets STAGE to the Zappa stage's name anyway; they must agree. The data
    # (tables, secrets, parameters) is the deployment's, named by APP_STAGE.
    assert env["STAGE"] == stage
    assert env["APP_STAGE"] == _deployment(stage)
    assert env["PROJECT_NAME"] == config["project_name"]
    assert not [k for k in env if re.search(r"SECRET|PASSWORD|TOKEN|API_KEY", k)]
    assert "environment_variables" not in config  # those are baked into the package


@pytest.mark.parametrize("stage", PUBLIC_STAGES)
def test_scheduled_rules_get_names_zappa_accepts(stage):
    """The jobs run where their permissions are (docs/deploy.md says why): the order and
    payment jobs in the public API's function, the retention erasure (it reads and rewrites the
    audit log, staff's data) and the event cancellations (they refund) in the back office's."""
    staff_jobs = stage_config(stage + BACKOFFICE)["events"]
    assert {e["function"]: e["expression"] for e in staff_jobs} == {
        "orders.jobs.personal_data_retention": "rate(1 day)",
        "payments.jobs_backoffice.event_cancellations_continue": "rate(1 minute)",
    }
    for event in staff_jobs:
        rule = Zappa.get_scheduled_event_name(
            Zappa, event, event["function"], f"ticketstoheaven-{stage}{BACKOFFICE}"
        )
        assert rule.split("-")[-1] == event["function"]
    events = stage_config(stage)["events"]

    assert {e["function"] for e in events} == {
        "orders.jobs.orders_expire",
        "orders.jobs.fulfillment_sweep",
        "payments.jobs.payments_reconcile",
    }
    for event in events:
        rule = Zappa.get_scheduled_event_name(Zappa, event, event["function"], f"x-{stage}")
        # The handler finds the function from the rule name's last "-" part.
        assert rule.split("-")[-1] == event["function"]
    rates = {e["function"]: e["expression"] for e in events}
    # Seats come back within the hold: the expiry takes the carts whose hold ends before its
    # next run, so its schedule must be the period it assumes.
    assert rates["orders.jobs.orders_expire"] == f"rate({EXPIRY_EVERY_MINUTES} minute)"
    assert rates["orders.jobs.fulfillment_sweep"] == "rate(1 minute)"
    assert rates["payments.jobs.payments_reconcile"] == "rate(15 minutes)"


def test_excludes_keep_the_packages_django_needs():
    exclude = stage_config("prod")["exclude"]
    # `exclude` matches names at every level: these would break Django or its admin.
    for name in ("staticfiles", "templates", "locale", "migrations", "admin"):
        assert name not in exclude


def _terraform_tag_keys() -> set[str]:
    import hcl2

    document = hcl2.load((ROOT / "infra" / "locals.tf").open())
    tags = next(block["tags"] for block in document["locals"] if "tags" in block)
    return set(tags)


@pytest.mark.parametrize("stage", STAGES)
def test_zappa_tags_use_terraforms_keys(stage):
    """One set of tag keys for cost allocation: what Zappa creates (function, API) and what
    Terraform creates are grouped by the same Project/Environment."""
    tags = stage_config(stage)["tags"]

    assert set(tags) == _terraform_tag_keys()
    assert tags["Project"] == stage_config(stage)["project_name"]
    assert tags["Environment"] == _deployment(stage)
    assert tags["ManagedBy"] == "zappa"


@pytest.mark.parametrize("stage", STAGES)
def test_failed_async_tasks_go_to_the_stages_dead_letter_queue(stage):
    config = stage_config(stage)
    queue = f"{config['project_name']}-{_deployment(stage)}-async-failures"  # infra/async.tf

    assert re.fullmatch(rf"arn:aws:sqs:us-east-2:\d{{12}}:{queue}", config["dead_letter_arn"])


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    duplicated = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicated, f"keys given twice (JSON keeps the last silently): {duplicated}"
    return dict(pairs)


def test_no_key_is_given_twice():
    # The prod stage once had `log_level` twice: whoever edits the first sees no effect.
    json.loads((ROOT / "zappa_settings.json").read_text(), object_pairs_hook=_refuse_duplicates)


def test_a_key_given_twice_is_caught():
    with pytest.raises(AssertionError, match="log_level"):
        json.loads(
            '{"log_level": "INFO", "log_level": "DEBUG"}', object_pairs_hook=_refuse_duplicates
        )
