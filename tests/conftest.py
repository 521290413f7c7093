"""Test fixtures: the real stand-in servers, started once per session when a test first needs them.

The suite runs in tiers (``tests/README.md``). At configure time the session only *plans* the
local stack (moto for AWS, localstripe, the stand-in vendor; ``devstack.stack``): it picks the
ports, generates the stack's secrets and exports the same environment variables the app reads in
Lambda, then sets Django up. No server runs yet, so pure logic (cursors, money, state rules,
signatures, backoff, roles) is tested without any.

A test that needs the emulator asks for it: ``pytestmark = pytest.mark.usefixtures("aws")`` at
the top of its module, or the ``aws`` (or ``local_stack``) fixture as an argument. The first such
test starts the servers (``local_stack``, session-scoped); each ``aws`` test then starts from an
empty emulator with freshly created tables, secrets and parameters, so tests never see each
other's data. ``TESTS_WITHOUT_SERVERS=1`` skips every test that would start them (the pure tier).
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import LocalStack, free_port, port_free
from devstack.stripe_limits import StripeLimits
from tests.log_guard import LogGuard, log_guard_install

WITHOUT_SERVERS = "TESTS_WITHOUT_SERVERS"

_stack: LocalStack | None = None
_stack_start_seconds: float | None = None  # None: the servers were never started
_log_guard: LogGuard | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _stack, _log_guard
    # The plan of the stack, not the servers: the environment is the one they will answer on.
    _stack = LocalStack(aws_port=free_port(), stripe_port=free_port(), vendor_port=free_port())
    os.environ.update(_stack.environment())
    # The same switches as the local stack; check --deploy tests the production positions.
    import django

    django.setup()
    from django.conf import settings

    # Importing tickets.wsgi runs django.setup() again, which points the log handlers at whatever
    # stdout pytest is capturing at that moment (a test that imports it would leave every later
    # test's logs in its own capture); imported here, the handlers keep the real stdout.
    import tickets.wsgi  # noqa: F401

    # A fast hasher for the tests' many sign-ins; production keeps Django's PBKDF2 default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The value the lazy setting would read from Secrets Manager (the stack provisions this very
    # secret), given up front so signing (cursors, sessions) needs no server. Reading it from
    # Secrets Manager is tested in tests/core/test_config.py and tests/deploy/test_check_deploy.py.
    settings.SECRET_KEY = _stack.secrets.django_secret_key
    _log_guard = log_guard_install(vars(_stack.secrets).values())


# Tests that build the Lambda package share ``.venv-deploy`` and the session's package: under
# ``pytest -n 2 --dist loadgroup`` (make test) they run on one worker (the rehearsal runs after,
# in a process of its own).
_DEPLOY_GROUP = ("tests/deploy/test_lambda_handler.py", "tests/deploy/test_package.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if any(part in item.nodeid for part in _DEPLOY_GROUP):
            item.add_marker(pytest.mark.xdist_group("deploy"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _stack is not None:
        _stack.stop()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Whether this session started the servers (``tests/test_tiers.py`` reads this line)."""
    if _stack_start_seconds is None:
        terminalreporter.write_line("local stack: not started (no test needed the servers)")
    else:
        terminalreporter.write_line(f"local stack: started in {_stack_start_seconds:.1f} s")


@pytest.fixture(autouse=True)
def no_personal_data_in_logs() -> Iterator[None]:
    """Fails the test if any log line it caused carries personal data, a secret or a
    password (``tests.log_guard``)."""
    assert _log_guard is not None
    _log_guard.take()
    yield
    leaks = _log_guard.take()
    if leaks:
        pytest.fail("log lines carry personal data or secrets:\n" + "\n".join(leaks))


@pytest.fixture(scope="session")
def local_stack() -> LocalStack:
    """The stand-in servers, started the first time a test of the session asks for them."""
    global _stack_start_seconds
    assert _stack is not None
    if os.environ.get(WITHOUT_SERVERS) == "1":
        pytest.skip(f"needs the local servers ({WITHOUT_SERVERS}=1)")
    if _stack_start_seconds is None:
        started = time.monotonic()
        _ports_ensure(_stack)
        _stack.start()
        _stack_start_seconds = time.monotonic() - started
    return _stack


def _ports_ensure(stack: LocalStack) -> None:
    """Ports planned at configure time may have been taken since (the machine is shared): pick
    others, export them, and point every cached client and model at the new address."""
    if all(port_free(p) for p in (stack.aws_port, stack.stripe_port, stack.vendor_port)):
        return
    from core.config import config_cache_clear
    from core.dynamodb import connections_reset

    stack.aws_port, stack.stripe_port, stack.vendor_port = free_port(), free_port(), free_port()
    os.environ.update(stack.environment())
    connections_reset()
    config_cache_clear()


@pytest.fixture
def aws(local_stack: LocalStack) -> Iterator[LocalStack]:
    """An empty AWS with this deployment's tables, secrets and parameters."""
    from core.config import config_cache_clear
    from core.dynamodb import tables_ensure
    from orders.services.customers import customers_first_day_forget

    local_stack.aws_reset()
    local_stack.provision_config()
    tables_ensure()
    config_cache_clear()
    customers_first_day_forget()  # what this process knew of the emptied tables
    vendor_reset(local_stack)
    yield local_stack


