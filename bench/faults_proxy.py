"""Fault injection on the wire: proxies in front of the AWS emulator, Stripe (localstripe) and
the stand-in vendor that make the Nth request of a run fail the way the real service fails.

One ``FaultPlan`` is shared by the three proxies, so requests are numbered in the order the
code under test sends them, whichever service they go to (1, 2, 3... from ``arm``). Every
request on the wire counts, retries included: botocore's and the stripe library's own retries
are part of what is tested, so a fault at request N is usually followed by the client's retry
at N+1. The kinds (``FAULTS``):

- ``refuse``: the request never arrives (the connection is closed before it is forwarded).
- ``lose``: the request is applied, its answer is lost (forwarded, then the connection is
  closed without an answer: what a client sees when its read times out after the write).
- ``throttle``: DynamoDB's ``ThrottlingException`` (400, the JSON DynamoDB sends for an
  on-demand table), Stripe's 429 ``rate_limit``, the vendor's 503 with ``Retry-After``.
- ``error``: a 5xx: DynamoDB ``InternalServerError`` (500), Stripe ``api_error`` (500), the
  vendor's 500.
- ``conflict``: DynamoDB writes only: ``TransactionCanceledException`` with a
  ``TransactionConflict`` reason for a ``TransactWriteItems``, ``TransactionConflictException``
  for a single write (another transaction holds the item). Not applicable elsewhere.
- ``crash``: the process dies right after request N was applied, as a Lambda does on a
  timeout or out of memory. Simulated in-process, honestly for everything outside the process:
  request N is forwarded and applied; its answer never arrives; ``SimulatedCrash`` (a
  ``BaseException``, so no ``except Exception`` of ours catches it) is raised asynchronously in
  the threads of the code under test (the thread that armed the plan and the workers of a
  ``ThreadPoolExecutor``), so it unwinds at once; and from then on every request the dying
  process still tries (a ``finally``, a context manager's exit) is refused, so nothing
  after request N reaches any service. What Lambda also skips, and this does not, is running
  those ``finally`` blocks in-process: they can change only in-process state, which dies with
  the simulated process.

The DynamoDB proxy also counts operations in a ``bench.dynamo_meter.Meter``; the Stripe proxy
records the id of every PaymentIntent created through it, so a check can find each one a run
made, even those whose answer was lost. Idle workers of a ``ThreadPoolExecutor`` that take the
crash log "Exception in worker" as they die: the process is dying, that is expected.
"""

from __future__ import annotations

import ctypes
import http.client
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from bench.dynamo_meter import Meter

FAULTS = ("refuse", "lose", "throttle", "error", "conflict", "crash")
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"})
_PREFIX = "com.amazonaws.dynamodb.v20120810#"
_THROTTLE_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly."
)


class SimulatedCrash(BaseException):
    """The process running the code under test died (``crash`` fault)."""


@dataclass(frozen=True)
class WireRequest:
    n: int
    service: str  # aws, stripe, vendor
    operation: str  # DynamoDB operation, or METHOD /path for the others
    fault: str | None = None  # the fault applied to it, if any

    def __str__(self) -> str:
        return f"#{self.n} {self.service} {self.operation}" + (
            f" [{self.fault}]" if self.fault else ""
        )


