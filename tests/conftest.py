"""Test fixtures: the real stand-in servers, started once per test session on free ports.

Before Django is set up, the session starts moto (AWS), localstripe and the stand-in vendor
(``devstack.stack``) and exports the same environment variables the app reads in Lambda, so
the code under test runs through its real clients and configuration. Each test then starts
from an empty emulator with freshly created tables, secrets and parameters (the ``aws``
fixture, automatic), so tests never see each other's data.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import LocalStack, stack_start

_stack: LocalStack | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _stack
    _stack = stack_start()
    os.environ.update(_stack.environment())
    # The same switches as the local stack; check --deploy tests the production positions.
    import django

    django.setup()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _stack is not None:
        _stack.stop()


@pytest.fixture(scope="session")
def local_stack() -> LocalStack:
    assert _stack is not None
    return _stack


@pytest.fixture(autouse=True)
def aws(local_stack: LocalStack) -> Iterator[LocalStack]:
    """An empty AWS with this deployment's tables, secrets and parameters."""
    from tickets.config import config_cache_clear
    from tickets.dynamodb import tables_ensure

    local_stack.aws_reset()
    local_stack.provision_config()
    tables_ensure()
    config_cache_clear()
    vendor_reset(local_stack)
    yield local_stack


def vendor_reset(stack: LocalStack) -> None:
    request = urllib.request.Request(f"{stack.vendor_url}/_requests", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture
def client():
    from django.test import Client

    return Client(raise_request_exception=False)


# --- The deployment package, built once per session ------------------------------------------


@pytest.fixture(scope="session")
def lambda_package(local_stack: LocalStack) -> Iterator[Path]:
    """``zappa package prod`` from a clean copy of the project, as an operator builds it:
    collectstatic (production storage, against the emulator's S3) writes the manifest the
    package carries, then Zappa packs the deploy environment and the zip hook adds bytecode."""
    import boto3

    from deploy import build

    with tempfile.TemporaryDirectory(prefix="package-build-") as tmp:
        project = build.project_copy(Path(tmp) / "project")
        stage_env = build.stage_environment("prod", project)
        aws_env = {k: v for k, v in local_stack.environment().items() if k.startswith("AWS_")}
        s3 = boto3.client(
            "s3",
            endpoint_url=local_stack.aws_url,
            region_name=aws_env["AWS_REGION"],
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        s3.create_bucket(
            Bucket=stage_env["DJANGO_STATIC_BUCKET"],
            CreateBucketConfiguration={"LocationConstraint": aws_env["AWS_REGION"]},
        )
        build.collectstatic("prod", project, extra_env=aws_env)
        build.deploy_venv_ensure()
        yield build.package("prod", Path(tmp) / "ticketstoheaven-prod.zip", project)
