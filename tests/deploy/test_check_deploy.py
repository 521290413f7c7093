"""``manage.py check --deploy`` passes with production settings, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What Lambda has: no local overrides, so every security switch is in its production position.
PRODUCTION_ENV = {
    "PATH": os.environ["PATH"],
    "DJANGO_SETTINGS_MODULE": "tickets.settings",
    "DJANGO_ALLOWED_HOSTS": "api.ticketstoheaven.example",
    "PROJECT_NAME": "ticketstoheaven",
    "STAGE": "prod",
}
# Only for this check: a key long and varied enough to pass Django's own test of it.
PRODUCTION_KEY = "k3Q9vX2pL7mN4bR8tY1wZ6cF0hJ5sD-gA_eU" * 2


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# The one-server settings and each Lambda function's (docs/deploy.md, "Two functions").
SETTINGS = ["tickets.settings", "tickets.settings_public", "tickets.settings_backoffice"]


@pytest.mark.parametrize("settings", SETTINGS)
def test_check_deploy_passes_with_production_settings(settings):
    result = _check(
        {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": settings, "DJANGO_SECRET_KEY": PRODUCTION_KEY}
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_reads_the_secret_key_from_secrets_manager(aws):
    stack_env = {k: v for k, v in aws.environment().items() if k.startswith("AWS_")}
    # The stack's secrets live under the "local" stage.
    result = _check({**PRODUCTION_ENV, **stack_env, "STAGE": "local"})

    assert result.returncode == 0, result.stdout + result.stderr
    assert aws.secrets.django_secret_key not in result.stdout + result.stderr


def test_check_deploy_fails_when_a_production_switch_is_off():
    result = _check(
        {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": PRODUCTION_KEY, "DJANGO_SECURE_COOKIES": "0"}
    )

    assert result.returncode != 0
    assert "CSRF_COOKIE_SECURE" in result.stdout + result.stderr
    assert "SECRET_KEY" not in result.stdout + result.stderr
