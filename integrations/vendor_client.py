"""The ticket vendor, behind one small client: one function per verb, answers classified.

The contract (SPEC "Fulfillment"), all with ``Authorization: Bearer {key}``; a third verb,
the erasure (``erasure_request``, at the end), is documented beside its code:

1. **Issue** (``fulfillment_request``): ``POST {endpoint}/fulfillments`` with
   ``Idempotency-Key: {order_id}`` and ``{order_id, customer: {email, name}, items: [{sku,
   quantity}]}``; a 2xx answer carries ``fulfillment_id``, ``status`` and maybe ``tickets``
   (``[{ticket_id, sku, code}]``).
2. **Void** (``tickets_void``): ``POST {endpoint}/fulfillments/{fulfillment_id}/voids`` with
   ``Idempotency-Key: void:{order_id}:{n}`` (``n``: the order's void request, so a retry of one
   request repeats its key and a later request gets a new one) and ``{ticket_ids: [...],
   reason}``; the vendor revokes those tickets (check-in refuses them from then on) and
   answers 2xx ``{void_id, tickets: [{ticket_id, state: "void"}]}``. Voiding a ticket that is
   void already is a success (a repeat changes nothing). A ticket that cannot be voided
   (already scanned at the gate) makes the vendor refuse the whole request with ``409``
   ``{error, tickets: [ids]}``: nothing is voided, and that is final.

The endpoint comes from SSM and the key from Secrets Manager (``core.config``); timeouts from
SSM too. Every answer becomes one of a few outcomes, and nothing else escapes this module:

- ``Fulfilled`` / ``Voided``: a 2xx with a well-formed body (also for a repeated key);
- ``Retryable``: connection errors, timeouts, 429 (with its ``Retry-After``), 5xx;
- ``Permanent``: any other 4xx (a void refused), or a 2xx whose body is not what was asked.

``requests`` is imported on first use (it is not needed on most invocations).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from core.config import app_secrets_get, parameters_get

SUMMARY_LIMIT = 120


@dataclass(frozen=True)
class IssuedTicket:
    ticket_id: str
    sku: str
    code: str | None


@dataclass(frozen=True)
class Fulfilled:
    fulfillment_id: str
    status: str
    tickets: list[IssuedTicket] = field(default_factory=list)
    summary: str = ""


@dataclass(frozen=True)
class Retryable:
    summary: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Permanent:
    summary: str


@dataclass(frozen=True)
class Voided:
    void_id: str
    ticket_ids: list[str]
    summary: str = ""


VendorOutcome = Fulfilled | Retryable | Permanent
VoidOutcome = Voided | Retryable | Permanent


@dataclass(frozen=True)
class VendorSettings:
    """Everything this client is configured with, read in one place: the vendor's endpoint and
    timeouts (SSM parameters) and its API key (Secrets Manager), both through ``core.config``
    (cached per container, rotation picked up with the cache)."""

    endpoint: str
    api_key: str
    connect_timeout: float
    read_timeout: float


def vendor_settings() -> VendorSettings:
    parameters = parameters_get()
    return VendorSettings(
        endpoint=parameters.vendor_endpoint,
        api_key=app_secrets_get().vendor_api_key,
        connect_timeout=parameters.vendor_connect_timeout,
        read_timeout=parameters.vendor_read_timeout,
    )


_local = threading.local()


def _session() -> Any:
    # One connection pool per thread (requests' Session is not promised to be thread-safe).
    session = getattr(_local, "session", None)
    if session is None:
        import requests

        session = _local.session = requests.Session()
    return session


def vendor_sessions_reset() -> None:
    """Forget the calling thread's session (its pooled connections): the next call opens new
    ones. Lambda runs one request at a time, on the thread that restores a SnapStart copy."""
    _local.session = None


def answer_in_words(summary: str | None) -> str:
    """A vendor answer's summary (``422 {"error": "sold out"}``, as kept on the order) as staff
    read it: ``The vendor refused (HTTP 422): sold out``. Anything else is returned as it is."""
    if not summary:
        return ""
    status, _, body = summary.partition(" ")
    if not status.isdigit():
        return summary
    said = body.strip()
    try:
        parsed = json.loads(said) if said.startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        said = next(
            (str(parsed[k]) for k in ("error", "message", "detail", "reason") if parsed.get(k)),
            "",
        )
    code = int(status)
    who = (
        "The vendor refused"
        if 400 <= code < 500
        else "The vendor failed"
        if code >= 500
        else "The vendor answered"
    )
    return f"{who} (HTTP {code})" + (f": {said}" if said else "")


def _summary(status: int, body: str) -> str:
    # The vendor's answer, short; it never echoes our request, so no personal data is kept.
    return f"{status} {body.strip()[:SUMMARY_LIMIT]}".strip()


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _post(path: str, *, body: dict[str, Any], key: str) -> Any:
    """POST to the vendor; the response, or the ``Retryable``/``Permanent`` it amounts to
    (anything but a 2xx)."""
    import requests

    settings = vendor_settings()
    try:
        response = _session().post(
            f"{settings.endpoint}{path}",
            json=body,
            headers={
                "Authorization": f"Bearer {settings.api_key}",
                "Idempotency-Key": key,
            },
            timeout=(settings.connect_timeout, settings.read_timeout),
        )
    except requests.Timeout:
        return Retryable("timeout")
    except requests.RequestException as error:
        return Retryable(f"connection error: {type(error).__name__}")

    status = response.status_code
    if status == 429:
        return Retryable(
            _summary(status, response.text), _retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500:
        return Retryable(_summary(status, response.text))
    if status < 200 or status >= 300:
        return Permanent(_summary(status, response.text))
    return response


def fulfillment_request(
    *, order_id: str, customer_email: str, customer_name: str, items: list[tuple[str, int]]
) -> VendorOutcome:
    """Ask the vendor to issue the tickets of an order. Safe to repeat: the vendor sees the
    same ``Idempotency-Key`` and answers with the same fulfillment."""
    response = _post(
        "/fulfillments",
        body={
            "order_id": order_id,
            "customer": {"email": customer_email, "name": customer_name},
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        },
        key=order_id,
    )
    if isinstance(response, Retryable | Permanent):
        return response
    status = response.status_code
    try:
        body = response.json()
        tickets = [
            IssuedTicket(ticket_id=str(t["ticket_id"]), sku=str(t["sku"]), code=t.get("code"))
            for t in body.get("tickets") or []
        ]
        fulfillment_id, state = body["fulfillment_id"], body["status"]
        if not isinstance(fulfillment_id, str) or not fulfillment_id or not isinstance(state, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        return Permanent(f"{status} malformed fulfillment body")
    return Fulfilled(
        fulfillment_id=fulfillment_id, status=state, tickets=tickets, summary=f"{status} {state}"
    )


def tickets_void(
    *, fulfillment_id: str, ticket_ids: list[str], idempotency_key: str, reason: str
) -> VoidOutcome:
    """Ask the vendor to revoke ``ticket_ids`` of a fulfillment (the second verb, see the
    module docstring). Safe to repeat with the same ``idempotency_key``; a ticket void already
    is voided again harmlessly. ``reason`` is a short word (``refund``, ``dispute_lost``...),
    never personal data."""
    from urllib.parse import quote

    response = _post(
        f"/fulfillments/{quote(fulfillment_id, safe='')}/voids",
        body={"ticket_ids": ticket_ids, "reason": reason},
        key=idempotency_key,
    )
    if isinstance(response, Retryable | Permanent):
        return response
    status = response.status_code
    try:
        body = response.json()
        void_id = body["void_id"]
        voided = [str(t["ticket_id"]) for t in body["tickets"] if t.get("state") == "void"]
        if not isinstance(void_id, str) or not void_id:
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        return Permanent(f"{status} malformed void body")
    missing = sorted(set(ticket_ids) - set(voided))
    if missing:
        return Permanent(f"{status} the vendor did not void {', '.join(missing)}")
    return Voided(void_id=void_id, ticket_ids=voided, summary=f"{status} void")


# --- Erasure: the vendor forgets a buyer (GDPR article 17) --------------------------------------
#
# Contract: ``POST {endpoint}/erasures`` with ``Authorization: Bearer {key}``,
# ``Idempotency-Key: erasure:{order_id}`` and ``{order_id, customer: {email, name}}``: the
# vendor replaces the buyer it holds for that order's fulfillment and tickets with the
# pseudonym given (tickets stay valid; their holder's name becomes the pseudonym). A 2xx
# answer carries ``{order_id, status: "erased"}``; ``404`` means the vendor holds nothing for
# the order (never fulfilled there): nothing to erase, which is as good as erased. Timeouts,
# 429 and 5xx are retryable, other 4xx permanent, as for fulfillments.


@dataclass(frozen=True)
class Erased:
    order_id: str
    held: bool  # False: the vendor had nothing for this order (404)


VendorErasureOutcome = Erased | Retryable | Permanent


def erasure_request(
    *, order_id: str, pseudonym_email: str, pseudonym_name: str
) -> VendorErasureOutcome:
    """Tell the vendor to forget the buyer of ``order_id`` (replaced by the pseudonym). Safe
    to repeat: the same ``Idempotency-Key`` each time, and the vendor's answer is the same."""
    import requests

    settings = vendor_settings()
    try:
        response = _session().post(
            f"{settings.endpoint}/erasures",
            json={
                "order_id": order_id,
                "customer": {"email": pseudonym_email, "name": pseudonym_name},
            },
            headers={
                "Authorization": f"Bearer {settings.api_key}",
                "Idempotency-Key": f"erasure:{order_id}",
            },
            timeout=(settings.connect_timeout, settings.read_timeout),
        )
    except requests.Timeout:
        return Retryable("timeout")
    except requests.RequestException as error:
        return Retryable(f"connection error: {type(error).__name__}")
    status = response.status_code
    if status == 404:
        return Erased(order_id=order_id, held=False)
    if status == 429:
        return Retryable(
            _summary(status, response.text), _retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500:
        return Retryable(_summary(status, response.text))
    if not 200 <= status < 300:
        return Permanent(_summary(status, response.text))
    return Erased(order_id=order_id, held=True)