def vendor_reset(stack: LocalStack) -> None:
    request = urllib.request.Request(f"{stack.vendor_url}/_requests", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture
def stripe_wire(aws, monkeypatch) -> Iterator[StripeLimits]:
    """The app's Stripe calls go through Stripe's documented limits and are counted on the
    wire (``devstack.stripe_limits`` in front of localstripe): ``stats()`` tells what Stripe
    was sent, per endpoint, and what it answered 429."""
    from integrations.stripe_client import stripe_client_reset

    proxy = StripeLimits(aws.stripe_url).start()
    monkeypatch.setenv("STRIPE_API_BASE", proxy.url)
    stripe_client_reset()
    yield proxy
    proxy.stop()
    monkeypatch.undo()
    stripe_client_reset()


@pytest.fixture
def client():
    from django.test import Client

    return Client(raise_request_exception=False)


# --- The deployment package, built once per session ------------------------------------------


@pytest.fixture(scope="session")
def lambda_packages(local_stack: LocalStack) -> Iterator[dict[str, Path]]:
    """``zappa package prod`` and ``zappa package prod-backoffice`` (the two functions) from
    one clean copy of the project, as an operator builds them: collectstatic (production
    storage, against the emulator's S3) writes the manifest the packages carry, then Zappa
    packs the deploy environment and the zip hook adds bytecode (and makes the public API's
    package its own)."""
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
        yield {
            stage: build.package(stage, Path(tmp) / f"ticketstoheaven-{stage}.zip", project)
            for stage in ("prod", "prod-backoffice")
        }


@pytest.fixture(scope="session")
def lambda_package(lambda_packages: dict[str, Path]) -> Path:
    """The public API's package (stage ``prod``)."""
    return lambda_packages["prod"]


@pytest.fixture(scope="session")
def backoffice_lambda_package(lambda_packages: dict[str, Path]) -> Path:
    """The back office's package (stage ``prod-backoffice``)."""
    return lambda_packages["prod-backoffice"]


STAFF_PASSWORD = "correct horse battery staple"
_totp_steps_used: dict[str, int] = {}


def staff_totp_secret(username: str) -> str:
    """The TOTP secret ``make_staff`` enrolls for ``username`` (a test's authenticator app)."""
    import base64
    import hashlib

    return base64.b32encode(hashlib.sha256(f"test-totp:{username}".encode()).digest()[:20]).decode()


def staff_totp_code(username: str) -> str:
    """A code of ``username``'s app that the server has not seen yet (a code counts once: a
    second sign-in within the same 30 s takes the next step's code, as a person would wait)."""
    import pyotp

    totp = pyotp.TOTP(staff_totp_secret(username))
    step = int(time.time() // totp.interval)
    use = max(step, _totp_steps_used.get(username, -1) + 1)
    while use > step + 1:  # a third sign-in within one step: wait for the next
        time.sleep(1)
        step = int(time.time() // totp.interval)
    _totp_steps_used[username] = use
    return totp.at(use * totp.interval)


def staff_factor_enroll(username: str) -> None:
    """Give ``username`` the test app's TOTP factor, written straight to the table."""
    from staff.factors import TOTP, StaffFactor
    from staff.models import staff_pk

    StaffFactor(
        pk=staff_pk(username), sk=TOTP, secret=staff_totp_secret(username), last_step=0
    ).save()
    _totp_steps_used.pop(username, None)


@pytest.fixture
def make_staff(aws):
    """Create a staff account: ``make_staff("support")`` -> the username. A role that must
    sign in with a second factor (finance, admin) gets the test app's TOTP factor
    (``staff_totp_code``), unless ``factor=False``."""
    from staff.factors import factor_required
    from staff.services import staff_create

    def make(
        role: str = "admin",
        username: str | None = None,
        password: str = STAFF_PASSWORD,
        factor: bool | None = None,
    ):
        username = username or f"{role}-user"
        staff_create(
            username=username, email=f"{username}@staff.example", role=role, password=password
        )
        if factor if factor is not None else factor_required(role):
            staff_factor_enroll(username)
        return username

    return make


def staff_sign_in(
    browser, username: str, password: str = STAFF_PASSWORD, next_url: str = "/admin/"
):
    """Sign in through the admin's pages, the second step with the test app's code when asked:
    the final answer (a redirect when signed in)."""
    response = browser.post(
        f"/admin/login/?next={next_url}", {"username": username, "password": password}
    )
    if response.status_code == 302 and response["Location"] == "/admin/login/factor/":
        browser.get("/admin/login/factor/")
        response = browser.post("/admin/login/factor/", {"code": staff_totp_code(username)})
    return response


@pytest.fixture
def staff_client(make_staff):
    """A test client signed in through the admin's login page: ``staff_client("finance")``."""
    from django.test import Client

    def sign_in(role: str = "admin", username: str | None = None):
        username = make_staff(role, username)
        browser = Client(raise_request_exception=False)
        response = staff_sign_in(browser, username)
        assert response.status_code == 302, response.content[:500]
        assert response["Location"] == "/admin/", response["Location"]
        return browser

    return sign_in
