"""boto3 clients for every AWS service the app talks to, built in one place.

One setting, ``AWS_ENDPOINT_URL``, points every client (and PynamoDB) at a local emulator;
unset, the clients use AWS's own endpoints and the Lambda role's credentials. Clients are
cached per process so a warm Lambda container reuses its connections.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import Any

import boto3
from botocore.config import Config


def endpoint_url() -> str | None:
    """The local emulator's address, or None in AWS."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def region_name() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-2"


# Creating clients on one session is not thread-safe (botocore); the dev server has threads.
CLIENT_LOCK = threading.RLock()


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name=region_name())


def botocore_session() -> Any:
    """The botocore session under every client of the process, PynamoDB's included
    (``core.dynamodb``): one credential chain, and botocore's endpoint rules, partitions
    and retry files parsed once (a second session cost ~50 ms and several MB per cold start).
    Create clients from it under ``CLIENT_LOCK``."""
    return _session()._session


@functools.cache
def client(service: str) -> Any:
    """A cached boto3 client for ``service`` with short timeouts and standard retries."""
    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    with CLIENT_LOCK:
        return _session().client(service, endpoint_url=endpoint_url(), config=config)


def clients_reset() -> None:
    """Forget cached clients (after the endpoint or region changes, e.g. between test sessions)."""
    client.cache_clear()
    _session.cache_clear()
