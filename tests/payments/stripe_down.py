"""Stripe unreachable, for real: the client's address pointed at a loopback port nobody
listens on (the client is rebuilt when ``STRIPE_API_BASE`` changes), so every call fails to
connect exactly as it would when Stripe is down."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def stripe_unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with monkeypatch.context() as patch:
        patch.setenv("STRIPE_API_BASE", f"http://127.0.0.1:{closed_port()}")
        yield
