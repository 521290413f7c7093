"""Stripe webhooks: events processed per second, and DynamoDB requests per event.

Starts the local stack (moto, localstripe, the stand-in vendor), creates orders with real
PaymentIntents paid in localstripe (set-up, not timed), then POSTs signed
``payment_intent.succeeded`` events to ``/webhooks/stripe`` through Django's WSGI handler
in-process, one at a time and from 8 threads. Beside them, in the same run: redeliveries of
processed events (verify + claim refused + one read), an ignored event type, and
``GET /health`` as the floor of a request through the stack. DynamoDB requests are counted at
botocore's client (``_make_api_call``), per operation; each succeeded event also makes two
Stripe calls (the PaymentIntent and its latest charge, for refunds and disputes, to
localstripe).

The succeeded events are measured without fulfillment (in Lambda it runs in another
invocation; here its orders are marked as already queued) and, on one line, with fulfillment
inline as the local stack runs it (adds the vendor call and its writes).

Numbers are for the emulators on loopback (moto serialises its requests); in AWS each
DynamoDB request costs single-digit milliseconds, so the requests per event is the figure
that carries over. The last four lines are the reconciliation job (``payments_reconcile``) over
unpaid orders and over orders paid in Stripe whose webhook never came (DynamoDB and Stripe
requests per order checked), and its refund sweep over Stripe's refund list, once with a
refund made in Stripe's dashboard for each of those orders and once with nothing new (per
payment checked). Run: ``make bench`` or ``.venv/bin/python bench/webhooks.py [--events N]``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_counts: collections.Counter[str] = collections.Counter()
_counts_lock = threading.Lock()


def _count_dynamodb_requests() -> None:
    # Counting wrapper on botocore (a library), not on our code: every DynamoDB request made
    # by PynamoDB or boto3 passes here.
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            with _counts_lock:
                _counts[operation_name] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted


_stripe_counts: collections.Counter[str] = collections.Counter()


def _count_stripe_requests() -> None:
    # The same on the stripe library's HTTP client: every request to Stripe (localstripe).
    import stripe

    original = stripe.RequestsClient.request

    def counted(self, method, url, headers, post_data=None):
        with _counts_lock:
            _stripe_counts[method.upper()] += 1
        return original(self, method, url, headers, post_data)

    stripe.RequestsClient.request = counted


_report = sys.stdout


def _measure(label: str, bodies: list[bytes], post, threads: int = 1) -> None:
    _counts.clear()
    # The app prints a metric line per payment: keep them out of the report.
    sys.stdout = open(os.devnull, "w")
    started = time.perf_counter()
    if threads == 1:
        statuses = [post(body) for body in bodies]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            statuses = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    sys.stdout.close()
    sys.stdout = _report
    bad = [s for s in statuses if s != 200]
    total = sum(_counts.values())
    per_op = ", ".join(f"{op} {n / len(bodies):.1f}" for op, n in sorted(_counts.items()))
    print(
        f"{label:<44} {len(bodies) / elapsed:8.1f} /s   {elapsed / len(bodies) * 1000:6.1f} ms each"
        f"   DynamoDB {total / len(bodies):.1f}/event ({per_op or 'none'})"
        + (f"   NON-200: {len(bad)}" if bad else ""),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()

    from devstack.stack import stack_start

    stack = stack_start()
    try:
        os.environ.update(stack.environment())
        os.environ["LOG_LEVEL"] = "WARNING"  # one JSON line per request would dominate
        stack.provision_config()
        import django

        django.setup()
        from django.test import Client

        from core.dynamodb import tables_ensure
        from tests.factories import (
            event_body,
            event_build,
            intent_pay,
            order_create,
            signature_header,
            ticket_type_create,
        )

        tables_ensure()
        ticket_type_create(sku="ga", available=None)
        from orders.models import FulfillmentStatus, Order

        n = args.events
        print(f"setting up {3 * n} paid orders in localstripe...", flush=True)
        bodies = []
        for i in range(3 * n):
            order = order_create(items=[("ga", 1)])
            if i < 2 * n:
                # The webhook's own work: in Lambda, fulfillment runs in another invocation
                # (Zappa's async task), so these orders are marked as already queued and the
                # handler does not start it. The last n run it inline, as locally.
                order.update(
                    actions=[Order.fulfillment_status.set(FulfillmentStatus.PENDING.value)]
                )
            intent = intent_pay(stack, order.payment_intent_id)
            bodies.append(event_body(event_build("payment_intent.succeeded", intent)))
        secret = stack.secrets.stripe_webhook_secret
        local = threading.local()

        def post(body: bytes) -> int:
            client = getattr(local, "client", None) or Client()
            local.client = client
            return client.post(
                "/webhooks/stripe",
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=signature_header(secret, body),
            ).status_code

        def health(_: bytes) -> int:
            client = getattr(local, "client", None) or Client()
            local.client = client
            return client.get("/health").status_code

        _count_dynamodb_requests()
        post(event_body(event_build("customer.created", {"id": "cus_warm"})))  # warm caches
        ignored = [
            event_body(event_build("customer.updated", {"id": f"cus_{i}"})) for i in range(n)
        ]
        print(f"\n{n} events per line; Python {sys.version.split()[0]}\n", flush=True)
        _measure("baseline: GET /health", bodies[:n], health)
        _measure("payment_intent.succeeded, sequential", bodies[:n], post)
        _measure("payment_intent.succeeded, 8 threads", bodies[n : 2 * n], post, threads=8)
        _measure("succeeded + inline fulfillment (local mode)", bodies[2 * n :], post)
        _measure("same events redelivered (duplicates)", bodies[:n], post)
        _measure("ignored type (customer.updated)", ignored, post)
        _reconcile_measure(stack, n)
    finally:
        stack.stop()


def _reconcile_measure(stack, n: int) -> None:
    """The reconciliation job's cost per order checked: n unpaid orders (the usual case:
    nothing to change) and n paid in Stripe with no webhook (each paid, fulfillment queued)."""
    from orders.models import FulfillmentStatus, Order
    from payments.services.reconcile import payments_reconcile
    from tests.factories import intent_pay, order_create

    paid = []
    for i in range(2 * n):
        # The paid ones are older, so the first run (oldest first, n at most) checks them.
        order = order_create(items=[("ga", 1)], age_minutes=20 if i < n else 10)
        if i < n:
            order.update(actions=[Order.fulfillment_status.set(FulfillmentStatus.PENDING.value)])
            intent_pay(stack, order.payment_intent_id)
            paid.append(order)
    _count_stripe_requests()
    for label, limit in (("paid in Stripe, no webhook", n), ("unpaid, nothing to change", n)):
        _counts.clear()
        _stripe_counts.clear()
        sys.stdout = open(os.devnull, "w")
        started = time.perf_counter()
        report = payments_reconcile(limit=limit)
        elapsed = time.perf_counter() - started
        sys.stdout.close()
        sys.stdout = _report
        checked = max(report.checked, 1)
        per_op = ", ".join(f"{op} {c / checked:.1f}" for op, c in sorted(_counts.items()))
        print(
            f"{'reconcile: ' + label:<44} {report.checked / elapsed:8.1f} /s"
            f"   {elapsed / checked * 1000:6.1f} ms each"
            f"   DynamoDB {sum(_counts.values()) / checked:.1f}/order ({per_op})"
            f"   Stripe {sum(_stripe_counts.values()) / checked:.1f}/order"
            f"   changed {len(report.changed)}",
            flush=True,
        )
    _refunds_sweep_measure(stack, paid)


def _refunds_sweep_measure(stack, paid) -> None:
    """The job's refund sweep: each order paid above gets a refund made in Stripe's dashboard
    (no webhook); one run records them all, the next finds nothing to change. Per payment
    checked: DynamoDB requests and Stripe requests (the list is paged, 100 to a page)."""
    import time as clock

    from payments.services.reconcile import SweepReport, refunds_reconcile
    from tests.factories import stripe_request

    for order in paid:
        stripe_request(
            stack,
            "POST",
            "/v1/refunds",
            {"payment_intent": order.payment_intent_id, "amount": "100"},
        )
    for label in ("refunds made in Stripe, no webhook", "refunds, nothing to change"):
        _counts.clear()
        _stripe_counts.clear()
        report = SweepReport()
        sys.stdout = open(os.devnull, "w")
        started = time.perf_counter()
        refunds_reconcile(created_after=int(clock.time()) - 3600, report=report, deadline=None)
        elapsed = time.perf_counter() - started
        sys.stdout.close()
        sys.stdout = _report
        checked = max(report.checked, 1)
        per_op = ", ".join(f"{op} {c / checked:.1f}" for op, c in sorted(_counts.items()))
        print(
            f"{'reconcile: ' + label:<44} {report.checked / elapsed:8.1f} /s"
            f"   {elapsed / checked * 1000:6.1f} ms each"
            f"   DynamoDB {sum(_counts.values()) / checked:.1f}/payment ({per_op})"
            f"   Stripe {sum(_stripe_counts.values()) / checked:.2f}/payment"
            f"   changed {len(report.changed)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
