"""A stand-in for the third-party ticket vendor, following the spec's vendor contract.

``POST /fulfillments`` with ``Authorization: Bearer {key}``, ``Idempotency-Key: {order_id}`` and
a JSON body ``{order_id, customer: {email, name}, items: [{sku, quantity}]}`` answers ``201``
with ``{fulfillment_id, status: "issued", tickets: [{ticket_id, sku, code}]}``; the same
idempotency key again answers ``200`` with the same fulfillment, as a real vendor would.

``POST /fulfillments/{fulfillment_id}/voids`` with ``Idempotency-Key`` and ``{ticket_ids,
reason}`` revokes those tickets: ``200`` ``{void_id, tickets: [{ticket_id, state: "void"}]}``;
the same key again answers the same; a ticket already void is voided again harmlessly; a
ticket scanned at the gate makes it refuse the whole request (``409`` ``{error: "ticket already
scanned", tickets: [...]}``, nothing voided); an unknown fulfillment or ticket is ``404``; the
same key with another body ``422``. Each ticket's state (``valid``, ``void``, ``scanned``) is
kept.

It can be told how to behave, for tests and demos, through a control API:

- ``POST /_control`` ``{"mode": M, "delay": seconds, "times": n}``: the next ``n`` fulfillment
  requests (all, if ``times`` is absent) behave as ``M``: ``ok``, ``slow`` (answer after
  ``delay``), ``timeout`` (hold the connection for ``delay``, default 30 s, then drop it),
  ``error`` (500), ``unavailable`` (503), ``rate_limit`` (429 with ``Retry-After: delay``),
  ``reject`` (422), ``malformed`` (200 with a body that is not a fulfillment), ``drop`` (close
  the connection without answering).
- ``POST /_scan`` ``{"ticket_id": id}``: the ticket is scanned at the gate (it can no longer
  be voided).
- ``GET /_tickets``: every ticket's state, ``{ticket_id: state}``.
- ``GET /_requests``: every request of either verb received (``verb``: ``fulfill``/``void``) (method, path, idempotency key, body,
  whether the key was right, the answer given), so tests can count calls.
- ``DELETE /_requests``: forget requests and fulfillments, back to ``ok``.

``POST /erasures`` (``Idempotency-Key: erasure:{order_id}``, ``{order_id, customer: {email,
name}}``) replaces the buyer held for that order (in its fulfillment, and in the recorded
requests that carried it) with the pseudonym given, and answers ``200 {order_id, status:
"erased"}``; ``404`` when it holds nothing for the order. The control API's modes apply to it
as to fulfillments; ``GET /_erasures`` lists the erasure requests received.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class VendorState:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.mode = "ok"
        self.delay = 0.0
        self.times: int | None = None
        self.requests: list[dict[str, Any]] = []
        self.fulfillments: dict[str, dict[str, Any]] = {}
        self.ticket_states: dict[str, str] = {}  # ticket_id -> valid, void, scanned
        self.ticket_fulfillment: dict[str, str] = {}  # ticket_id -> fulfillment_id
        self.voids: dict[str, tuple[Any, tuple[int, Any]]] = {}  # key -> (body, answer)
        self.erasures: list[dict[str, Any]] = []

    def next_mode(self) -> tuple[str, float]:
        with self.lock:
            mode, delay = self.mode, self.delay
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.delay, self.times = "ok", 0.0, None
            return mode, delay


def _valid_body(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("order_id"), str)
        and isinstance(body.get("customer"), dict)
        and isinstance(body.get("items"), list)
        and bool(body["items"])
        and all(
            isinstance(i, dict)
            and isinstance(i.get("sku"), str)
            and isinstance(i.get("quantity"), int)
            for i in body["items"]
        )
    )


class Handler(BaseHTTPRequestHandler):
    server: VendorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are two sends: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            return None

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/_requests":
            with state.lock:
                self._send(200, list(state.requests))
        elif self.path == "/_tickets":
            with state.lock:
                self._send(200, dict(state.ticket_states))
        elif self.path == "/_erasures":
            with state.lock:
                self._send(200, list(state.erasures))
        elif self.path == "/health":
            self._send(200, {"status": "ok"})
        elif (
            self.path == "/_config/devstack-id"
        ):  # which local stack it belongs to (devstack.stack)
            self._send(200, os.environ.get("DEVSTACK_ID", ""))
        else:
            self._send(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        if self.path == "/_requests":
            with self.server.state.lock:
                self.server.state.reset()
            self._send(200, {"reset": True})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path == "/_control":
            self._control()
        elif self.path == "/fulfillments":
            self._fulfill()
        elif self.path == "/_scan":
            self._scan()
        elif self.path.startswith("/fulfillments/") and self.path.endswith("/voids"):
            self._void(self.path.removeprefix("/fulfillments/").removesuffix("/voids"))
        elif self.path == "/erasures":
            self._erase()
        else:
            self._send(404, {"error": "not found"})

    def _control(self) -> None:
        body = self._body() or {}
        state = self.server.state
        with state.lock:
            state.mode = str(body.get("mode", "ok"))
            state.delay = float(body.get("delay", 0))
            state.times = int(body["times"]) if body.get("times") is not None else None
        self._send(200, {"mode": state.mode, "delay": state.delay, "times": state.times})

    def _scan(self) -> None:
        body = self._body() or {}
        state = self.server.state
        with state.lock:
            ticket_id = str(body.get("ticket_id"))
            if ticket_id not in state.ticket_states:
                self._send(404, {"error": "unknown ticket"})
                return
            state.ticket_states[ticket_id] = "scanned"
        self._send(200, {"ticket_id": ticket_id, "state": "scanned"})

    def _received(self, verb: str) -> tuple[dict[str, Any], Any, str | None, bool, str, float]:
        """Record a request of ``verb``; behave as the mode says (sleep for ``slow``)."""
        state = self.server.state
        body = self._body()
        key = self.headers.get("Idempotency-Key")
        authorized = secrets.compare_digest(
            self.headers.get("Authorization", ""), f"Bearer {state.api_key}"
        )
        mode, delay = state.next_mode()
        record: dict[str, Any] = {
            "at": time.time(),
            "verb": verb,
            "idempotency_key": key,
            "authorized": authorized,
            "body": body,
            "mode": mode,
        }
        with state.lock:
            state.requests.append(record)
        if mode in {"slow", "timeout", "drop"} and (delay or mode == "timeout"):
            time.sleep(delay or 30.0)
        return record, body, key, authorized, mode, delay

    def _reply(self, record: dict[str, Any], answer: tuple[int, Any, dict[str, str]]) -> None:
        status, payload, headers = answer
        record["answer"] = int(status)
        self._send(status, payload, headers)

    def _fulfill(self) -> None:
        record, body, key, authorized, mode, delay = self._received("fulfill")
        if mode in {"timeout", "drop"}:
            record["answer"] = None
            self.close_connection = True
            return
        self._reply(record, self._answer(mode, delay, body, key, authorized))

    def _void(self, fulfillment_id: str) -> None:
        record, body, key, authorized, mode, delay = self._received("void")
        if mode in {"timeout", "drop"}:
            record["answer"] = None
            self.close_connection = True
            return
        failure = self._failure(mode, delay, authorized)
        self._reply(record, failure or self._void_answer(fulfillment_id, body, key))

    def _void_answer(
        self, fulfillment_id: str, body: Any, key: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        state = self.server.state
        ids = body.get("ticket_ids") if isinstance(body, dict) else None
        if (
            not key
            or not isinstance(ids, list)
            or not ids
            or not all(isinstance(i, str) for i in ids)
        ):
            return 400, {"error": "Idempotency-Key and ticket_ids are required"}, {}
        with state.lock:
            if key in state.voids:
                first_body, (status, payload) = state.voids[key]
                if first_body != body:
                    return 422, {"error": "Idempotency-Key reused with another body"}, {}
                return status, payload, {}
            if fulfillment_id not in {f["fulfillment_id"] for f in state.fulfillments.values()}:
                return 404, {"error": "unknown fulfillment"}, {}
            unknown = [i for i in ids if state.ticket_fulfillment.get(i) != fulfillment_id]
            if unknown:
                return 404, {"error": "unknown ticket", "tickets": unknown}, {}
            scanned = [i for i in ids if state.ticket_states[i] == "scanned"]
            if scanned:
                answer: tuple[int, Any] = (
                    409,
                    {"error": "ticket already scanned", "tickets": scanned},
                )
            else:
                for ticket_id in ids:
                    state.ticket_states[ticket_id] = "void"
                answer = (
                    200,
                    {
                        "void_id": f"void_{secrets.token_hex(8)}",
                        "tickets": [{"ticket_id": i, "state": "void"} for i in ids],
                    },
                )
            state.voids[key] = (body, answer)
        return answer[0], answer[1], {}

    def _failure(
        self, mode: str, delay: float, authorized: bool
    ) -> tuple[int, Any, dict[str, str]] | None:
        """The answer a failing mode gives, whichever the verb; None to answer normally."""
        if not authorized:
            return 401, {"error": "invalid api key"}, {}
        if mode == "error":
            return 500, {"error": "internal error"}, {}
        if mode == "unavailable":
            return 503, {"error": "unavailable"}, {}
        if mode == "rate_limit":
            return 429, {"error": "slow down"}, {"Retry-After": str(int(delay or 1))}
        if mode == "reject":
            return 422, {"error": "unknown event"}, {}
        if mode == "malformed":
            return 200, {"unexpected": True}, {}
        return None

    def _answer(
        self, mode: str, delay: float, body: Any, key: str | None, authorized: bool
    ) -> tuple[int, Any, dict[str, str]]:
        state = self.server.state
        failure = self._failure(mode, delay, authorized)
        if failure is not None:
            return failure
        if not key or not _valid_body(body) or body["order_id"] != key:
            return 400, {"error": "Idempotency-Key must equal order_id and the body be valid"}, {}
        with state.lock:
            existing = state.fulfillments.get(key)
            if existing is not None:
                return HTTPStatus.OK, existing, {}
            fulfillment = {
                "fulfillment_id": f"ful_{secrets.token_hex(8)}",
                "status": "issued",
                "tickets": [
                    {
                        "ticket_id": f"tkt_{secrets.token_hex(6)}",
                        "sku": item["sku"],
                        "code": secrets.token_hex(4).upper(),
                    }
                    for item in body["items"]
                    for _ in range(item["quantity"])
                ],
            }
            state.fulfillments[key] = fulfillment
            for ticket in fulfillment["tickets"]:
                state.ticket_states[ticket["ticket_id"]] = "valid"
                state.ticket_fulfillment[ticket["ticket_id"]] = fulfillment["fulfillment_id"]
        return HTTPStatus.CREATED, fulfillment, {}

    # --- erasure: forget a buyer ------------------------------------------------------------

    def _erase(self) -> None:
        state = self.server.state
        body = self._body()
        key = self.headers.get("Idempotency-Key")
        authorized = secrets.compare_digest(
            self.headers.get("Authorization", ""), f"Bearer {state.api_key}"
        )
        mode, delay = state.next_mode()
        record: dict[str, Any] = {"at": time.time(), "idempotency_key": key, "body": body,
                                  "authorized": authorized, "mode": mode}  # fmt: skip
        with state.lock:
            state.erasures.append(record)
        if mode in {"slow", "timeout", "drop"} and (delay or mode == "timeout"):
            time.sleep(delay or 30.0)
        if mode in {"timeout", "drop"}:
            record["answer"] = None
            self.close_connection = True
            return
        status, payload = self._erasure_answer(mode, body, key, authorized)
        record["answer"] = status
        self._send(status, payload, {"Retry-After": str(int(delay or 1))} if status == 429 else {})

    def _erasure_answer(
        self, mode: str, body: Any, key: str | None, authorized: bool
    ) -> tuple[int, Any]:
        state = self.server.state
        if not authorized:
            return 401, {"error": "invalid api key"}
        failures = {"error": 500, "unavailable": 503, "rate_limit": 429, "reject": 422}
        if mode in failures:
            return failures[mode], {"error": mode}
        customer = body.get("customer") if isinstance(body, dict) else None
        order_id = body.get("order_id") if isinstance(body, dict) else None
        if (
            not isinstance(order_id, str)
            or key != f"erasure:{order_id}"
            or not (isinstance(customer, dict) and customer.get("email") and customer.get("name"))
        ):
            return 400, {"error": "Idempotency-Key must be erasure:{order_id}, with a customer"}
        with state.lock:
            held = [r for r in state.requests if (r.get("body") or {}).get("order_id") == order_id]
            if order_id not in state.fulfillments and not held:
                return 404, {"error": "unknown order"}
            for request in held:  # what a real vendor keeps of the buyer: forgotten
                request["body"] = {**request["body"], "customer": dict(customer)}
            if order_id in state.fulfillments:
                state.fulfillments[order_id]["customer"] = dict(customer)
        return HTTPStatus.OK, {"order_id": order_id, "status": "erased"}


class VendorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api_key: str) -> None:
        super().__init__(address, Handler)
        self.state = VendorState(api_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8430)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    VendorServer((args.host, args.port), args.api_key).serve_forever()


if __name__ == "__main__":
    main()
