"""The on-sale under both partners' models: buyers arriving through the storefront's calls,
Stripe answering as Stripe does (``bench/onsale.py --model partners``).

- **Stripe model**: ``devstack.stripe_limits`` in front of localstripe answers 429 past
  Stripe's documented rates (25 requests a second per endpoint, 100 per account) and adds
  Stripe's latency to each request made with the secret key. The app's budget
  (``integrations.stripe_budget``) is configured with the same documented figures.
- **Arrival model**: ``--buyers`` buyers arrive at uniformly random moments over ``--window``
  seconds for ``--seats`` seats of one ticket type, each through the reference checkout's
  sequence of calls over HTTP to the app (a threaded WSGI server, as a Lambda behind API
  Gateway): ``GET /catalog``, ``POST /orders`` (``API-Version: 2026-12-07``, an
  ``Idempotency-Key``); ``--abandon`` of them stop there (their seats wait for the expiry job);
  the others think ``--think`` seconds, press "Pay" (``POST /orders/{id}/payment``, again after
  ``Retry-After`` while payments are busy), confirm at Stripe with the publishable key as
  Stripe.js does (not counted in the account's limits, as Stripe counts secret-key requests),
  and poll ``GET /orders/{id}`` until it is paid (localstripe's signed webhook to the app does
  that, re-reading the PaymentIntent within the budget). The expiry job runs every
  ``--sweep`` seconds with a hold of ``--hold`` seconds.

Everything runs on a clock ``--time-scale`` times slower than real life: arrival window, think
time, hold and sweep multiplied by it, Stripe's rates divided by it and its latency multiplied,
so this machine (two shared cores, the emulators in Python) keeps up; rates are printed in real
time (multiplied back).

Measured, and the goals (exit non-zero when one is missed): no 5xx to any buyer; no 429 from
Stripe; PaymentIntents created at >= 95 % of the rate Stripe's budget allows while buyers wait
to pay; no buyer admitted (an order placed) ahead of one who arrived more than 1 s earlier and
was not; every abandoned cart's seats back within the hold (the job, like the scheduled
one, takes the carts whose hold ends before its next run); seats sold + held +
left = capacity (0 oversold, 0 lost).
"""

from __future__ import annotations

import contextlib
import heapq
import io
import os
import random
import threading
import time
import uuid
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

DEFERRED = "2026-12-07"
CARD = {"card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2034",
        "card[cvc]": "123"}  # fmt: skip


@dataclass
class Buyer:
    n: int
    arrival: float  # seconds from the start, real time
    abandons: bool
    quantity: int
    admitted_at: float | None = None  # the line's cursor passed its arrival (the line's log)
    ordered_at: float | None = None  # its order placed (seats held)
    token: str | None = None  # its place in the line
    line_arrival: int | None = None  # µs, as the line recorded it
    sold_out: bool = False
    order_id: str | None = None
    pay_clicks: int = 0
    paid_at: float | None = None
    expired: bool = False
    statuses: Counter[int] = field(default_factory=Counter)
    key: str = field(default_factory=lambda: str(uuid.uuid4()))


