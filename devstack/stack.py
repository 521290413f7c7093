"""Start and stop the local stand-in servers, and give AWS its secrets and parameters.

- moto in server mode (DynamoDB, Secrets Manager, SSM, S3 and the rest) speaking AWS's wire
  protocol, reached through ``AWS_ENDPOINT_URL``;
- localstripe, reached through ``STRIPE_API_BASE``;
- our stand-in ticket vendor (``devstack.vendor``), whose address is the SSM parameter
  ``vendor_endpoint`` exactly as in AWS.

Each is a separate process on loopback, started with this interpreter, so the stack needs
nothing but the project's environment.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REGION = "us-east-2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


STACK_ID_PATH = "/_config/devstack-id"  # each stand-in answers the DEVSTACK_ID it was started with
PORT_TRIES = 5


class PortTaken(RuntimeError):
    """The server could not bind its port: someone else (another stack) has it."""


def _wait_for_ours(base_url: str, process: subprocess.Popen, stack_id: str,
                   timeout: float = 30.0) -> None:  # fmt: skip
    """Until the server at ``base_url`` is up and is *this* stack's (it answers our id): a
    server of another stack answering on the port is never taken for ours. ``PortTaken`` when
    ours exits instead (it could not bind); ``RuntimeError`` when nothing comes up in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PortTaken(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base_url + STACK_ID_PATH, timeout=1) as answer:
                if answer.read().decode().strip().strip('"') == stack_id:
                    return
        except OSError:  # not up yet (URLError, HTTPError, a reset)
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base_url} did not come up within {timeout} s")


@dataclass
class LocalSecrets:
    """Values for the local stack only; generated per stack, never real."""

    stripe_api_key: str = field(default_factory=lambda: f"sk_test_local{secrets.token_hex(12)}")
    stripe_webhook_secret: str = field(
        default_factory=lambda: f"whsec_local{secrets.token_hex(16)}"
    )
    django_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    vendor_api_key: str = field(default_factory=lambda: f"vk_local{secrets.token_hex(16)}")
    origin_verify_secret: str = field(default_factory=lambda: f"ov_local{secrets.token_hex(16)}")