@dataclass
class FaultPlan:
    """Which request of the run fails, and how; and what the run sent. Thread-safe."""

    kind: str | None = None
    at: int = 0
    armed: bool = False
    count: int = 0
    crashed: bool = False
    fired: WireRequest | None = None
    requests: list[WireRequest] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)  # PaymentIntents created, ever
    lock: threading.Lock = field(default_factory=threading.Lock)
    victim: int | None = None  # the thread running the code under test
    only: str | None = None  # fail the ``at``-th request to this service (None: to any)
    counted: int = 0  # requests to ``only`` so far

    def arm(self, kind: str | None = None, at: int = 0, *, service: str | None = None) -> None:
        """Start numbering requests; fail request ``at`` with ``kind`` (None: a clean run that
        only counts). With ``service``, ``at`` counts that service's requests only (the
        ``at``-th request to Stripe, whatever DynamoDB requests come between)."""
        with self.lock:
            self.only, self.counted = service, 0
            self.kind, self.at, self.armed = kind, at, True
            self.count, self.crashed, self.fired = 0, False, None
            self.requests = []
            self.victim = threading.get_ident()

    def pause(self) -> bool:
        """Stop counting for a while (staff reading a page before the entry point's submit);
        returns whether it was armed, for ``resume``."""
        with self.lock:
            armed, self.armed = self.armed, False
            return armed

    def resume(self, armed: bool) -> None:
        with self.lock:
            self.armed = armed

    def disarm(self) -> list[WireRequest]:
        with self.lock:
            self.armed = False
            return list(self.requests)

    def decide(self, service: str, operation: str) -> tuple[str | None, bool]:
        """(the fault for this request or None, whether the process is dead already)."""
        with self.lock:
            if not self.armed:
                return None, False
            if self.crashed:
                return "dead", True
            self.count += 1
            fault = None
            if self.only is None:
                due = self.count == self.at
            else:
                self.counted += service == self.only
                due = service == self.only and self.counted == self.at
            if due and applicable(self.kind, service, operation):
                fault = self.kind
            request = WireRequest(self.count, service, operation, fault)
            self.requests.append(request)
            if fault is not None:
                self.fired = request
            return fault, False

    def crash(self) -> None:
        """The process dies: later requests are refused, its threads unwind."""
        with self.lock:
            self.crashed = True
            victims = {self.victim} | {
                t.ident for t in threading.enumerate() if t.name.startswith("ThreadPoolExecutor")
            }
        for ident in victims:
            if ident is not None:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(ident), ctypes.py_object(SimulatedCrash)
                )


def applicable(kind: str | None, service: str, operation: str) -> bool:
    if kind == "conflict":
        return service == "aws" and operation in DYNAMODB_WRITES
    return kind is not None


# --- What each service answers for a refused request -----------------------------------------


def _aws_error(kind: str, operation: str, payload: dict) -> tuple[int, list, bytes]:
    if kind == "throttle":
        status, body = (
            400,
            {"__type": _PREFIX + "ThrottlingException", "message": _THROTTLE_MESSAGE},
        )
    elif kind == "error":
        status, body = 500, {"__type": _PREFIX + "InternalServerError", "message": "Internal error"}
    elif operation == "TransactWriteItems":
        reasons = [{"Code": "None"} for _ in payload.get("TransactItems", [])]
        if reasons:
            reasons[0] = {
                "Code": "TransactionConflict",
                "Message": "Transaction is ongoing for the item",
            }
        status, body = (
            400,
            {
                "__type": _PREFIX + "TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific "
                f"reasons [{', '.join(r['Code'] for r in reasons)}]",
                "CancellationReasons": reasons,
            },
        )
    else:
        status, body = (
            400,
            {
                "__type": _PREFIX + "TransactionConflictException",
                "message": "Transaction is ongoing for the item",
            },
        )
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "fault")]
    return status, headers, json.dumps(body).encode()


def _stripe_error(kind: str) -> tuple[int, list, bytes]:
    if kind == "throttle":
        status, body = (
            429,
            {
                "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Too many requests hit the API too quickly.",
                }
            },
        )
    else:
        status, body = 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
    return status, [("Content-Type", "application/json")], json.dumps(body).encode()


def _vendor_error(kind: str) -> tuple[int, list, bytes]:
    if kind == "throttle":
        body = b'{"error": "temporarily unavailable"}'
        return 503, [("Content-Type", "application/json"), ("Retry-After", "1")], body
    return 500, [("Content-Type", "application/json")], b'{"error": "internal error"}'


# --- The proxies -----------------------------------------------------------------------------