class Run:
    def __init__(self, args: Any, api: str, stripe_url: str) -> None:
        self.args = args
        self.api = api
        self.stripe_url = stripe_url
        self.scale = args.time_scale
        rng = random.Random(args.seed)
        window = args.window * self.scale
        arrivals = sorted(rng.uniform(0, window) for _ in range(args.buyers))
        self.buyers = [
            Buyer(n, at, rng.random() < args.abandon, args.quantity)
            for n, at in enumerate(arrivals)
        ]
        self.queue: list[tuple[float, int, str, Buyer]] = []
        self.seq = 0
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.pending = len(self.buyers)  # buyers not finished
        self.start = 0.0
        self.local = threading.local()
        self.pay_waits: list[float] = []  # from the first "Pay" to the PaymentIntent
        self.opened_at: list[float] = []  # when each PaymentIntent was given
        self.odd: Counter[tuple] = Counter()  # 429s and 5xx by call and code

    # --- the schedule ------------------------------------------------------------------

    def at(self, due: float, step: str, buyer: Buyer) -> None:
        with self.wake:
            self.seq += 1
            heapq.heappush(self.queue, (due, self.seq, step, buyer))
            self.wake.notify()

    def done(self, buyer: Buyer) -> None:
        with self.wake:
            self.pending -= 1
            self.wake.notify_all()

    def now(self) -> float:
        return time.monotonic() - self.start

    def worker(self) -> None:
        while True:
            with self.wake:
                while True:
                    if self.pending <= 0:
                        return
                    if self.queue and self.queue[0][0] <= self.now():
                        _, _, step, buyer = heapq.heappop(self.queue)
                        break
                    timeout = (self.queue[0][0] - self.now()) if self.queue else 0.5
                    self.wake.wait(timeout=max(0.001, min(timeout, 0.5)))
            try:
                getattr(self, f"step_{step}")(buyer)
            except Exception as error:
                buyer.statuses[-1] += 1
                print(f"buyer {buyer.n} step {step}: {type(error).__name__}: {error}")
                self.done(buyer)

    # --- HTTP, as the storefront sends it ----------------------------------------------

    def http(self, method: str, path: str, *, body: Any = None, headers: dict | None = None,
             base: str | None = None, form: dict | None = None) -> tuple[int, dict, Any]:  # fmt: skip
        import requests

        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        answer = session.request(
            method, (base or self.api) + path, json=body, data=form,
            headers={"Accept": "application/json", "API-Version": DEFERRED, **(headers or {})},
            timeout=60,
        )  # fmt: skip
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.status_code >= 500 or answer.status_code == 429:
            code = (data or {}).get("error", {}).get("code") if isinstance(data, dict) else None
            with self.lock:
                self.odd[(method, path.split("/")[1], answer.status_code, code)] += 1
        return answer.status_code, answer.headers, data

    def step_arrive(self, buyer: Buyer) -> None:
        status, _, _ = self.http("GET", "/catalog")
        buyer.statuses[status] += 1
        self.step_order(buyer)

    def step_order(self, buyer: Buyer) -> None:
        body = {
            "customer": {"email": f"buyer{buyer.n}@example.com", "name": f"Buyer {buyer.n}"},
            "items": [{"sku": "onsale", "quantity": buyer.quantity}],
        }
        headers = {"Idempotency-Key": buyer.key}
        if buyer.token:
            headers["Line-Token"] = buyer.token
        status, answer_headers, data = self.http("POST", "/orders", body=body, headers=headers)
        buyer.statuses[status] += 1
        code = data["error"]["code"] if isinstance(data, dict) and "error" in data else None
        if status == 201:
            buyer.ordered_at = self.now()
            buyer.order_id = data["order_id"]
            if buyer.abandons:
                self.done(buyer)
            else:
                self.at(self.now() + self.args.think * self.scale, "pay", buyer)
        elif code == "sold_out":
            buyer.sold_out = True
            self.done(buyer)
        elif code == "seats_in_carts":  # admitted; seats may come back from expiring carts
            self.at(self.now() + float(answer_headers.get("Retry-After") or 10), "order", buyer)
        elif status == 403 and not buyer.token:  # an on-sale with a line: join it
            status, _, data = self.http("POST", "/onsales/onsale/line")
            buyer.statuses[status] += 1
            if status != 201:
                self.done(buyer)
                return
            from django.core import signing

            from orders.services.line import SALT

            buyer.token = data["token"]
            buyer.line_arrival = signing.loads(buyer.token, salt=SALT)["a"]
            self.at(self.now() + data["poll_after_seconds"], "line", buyer)
        elif status == 403:  # not yet: back to the line
            self.at(self.now() + 1.0, "line", buyer)
        elif status in (409, 429, 503):
            self.at(self.now() + float(answer_headers.get("Retry-After") or 1), "order", buyer)
        else:
            self.done(buyer)

    def step_line(self, buyer: Buyer) -> None:
        status, _, data = self.http("GET", "/onsales/onsale/line", headers={
            "Line-Token": buyer.token})  # fmt: skip
        buyer.statuses[status] += 1
        if status != 200:
            self.done(buyer)
        elif data["status"] == "admitted":
            self.step_order(buyer)
        elif data["status"] == "sold_out":
            buyer.sold_out = True
            self.done(buyer)
        else:
            self.at(self.now() + data["poll_after_seconds"], "line", buyer)

    def step_pay(self, buyer: Buyer) -> None:
        buyer.pay_clicks += 1
        if buyer.pay_clicks == 1:
            buyer.first_pay = self.now()  # type: ignore[attr-defined]
        status, headers, data = self.http("POST", f"/orders/{buyer.order_id}/payment")
        buyer.statuses[status] += 1
        if status == 200:
            with self.lock:
                self.pay_waits.append(self.now() - buyer.first_pay)  # type: ignore[attr-defined]
                self.opened_at.append(self.now())
            intent = data["payment_intent_id"]
            form = {"key": "pk_test_bench", "client_secret": data["client_secret"], **CARD}
            confirm_status, _, _ = self.http(
                "POST", f"/js.stripe.com/v3/payment_intents/{intent}/confirm",
                base=self.stripe_url, form=form,
            )  # fmt: skip
            buyer.statuses[1000 + confirm_status] += 1  # Stripe.js's answers, apart
            self.at(self.now() + 1.0, "poll", buyer)
        elif status in (429, 503):
            self.at(self.now() + float(headers.get("Retry-After") or 1), "pay", buyer)
        else:
            buyer.expired = status == 409
            self.done(buyer)

    def step_poll(self, buyer: Buyer) -> None:
        status, _, data = self.http("GET", f"/orders/{buyer.order_id}")
        buyer.statuses[status] += 1
        if status == 200 and data["status"] in ("paid", "fulfilled", "fulfillment_failed"):
            buyer.paid_at = self.now()
            self.done(buyer)
        elif self.now() - buyer.first_pay > 120 * self.scale:  # type: ignore[attr-defined]
            self.done(buyer)
        else:
            self.at(self.now() + 1.5, "poll", buyer)

    # --- the run -----------------------------------------------------------------------

    def monitor(self) -> None:
        """The line's cursor, sampled: when it passed each buyer's arrival (its admission)."""
        from orders.services.line import line_get

        while self.pending > 0:
            try:
                line = line_get(sku="onsale", consistent=True)
            except Exception:
                line = None
            if line is not None:
                self.cursor.append((self.now(), int(line.admitted_until)))
            time.sleep(0.2)

    def admissions(self) -> None:
        times = [t for t, _ in self.cursor]
        cursors = [c for _, c in self.cursor]
        for buyer in self.buyers:
            if buyer.line_arrival is None:
                buyer.admitted_at = buyer.ordered_at  # no line: admitted when it ordered
                continue
            buyer.arrival = buyer.line_arrival / 1_000_000 - self.start_wall
            index = bisect_left(cursors, buyer.line_arrival)
            buyer.admitted_at = times[index] if index < len(times) else None

    def go(self) -> float:
        from orders.actions import orders_expire

        self.start = time.monotonic()
        self.start_wall = time.time()
        self.cursor: list[tuple[float, int]] = []
        threading.Thread(target=self.monitor, daemon=True).start()
        for buyer in self.buyers:
            self.at(buyer.arrival, "arrive", buyer)
        workers = [threading.Thread(target=self.worker) for _ in range(self.args.workers)]
        for worker in workers:
            worker.start()
        hold_minutes = self.args.hold * self.scale / 60
        sweep = self.args.sweep * self.scale
        self.expired_lag: list[float] = []
        while any(w.is_alive() for w in workers):
            # The next run on the schedule's boundary, as the scheduler starts it.
            time.sleep(sweep - self.now() % sweep)
            self.sweep(orders_expire, hold_minutes)
        # The last abandoned carts: the job keeps running after the last buyer is done.
        deadline = time.monotonic() + (self.args.hold + 2 * self.args.sweep) * self.scale
        while time.monotonic() < deadline and self._held():
            time.sleep(sweep)
            self.sweep(orders_expire, hold_minutes)
        self.admissions()
        return self.now()

    def sweep(self, orders_expire: Any, hold_minutes: float) -> None:
        """One run of the scheduled expiry; a run that fails is retried by the next, as the
        schedule does."""
        try:
            # As the scheduled job does: the carts whose hold ends before the next run; the
            # hold is the on-sale's own (set when it was opened), or, with no line, --hold.
            every = self.args.sweep * self.scale / 60
            override = None if self.args.line else hold_minutes
            orders_expire(older_than_minutes=override, every_minutes=every, limit=2000)
        except Exception as error:
            print(f"expiry sweep failed: {type(error).__name__}")

    def _held(self) -> bool:
        from orders.models import ORDERS_BY_STATUS, OrderStatus

        try:
            return any(True for _ in ORDERS_BY_STATUS.query(OrderStatus.PENDING_PAYMENT.value))
        except Exception:
            return True


