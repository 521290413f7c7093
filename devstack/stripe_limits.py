"""Stripe's rate limits and latency in front of localstripe: a proxy that answers 429 as Stripe
does past its documented rates, and takes as long as Stripe to answer.

localstripe answers everything at once and never says 429; Stripe limits each API endpoint
(25 requests a second by default; ``POST /v1/payment_intents`` and ``GET
/v1/payment_intents/{id}`` are two endpoints, reads of different ids share one) and the
account (100 a second live, 25 in test mode), and answers ``429`` with a ``rate_limit`` error
past them. This proxy does the same, as a token bucket per limit holding one second's worth
(Stripe's limiter allows short bursts; a second's worth is the generous reading, so a client
that stays within its budget here stays within Stripe's). Only requests made with a secret key
count (``Authorization: Bearer sk_...``); Stripe.js's with the publishable key, the stand-in's
``/_config`` calls and its Stripe.js files pass through uncounted.

``latency`` seconds are added to each counted request (Stripe's PaymentIntent create takes a
few hundred milliseconds). ``time_scale`` runs the model on a slower clock, as the DynamoDB
contention model does (``bench/dynamo_contention.py``): latency times it, rates divided by it.

What it saw is counted per endpoint (``stats()``, or ``GET /_limits/stats``): requests
forwarded and 429s answered. Used by the tests of the budget (``integrations.stripe_budget``)
and by ``bench/onsale.py``. Start it in-process (``StripeLimits(...).start()``) or as
``python -m devstack.stripe_limits --upstream URL --port N``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Stripe's object ids: a short prefix, an underscore, random letters and digits (pi_3Qab...,
# re_..., ch_...), never all lower case as the names of resources are (payment_intents).
_ID = re.compile(r"^[a-z]{2,8}_(?=[A-Za-z0-9_]*[A-Z0-9])[A-Za-z0-9_]+$")
RATE_LIMIT_BODY = {
    "error": {
        "type": "invalid_request_error",
        "code": "rate_limit",
        "message": "Too many requests hit the API too quickly. We recommend an exponential "
        "backoff of your requests.",
    }
}


def endpoint_of(method: str, path: str) -> str:
    """Stripe's endpoint for its limits: ``GET /v1/payment_intents/{id}``."""
    parts = [("{id}" if _ID.match(part) else part) for part in path.split("?")[0].split("/")]
    return f"{method} {'/'.join(parts)}"


@dataclass
class TokenBucket:
    rate: float  # per second
    burst: float  # tokens
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Limits:
    account_rate: float = 100.0
    endpoint_rate: float = 25.0
    endpoint_rates: dict[str, float] = field(default_factory=dict)
    latency: float = 0.0
    time_scale: float = 1.0
    burst_seconds: float = 1.0


class StripeLimits:
    """The proxy: ``start()`` it, point ``STRIPE_API_BASE`` at ``url``."""

    def __init__(self, upstream: str, limits: Limits | None = None) -> None:
        self.upstream = urlsplit(upstream)
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}
        self.forwarded: Counter[str] = Counter()
        self.limited: Counter[str] = Counter()
        self.server: ThreadingHTTPServer | None = None

    # --- the model -----------------------------------------------------------------------

    def _bucket(self, name: str, rate: float) -> TokenBucket:
        bucket = self._buckets.get(name)
        scaled = rate / self.limits.time_scale
        if bucket is None or bucket.rate != scaled:
            bucket = self._buckets[name] = TokenBucket(
                rate=scaled, burst=max(1.0, rate * self.limits.burst_seconds)
            )
        return bucket

    def admit(self, endpoint: str) -> bool:
        """Whether Stripe would serve this request now (both limits), counted either way."""
        limits = self.limits
        rate = limits.endpoint_rates.get(endpoint, limits.endpoint_rate)
        with self._lock:
            now = time.monotonic()
            account = self._bucket("account", limits.account_rate)
            ok = self._bucket(endpoint, rate).take(now)
            ok = ok and account.take(now)
            (self.forwarded if ok else self.limited)[endpoint] += 1
        return ok

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {"forwarded": dict(self.forwarded), "limited": dict(self.limited)}

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.forwarded.clear()
            self.limited.clear()

    # --- the server ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self, port: int = 0) -> StripeLimits:
        proxy = self
        local = threading.local()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Head and body are two sends: no 40 ms delayed-ACK stall.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.startswith("/_limits/"):
                    if self.path == "/_limits/reset":
                        proxy.reset()
                    data = json.dumps(proxy.stats()).encode()
                    self._answer(200, data, [("Content-Type", "application/json")])
                    return
                secret = (self.headers.get("Authorization") or "").startswith("Bearer sk_")
                if secret and self.path.startswith("/v1/"):
                    if not proxy.admit(endpoint_of(self.command, self.path)):
                        data = json.dumps(RATE_LIMIT_BODY).encode()
                        self._answer(429, data, [("Content-Type", "application/json")])
                        return
                    if proxy.limits.latency:
                        time.sleep(proxy.limits.latency * proxy.limits.time_scale)
                status, headers, data = self._forward(body)
                self._answer(status, data, headers)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                for attempt in range(2):  # a kept-alive connection the upstream closed
                    connection = getattr(local, "connection", None)
                    if connection is None:
                        connection = local.connection = http.client.HTTPConnection(
                            proxy.upstream.hostname, proxy.upstream.port, timeout=60
                        )
                    try:
                        connection.request(self.command, self.path, body=body, headers=headers)
                        answer = connection.getresponse()
                        return answer.status, answer.getheaders(), answer.read()
                    except (OSError, http.client.HTTPException):
                        connection.close()
                        local.connection = None
                        if attempt:
                            raise
                raise AssertionError("unreachable")

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="localstripe's address")
    parser.add_argument("--port", type=int, default=8421)
    parser.add_argument("--account-rate", type=float, default=100.0)
    parser.add_argument("--endpoint-rate", type=float, default=25.0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    args = parser.parse_args()
    limits = Limits(args.account_rate, args.endpoint_rate, latency=args.latency)
    proxy = StripeLimits(args.upstream, limits).start(args.port)
    print(f"Stripe's limits in front of {args.upstream}: {proxy.url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
