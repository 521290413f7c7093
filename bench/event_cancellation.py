"""An event's cancellation, end to end: how fast the job refunds an event's orders.

N orders of one ticket type are paid through the real path (a PaymentIntent in localstripe,
Stripe's signed webhook, the tickets issued by the stand-in vendor); then the event is canceled
and the job runs, as its schedule would, until it is done: each order refunded (Stripe), its
tickets voided (the vendor), its buyer e-mailed (SES), its outcome recorded. Prints the time,
orders/second, Stripe and DynamoDB requests per order; beside it a baseline in the same run:
a bare loop sending the same N refunds to localstripe with ``requests``, one at a time, with no
bookkeeping at all. Locally the void and the e-mails run inline in the job (in Lambda they are
asynchronous tasks of their own), so the job's figure here is its slowest. And how long 20,000 orders would take at the
measured rate and at Stripe's budget.

Run: ``.venv/bin/python bench/event_cancellation.py [--orders 200]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dynamo_meter import MeterProxy  # noqa: E402
from devstack.stack import stack_start  # noqa: E402
from devstack.stripe_limits import StripeLimits  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    args = parser.parse_args()
    stack = stack_start()
    try:
        stack.provision_config()
        proxy = MeterProxy(stack.aws_url).start()
        stripe = StripeLimits(stack.stripe_url).start()  # Stripe's documented limits, counted
        os.environ.update(stack.environment())
        os.environ.update(
            {"AWS_ENDPOINT_URL": proxy.url, "STRIPE_API_BASE": stripe.url, "LOG_LEVEL": "WARNING"}
        )
        import django

        django.setup()
        from django.test import Client

        from core.dynamodb import tables_ensure
        from payments.services.event_cancellation import (
            event_cancellation_get,
            event_cancellation_start,
            event_cancellations_continue,
        )
        from tests.factories import (
            customer_create,
            event_build,
            intent_pay,
            order_create,
            ticket_type_create,
            webhook_post,
        )

        tables_ensure()
        customer_create()
        ticket_type_create(sku="gig", name="Gig", unit_amount=5000, available=args.orders * 2)
        print(f"paying {args.orders} orders of one event...", flush=True)
        with contextlib.redirect_stdout(io.StringIO()):  # the metrics' lines

            def pay(_: int) -> None:
                order = order_create(items=[("gig", 1)])
                intent = intent_pay(stack, order.payment_intent_id)
                webhook_post(Client(), stack, event_build("payment_intent.succeeded", intent))

            with ThreadPoolExecutor(4) as pool:
                list(pool.map(pay, range(args.orders)))

            proxy.meter.reset()
            stripe.reset()
            started = time.perf_counter()
            event_cancellation_start(sku="gig", staff="bench")  # its first run, inline locally
            runs = 1
            while event_cancellation_get(sku="gig").status != "done":
                event_cancellations_continue()
                runs += 1
            elapsed = time.perf_counter() - started
        record = event_cancellation_get(sku="gig")
        dynamodb_requests, _, _ = proxy.meter.snapshot()
        wire = stripe.stats()

        # Baseline: the same refunds sent to Stripe, nothing else.
        import requests

        session = requests.Session()
        key = stack.secrets.stripe_api_key
        baseline_orders = []
        ticket_type_create(sku="base", name="Baseline", unit_amount=5000, available=args.orders)
        for _ in range(args.orders):
            order = order_create(items=[("base", 1)])
            intent_pay(stack, order.payment_intent_id)
            baseline_orders.append(order)
        started = time.perf_counter()
        for order in baseline_orders:
            session.post(
                f"{stack.stripe_url}/v1/refunds",
                data={"payment_intent": order.payment_intent_id, "amount": 5000},
                auth=(key, ""),
                timeout=10,
            ).raise_for_status()
        baseline = time.perf_counter() - started
    finally:
        stack.stop()

    rate = args.orders / elapsed
    print(f"an event of {args.orders} paid orders canceled")
    print(
        f"  job                          {elapsed:.1f} s in {runs} run(s): {rate:.1f} orders/s "
        f"({int(record.orders_refunded)} refunded, {int(record.orders_failed)} failed)"
    )
    print(f"  Stripe requests per order    {sum(wire['forwarded'].values()) / args.orders:.2f}  "
          f"{json.dumps(wire['forwarded'])}; 429s: {sum(wire['limited'].values())}")  # fmt: skip
    print(f"  DynamoDB requests per order  {dynamodb_requests / args.orders:.1f}")
    print(
        f"  baseline: bare refunds       {baseline:.1f} s: {args.orders / baseline:.1f} refunds/s"
    )
    print(f"  ratio job / baseline         {elapsed / baseline:.2f}")
    print(
        f"  20,000 orders                {20000 / rate / 60:.0f} min at this rate; "
        f"{20000 / 25 / 60:.0f} min at Stripe's 25 refunds/s"
    )


if __name__ == "__main__":
    main()