def fairness_violations(buyers: list[Buyer], slack: float) -> int:
    """Buyers admitted ahead of one who arrived more than ``slack`` seconds earlier and was
    admitted later or never."""
    order = sorted(buyers, key=lambda b: b.arrival)
    arrivals = [b.arrival for b in order]
    never = float("inf")
    # prefix max of admission times (never admitted: infinity) by arrival
    prefix: list[float] = []
    worst = -1.0
    for buyer in order:
        worst = max(worst, buyer.admitted_at if buyer.admitted_at is not None else never)
        prefix.append(worst)
    violations = 0
    for buyer in order:
        if buyer.admitted_at is None:
            continue
        earlier = bisect_left(arrivals, buyer.arrival - slack)
        if earlier and prefix[earlier - 1] > buyer.admitted_at:
            violations += 1
    return violations


def expiry_lags(hold_seconds: float) -> list[float]:
    """For each expired cart: how long after its hold ran out its seats came back (s)."""
    from datetime import datetime

    from orders.models import ORDERS_BY_STATUS, OrderStatus

    lags = []
    for order in ORDERS_BY_STATUS.query(OrderStatus.CANCELED.value):
        created = datetime.fromisoformat(order.created_at.replace("Z", "+00:00"))
        canceled = datetime.fromisoformat(order.updated_at.replace("Z", "+00:00"))
        lags.append((canceled - created).total_seconds() - hold_seconds)
    return lags


