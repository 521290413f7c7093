"""Driving the stand-in vendor from tests: tell it how to behave, read what it received."""

from __future__ import annotations

import json
import urllib.request


def vendor_behave(stack, mode: str, *, delay: float = 0, times: int | None = None) -> None:
    body = json.dumps({"mode": mode, "delay": delay, "times": times}).encode()
    request = urllib.request.Request(
        f"{stack.vendor_url}/_control",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def vendor_requests(stack) -> list[dict]:
    with urllib.request.urlopen(f"{stack.vendor_url}/_requests", timeout=5) as response:
        return json.load(response)


def successful_fulfillments(stack) -> dict[str, int]:
    """Successful answers per idempotency key (an order id)."""
    counts: dict[str, int] = {}
    for request in vendor_requests(stack):
        if request.get("answer") in (200, 201):
            counts[request["idempotency_key"]] = counts.get(request["idempotency_key"], 0) + 1
    return counts


def vendor_erasures(stack) -> list[dict]:
    """Every erasure request the vendor received (``POST /erasures``)."""
    with urllib.request.urlopen(f"{stack.vendor_url}/_erasures", timeout=5) as response:
        return json.load(response)
