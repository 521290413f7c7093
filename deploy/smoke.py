"""The smoke test after a deploy (the pipeline's, and the rehearsal's through the Lambda model):
``/health``, the catalog, and with ``order=True`` a test-mode order (staging only: it creates a
PaymentIntent with the stage's Stripe key; nobody pays it and the expiry job cancels it).

``python -m deploy smoke --stage staging --base-url https://{admin_domain} [--order]``
exits 1 with what failed, as a buyer would have seen it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

# (method, path, JSON body or None, headers) -> (status, parsed JSON body or None)
Send = Callable[[str, str, dict[str, Any] | None, dict[str, str]], tuple[int, Any]]

SMOKE_EMAIL = "smoke-test@example.com"


class SmokeFailed(AssertionError):
    pass


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise SmokeFailed(message)


def smoke(send: Send, *, order: bool) -> dict[str, Any]:
    """What a buyer would notice first; returns what it saw (health body, catalog size, order)."""
    status, health = send("GET", "/health", None, {})
    _expect(status == 200 and (health or {}).get("status") == "ok", f"/health: {status} {health}")
    status, catalog = send("GET", "/catalog", None, {})
    _expect(status == 200 and isinstance(catalog, list), f"/catalog: {status} {str(catalog)[:200]}")
    seen: dict[str, Any] = {"health": health, "catalog": len(catalog)}
    if order:
        _expect(bool(catalog), "/catalog is empty: no ticket type to order")
        body = {
            "customer": {"email": SMOKE_EMAIL, "name": "Smoke Test"},
            "items": [{"sku": catalog[0]["sku"], "quantity": 1}],
        }
        status, created = send("POST", "/orders", body, {"Idempotency-Key": uuid.uuid4().hex})
        _expect(status == 201, f"POST /orders: {status} {str(created)[:300]}")
        _expect(
            created.get("status") == "pending_payment"
            and created.get("payment", {}).get("client_secret"),
            f"the order has no payment to confirm: {str(created)[:300]}",
        )
        status, again = send("GET", f"/orders/{created['order_id']}", None, {})
        _expect(status == 200 and again.get("status") == "pending_payment", f"GET order: {status}")
        seen["order"] = created["order_id"]
    return seen


def http_sender(base_url: str, timeout: float = 30) -> Send:
    """Requests to the stage's public address (CloudFront), as a buyer's browser sends them."""
    if not base_url.startswith("https://"):
        raise ValueError("the base URL must be https://")

    def send(
        method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 (https only, checked above)
            base_url.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Accept": "application/json", "Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw[:200].decode(errors="replace")

    return send