def seats_count(sku: str) -> dict[str, int]:
    from orders.models import ORDERS_BY_STATUS, OrderStatus, TicketType
    from orders.services.seats import seats_shard_levels

    ticket_type = TicketType.get(sku, consistent_read=True)
    if ticket_type.sharded:
        left = sum(
            seats_shard_levels(shard_counts={sku: int(ticket_type.seat_shards)})[sku].values()
        )
    else:
        left = int(ticket_type.available)
    by_status: Counter[str] = Counter()
    for status in OrderStatus:
        for order in ORDERS_BY_STATUS.query(status.value):
            by_status[status.value] += sum(int(i.quantity) for i in order.items if i.sku == sku)
    sold = sum(v for k, v in by_status.items() if k not in ("pending_payment", "canceled"))
    held = by_status["pending_payment"]
    capacity = int(ticket_type.capacity)
    return {"capacity": capacity, "sold": sold, "held": held, "left": left,
            "oversold": max(0, sold + held - capacity) + int(left < 0),
            "lost": capacity - sold - held - left}  # fmt: skip


def partners_run(args: Any) -> bool:
    """The whole run; prints the report; True when every goal is met."""
    from devstack.stack import stack_start
    from devstack.stripe_limits import Limits, StripeLimits

    stack = stack_start()
    proxy = None
    server = None
    try:
        scale = args.time_scale
        limits = Limits(account_rate=args.stripe_account_rate, endpoint_rate=args.stripe_rate,
                        latency=args.stripe_latency, time_scale=scale)  # fmt: skip
        proxy = StripeLimits(stack.stripe_url, limits).start()
        parameters = {
            "orders_rate_limit_per_minute": "100000000",
            # The app's budget: Stripe's figures, as configured in SSM in AWS.
            "stripe_account_rate": str(args.stripe_account_rate / scale),
            "stripe_endpoint_rate": str(args.stripe_rate / scale),
            "stripe_burst_seconds": str(0.5 * scale),
            # The waits for a slot, on the same clock (the budget's rates are divided by it).
            "stripe_wait_new_seconds": str(3.0 * scale),
            "stripe_wait_moving_seconds": str(8.0 * scale),
        }
        stack.provision_config(parameters=parameters)
        os.environ.update(stack.environment())
        os.environ.update({"STRIPE_API_BASE": proxy.url, "LOG_LEVEL": "ERROR"})
        import logging

        import django

        django.setup()
        logging.disable(logging.WARNING)
        from core.dynamodb import tables_ensure

        tables_ensure()
        _ticket_type(args.seats, args.shards)
        # Buyers admitted a little faster than they can pay (Stripe's budget over the share
        # who pay), so that "Pay" keeps Stripe's budget busy while the seats last.
        admit = args.admit_factor * args.stripe_rate / scale / (1 - args.abandon)
        if args.line:
            from datetime import UTC, datetime

            from orders.services.line import onsale_open

            onsale_open(sku="onsale", start=datetime.now(UTC), admit_per_second=admit,
                        hold_minutes=max(1, round(args.hold * scale / 60)))  # fmt: skip
        server, api = _serve()
        from devstack.stripe_webhooks import stripe_webhook_register

        stripe_webhook_register(
            stripe_url=stack.stripe_url, endpoint_id="bench-onsale",
            url=f"{api}/webhooks/stripe", secret=stack.secrets.stripe_webhook_secret,
        )  # fmt: skip
        run = Run(args, api, stack.stripe_url)
        with contextlib.redirect_stdout(io.StringIO()):  # the app's metric lines
            elapsed = run.go()
        counts = seats_count("onsale")
        lags = expiry_lags(args.hold * scale)
        stats = proxy.stats()
    finally:
        if server is not None:
            server.shutdown()
        if proxy is not None:
            proxy.stop()
        stack.stop()
    return _report(args, run, elapsed, counts, lags, stats)