@dataclass
class LocalStack:
    aws_port: int
    stripe_port: int
    vendor_port: int
    secrets: LocalSecrets = field(default_factory=LocalSecrets)
    project: str = "ticketstoheaven"
    stage: str = "local"
    processes: list[subprocess.Popen] = field(default_factory=list)
    # Told to each of its servers, which answer it: two stacks started together on one
    # machine never mistake each other's servers for their own.
    stack_id: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def aws_url(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def stripe_url(self) -> str:
        return f"http://127.0.0.1:{self.stripe_port}"

    @property
    def vendor_url(self) -> str:
        return f"http://127.0.0.1:{self.vendor_port}"

    def environment(self) -> dict[str, str]:
        """What the app's process needs to use this stack: the same variables as in Lambda,
        plus the emulators' addresses and the switches a plain-HTTP local server needs."""
        return {
            "AWS_ENDPOINT_URL": self.aws_url,
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "STRIPE_API_BASE": self.stripe_url,
            "PROJECT_NAME": self.project,
            "STAGE": self.stage,
            "DJANGO_SETTINGS_MODULE": "tickets.settings",
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_HSTS_SECONDS": "0",
        }

    def _commands(self) -> dict[str, list[str]]:
        return {
            # moto with its requests serialised: conditional writes atomic, as in AWS
            "aws": [sys.executable, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(self.aws_port)],
            "stripe": [sys.executable, "-m", "devstack.localstripe_server", "--port", str(self.stripe_port)],
            "vendor": [
                sys.executable, "-m", "devstack.vendor",
                "--port", str(self.vendor_port),
                "--api-key", self.secrets.vendor_api_key,
            ],
        }  # fmt: skip

    def start(self, quiet: bool = True) -> LocalStack:
        """Start the three servers. A port taken meanwhile (checked free, then bound by another
        stack started in the same second) is given up for a free one, up to ``PORT_TRIES``
        times; a server is only taken as up once it answers this stack's id."""
        out = subprocess.DEVNULL if quiet else None
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DEVSTACK_ID": self.stack_id}
        try:
            for name in ("aws", "stripe", "vendor"):
                for attempt in range(PORT_TRIES):
                    argv = self._commands()[name]
                    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
                    try:
                        _wait_for_ours(getattr(self, f"{name}_url"), process, self.stack_id)
                    except PortTaken:
                        if attempt == PORT_TRIES - 1:
                            raise
                        setattr(self, f"{name}_port", free_port())
                        continue
                    except RuntimeError:
                        process.kill()
                        raise
                    self.processes.append(process)
                    break
        except RuntimeError:
            self.stop()  # none of them left running behind a failed start
            raise
        return self

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    # --- AWS contents --------------------------------------------------------------------

    def sent_emails(self) -> list[dict[str, Any]]:
        """Every message the emulator's SES accepted since the last reset
        (``devstack.moto_server``'s ``/_ses/sent``), as a buyer would read it: ``{"id", "to",
        "from", "subject", "text", "html"}``."""
        return sent_emails_read(self.aws_url)

    def aws_reset(self) -> None:
        """Empty the emulator: every table, secret and parameter is gone."""
        request = urllib.request.Request(f"{self.aws_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def provision_config(self, parameters: Mapping[str, str] | None = None) -> None:
        """Create (or overwrite) the app's secrets and its SSM parameters, as infra/ does."""
        session = boto3.session.Session(
            aws_access_key_id="local",
            aws_secret_access_key="local",
            region_name=LOCAL_REGION,
        )
        sm = session.client("secretsmanager", endpoint_url=self.aws_url)
        ssm = session.client("ssm", endpoint_url=self.aws_url)
        values = {
            "stripe": {
                "api_key": self.secrets.stripe_api_key,
                "webhook_secret": self.secrets.stripe_webhook_secret,
            },
            "app": {
                "django_secret_key": self.secrets.django_secret_key,
                "vendor_api_key": self.secrets.vendor_api_key,
            },
            "origin": {"origin_verify_secret": self.secrets.origin_verify_secret},
        }
        for name, value in values.items():
            secret_id = f"{self.project}/{self.stage}/{name}"
            try:
                sm.create_secret(Name=secret_id, SecretString=json.dumps(value))
            except sm.exceptions.ResourceExistsException:
                sm.put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))
        defaults = {
            "vendor_endpoint": self.vendor_url,
            "order_expiry_minutes": "30",
            "fulfillment_max_attempts": "5",
            "vendor_connect_timeout": "1",
            "vendor_read_timeout": "2",
            "feature_flags": "{}",
            "email_sender": f"TicketsToHeaven <{LOCAL_EMAIL_SENDER}>",
            "email_configuration_set": f"{self.project}-{self.stage}-email",
            "retention_personal_data_months": "24",
            "retention_audit_years": "10",
        }
        for name, value in {**defaults, **(parameters or {})}.items():
            ssm.put_parameter(
                Name=f"/{self.project}/{self.stage}/{name}",
                Value=value,
                Type="String",
                Overwrite=True,
            )
        # The sender's SES identity and the configuration set (infra/ses.tf in AWS).
        ses = session.client("sesv2", endpoint_url=self.aws_url)
        for create in (
            lambda: ses.create_email_identity(EmailIdentity=LOCAL_EMAIL_SENDER),
            lambda: ses.create_configuration_set(
                ConfigurationSetName=f"{self.project}-{self.stage}-email"
            ),
        ):
            try:
                create()
            except botocore.exceptions.ClientError as error:
                if "AlreadyExists" not in error.response.get("Error", {}).get("Code", ""):
                    raise
        # Its bounces: SNS topic -> SQS queue, which the every-minute job drains.
        sns = session.client("sns", endpoint_url=self.aws_url)
        sqs = session.client("sqs", endpoint_url=self.aws_url)
        topic = sns.create_topic(Name=f"{self.project}-{self.stage}-email-events")["TopicArn"]
        queue_url = sqs.create_queue(QueueName=f"{self.project}-{self.stage}-email-events")[
            "QueueUrl"
        ]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        if "email_events_queue_url" not in (parameters or {}):
            ssm.put_parameter(
                Name=f"/{self.project}/{self.stage}/email_events_queue_url",
                Value=queue_url,
                Type="String",
                Overwrite=True,
            )


LOCAL_EMAIL_SENDER = "tickets@ticketstoheaven.test"


def sent_emails_read(aws_url: str) -> list[dict[str, Any]]:
    """The messages the emulator's SES at ``aws_url`` accepted (see ``sent_emails``)."""
    import email
    from email import policy

    with urllib.request.urlopen(f"{aws_url}/_ses/sent", timeout=30) as answer:
        sent = json.load(answer)  # devstack.moto_server: SES's messages only
    found: list[dict[str, Any]] = []
    for raw in (m for m in sent if m["model"] == "RawMessage"):
        parsed = email.message_from_string(raw.get("raw_data", ""), policy=policy.default)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        found.append(
            {
                "id": raw.get("id"),
                "to": [str(a) for a in parsed.get_all("To", [])],
                "from": str(parsed.get("From", "")),
                "subject": str(parsed.get("Subject", "")),
                "text": text.get_content() if text is not None else "",
                "html": html.get_content() if html is not None else "",
            }
        )
    for simple in (m for m in sent if m["model"] == "Message"):  # sent as "Simple" content
        found.append(
            {
                "id": simple.get("id"),
                "to": list((simple.get("destinations") or {}).get("ToAddresses", [])),
                "from": simple.get("source", ""),
                "subject": simple.get("subject", ""),
                "text": simple.get("body", ""),
                "html": simple.get("html", ""),
            }
        )
    return found


def stack_start(
    aws_port: int | None = None, stripe_port: int | None = None, vendor_port: int | None = None
) -> LocalStack:
    """Start the three servers, each on the port asked for or a free one."""
    return LocalStack(
        aws_port=aws_port or free_port(),
        stripe_port=stripe_port or free_port(),
        vendor_port=vendor_port or free_port(),
    ).start()