class _FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer is written in two sends (the head, then the body): with Nagle's algorithm on,
    # the second waits for the client's delayed ACK of the first, 40 ms a request.
    disable_nagle_algorithm = True
    server: _Proxy

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}
        }
        server = self.server
        operation, payload = server.describe(self.command, self.path, headers, body)
        fault, dead = server.plan.decide(server.service, operation)
        if dead or fault == "refuse":
            self.close_connection = True  # never arrives
            return
        if fault in {"throttle", "error", "conflict"}:
            self._answer(*server.refusal(fault, operation, payload))
            return
        status, response_headers, response_body = server.forward(
            self.command, self.path, body, headers
        )
        server.observe(self.command, self.path, operation, payload, status, response_body)
        if fault == "lose":
            self.close_connection = True
            return
        if fault == "crash":
            server.plan.crash()
            self.close_connection = True
            return
        self._answer(status, response_headers, response_body)

    def _answer(self, status: int, headers: list, body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "transfer-encoding", "connection", "date"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True
    service = ""

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        self.upstream = urlsplit(upstream)
        self.plan = plan
        self._local = threading.local()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def forward(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(
                self.upstream.hostname, self.upstream.port, timeout=60
            )
            self._local.connection = connection
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
        except (ConnectionError, http.client.HTTPException):
            connection.close()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
        return response.status, response.getheaders(), response.read()

    def describe(self, method: str, path: str, headers: dict, body: bytes | None):
        return f"{method} {path.split('?')[0]}", {}

    def refusal(self, kind: str, operation: str, payload: dict) -> tuple[int, list, bytes]:
        raise NotImplementedError

    def observe(self, method, path, operation, payload, status, body) -> None:
        pass

    def start(self) -> _Proxy:
        threading.Thread(
            target=self.serve_forever, daemon=True, name=f"faults-{self.service}"
        ).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class AwsFaultProxy(_Proxy):
    service = "aws"

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        super().__init__(upstream, plan)
        self.meter = Meter()  # DynamoDB requests by operation, as the meter counts them

    def describe(self, method, path, headers, body):
        target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
        if target.startswith("DynamoDB_"):
            operation = target.split(".")[-1]
            with self.meter.lock:
                self.meter.requests[operation] += 1
            return operation, json.loads(body or b"{}")
        return target or f"{method} {path.split('?')[0]}", {}

    def refusal(self, kind, operation, payload):
        return _aws_error(kind, operation, payload)


class StripeFaultProxy(_Proxy):
    service = "stripe"

    def refusal(self, kind, operation, payload):
        return _stripe_error(kind)

    def observe(self, method, path, operation, payload, status, body) -> None:
        if method == "POST" and path.split("?")[0] == "/v1/payment_intents" and status == 200:
            intent_id = json.loads(body).get("id")
            with self.plan.lock:
                if intent_id not in self.plan.intents:
                    self.plan.intents.append(intent_id)


class VendorFaultProxy(_Proxy):
    service = "vendor"

    def refusal(self, kind, operation, payload):
        return _vendor_error(kind)


@dataclass
class FaultProxies:
    """The three proxies and their shared plan: ``FaultProxies.start(stack)``; point the app at
    ``aws.url`` (``AWS_ENDPOINT_URL``), ``stripe.url`` (``STRIPE_API_BASE``) and ``vendor.url``
    (SSM ``vendor_endpoint``)."""

    plan: FaultPlan
    aws: AwsFaultProxy
    stripe: StripeFaultProxy
    vendor: VendorFaultProxy

    @classmethod
    def start(cls, *, aws_url: str, stripe_url: str, vendor_url: str) -> FaultProxies:
        plan = FaultPlan()
        return cls(
            plan,
            AwsFaultProxy(aws_url, plan).start(),
            StripeFaultProxy(stripe_url, plan).start(),
            VendorFaultProxy(vendor_url, plan).start(),
        )

    def stop(self) -> None:
        for proxy in (self.aws, self.stripe, self.vendor):
            proxy.stop()