def _ticket_type(seats: int, shards: int) -> None:
    from core.dynamodb import transaction, utc_now_iso
    from orders.models import CATALOG_ACTIVE, TicketType
    from orders.services.seats import seats_stock

    now = utc_now_iso()
    ticket_type = TicketType(
        sku="onsale", name="On-sale", unit_amount=5000, capacity=seats, seat_shards=shards,
        catalog_key=CATALOG_ACTIVE, created_at=now, updated_at=now,
    )  # fmt: skip
    with transaction() as t:
        seats_stock(t, ticket_type=ticket_type)
        t.save(ticket_type)


def _serve() -> tuple[Any, str]:
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.daemon_threads = True
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _report(args, run, elapsed, counts, lags, stats) -> bool:
    scale = args.time_scale
    buyers = run.buyers
    statuses: Counter[int] = Counter()
    for buyer in buyers:
        statuses.update(buyer.statuses)
    api_5xx = sum(v for k, v in statuses.items() if 500 <= k < 600)
    errors = statuses[-1]
    stripe_429 = sum(stats["limited"].values())
    admitted = [b for b in buyers if b.admitted_at is not None]
    ordered = [b for b in buyers if b.ordered_at is not None]
    paid = [b for b in buyers if b.paid_at is not None]
    abandoned = [b for b in ordered if b.abandons]
    violations = fairness_violations(buyers, slack=1.0 * scale)
    create_key = "POST /v1/payment_intents"
    created = stats["forwarded"].get(create_key, 0)
    # The rate Stripe's budget allows for new PaymentIntents (the endpoint's), real time, and
    # what was reached while buyers waited to pay (first "Pay" to the last intent made).
    allowed = args.stripe_rate
    firsts = sorted(b.first_pay for b in buyers if getattr(b, "first_pay", None) is not None)
    opened = sorted(run.opened_at)
    busy_window = (opened[-1] - firsts[0]) if opened and firsts else 0.0
    reached = len(opened) / busy_window * scale if busy_window else 0.0
    # Whether buyers outran the budget: "Pay" pressed faster than intents could be made.
    demand = len(firsts) / (firsts[-1] - firsts[0]) * scale if len(firsts) > 1 else 0.0
    max_lag = max(lags) if lags else 0.0
    sweep = args.sweep * scale
    print(
        f"on-sale, both partners' models: {args.buyers:,} buyers over {args.window:g} s for "
        f"{args.seats:,} seats ({args.quantity} a buyer), {args.abandon:.0%} abandon, think "
        f"{args.think:g} s, hold {args.hold:g} s; Stripe {args.stripe_rate:g}/s per endpoint, "
        f"{args.stripe_account_rate:g}/s per account, "
        f"latency {args.stripe_latency * 1000:.0f} ms; clock x{scale:g} slower; "
        f"run {elapsed:.0f} s measured"
    )
    rows = [
        ("buyers admitted (line, or order placed)", len(admitted)),
        ("buyers who placed an order", len(ordered)),
        ("  of whom abandoned", len(abandoned)),
        ("buyers told sold out", sum(b.sold_out for b in buyers)),
        ("buyers paid", len(paid)),
        ("pay pressed, order expired first", sum(b.expired for b in buyers)),
        ("answers to buyers by status", dict(sorted(statuses.items()))),
        ("5xx answers to buyers", api_5xx),
        ("429s and 5xx by call and code", dict(run.odd)),
        ("bench errors (no answer)", errors),
        ("Stripe requests by endpoint", stats["forwarded"]),
        ("Stripe 429s", stripe_429),
        ("PaymentIntents created", created),
        ("first Pay presses/s (real)", f"{demand:.1f}"),
        ("intents/s while buyers waited (real)", f"{reached:.1f} of {allowed:g} allowed "
                                                 f"({reached / allowed:.0%})"),
        ("wait from Pay to intent, p50/p95 (s)", f"{_pct(run.pay_waits, 0.5):.1f} / "
                                                f"{_pct(run.pay_waits, 0.95):.1f} measured"),
        ("admitted ahead of one >1 s earlier", violations),
        ("expired carts", len(lags)),
        ("latest seats back after the hold (s)", f"{max_lag:.1f} measured (sweep {sweep:g})"),
        ("seats: capacity / sold / held / left", f"{counts['capacity']} / {counts['sold']} / "
                                                 f"{counts['held']} / {counts['left']}"),
        ("oversold", counts["oversold"]),
        ("lost", counts["lost"]),
    ]  # fmt: skip
    for label, value in rows:
        print(f"  {label:40} {value}")
    goals = {
        "0 x 5xx": api_5xx == 0 and errors == 0,
        "0 Stripe 429s": stripe_429 == 0,
        ">= 95 % of the budget's rate": reached >= 0.95 * allowed,
        "fair (1 s)": violations == 0,
        # (1 s for the sweep's own run on this machine)
        "abandoned seats back within the hold": max_lag <= 1.0,
        "0 oversold, 0 lost": counts["oversold"] == 0 and counts["lost"] == 0,
    }
    print("goals: " + "; ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in goals.items()))
    return all(goals.values())


def _pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0
