"""Draining a fulfillment backlog once the vendor recovers.

N paid orders are queued while the stand-in vendor is down (the circuit breaker opens after a
few failures, so the outage costs few calls); then the vendor comes back and the sweeper runs,
as its schedule would, until every order is fulfilled. Prints how long the drain took,
orders/second, and the vendor calls and DynamoDB requests per order; beside it a baseline in
the same run: a bare loop posting the same N fulfillments to the vendor with ``requests`` from
the same number of threads, with no bookkeeping at all.

Run: ``.venv/bin/python bench/fulfillment.py [--orders 1000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dynamo_meter import MeterProxy  # noqa: E402
from devstack.stack import stack_start  # noqa: E402


def _vendor(stack, path: str, body: dict | None = None, method: str = "GET"):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{stack.vendor_url}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    args = parser.parse_args()
    stack = stack_start()
    try:
        stack.provision_config()
        proxy = MeterProxy(stack.aws_url).start()
        os.environ.update(stack.environment())
        os.environ.update({"AWS_ENDPOINT_URL": proxy.url, "LOG_LEVEL": "WARNING"})
        import django

        django.setup()
        from core.dynamodb import tables_ensure
        from orders.models import OrderStatus
        from orders.services.fulfillment import BREAKER_COOLDOWN, fulfillment_start
        from orders.services.fulfillment.sweeper import SWEEP_WORKERS, fulfillment_sweep
        from tests.factories import paid_order_create

        tables_ensure()
        print(f"queueing {args.orders} paid orders during a vendor outage...", flush=True)
        with ThreadPoolExecutor(8) as pool:
            orders = list(
                pool.map(lambda n: paid_order_create(email=f"b{n}@example.com"), range(args.orders))
            )
        _vendor(stack, "/_control", {"mode": "unavailable"}, "POST")
        with contextlib.redirect_stdout(io.StringIO()):
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda o: fulfillment_start(order_id=o.order_id), orders))
        outage_calls = len(_vendor(stack, "/_requests"))
        _vendor(stack, "/_requests", method="DELETE")  # back to "ok": the vendor recovered

        # The sweeper runs every minute; simulated time lets every backoff be due at once.
        proxy.meter.reset()
        started, sweeps, now = (
            time.perf_counter(),
            0,
            datetime.now(UTC) + timedelta(hours=2) + BREAKER_COOLDOWN,
        )
        with contextlib.redirect_stdout(io.StringIO()):
            while True:
                sweeps += 1
                report = fulfillment_sweep(now=now, budget=timedelta(minutes=10))
                if report.fulfilled == 0 and report.retry == 0:
                    break
        drain = time.perf_counter() - started
        dynamodb_requests, _, by_operation = proxy.meter.snapshot()
        answers = _vendor(stack, "/_requests")
        fulfilled = sum(1 for o in orders if _status(o.order_id) == OrderStatus.FULFILLED)

        # Baseline: the same vendor calls, nothing else.
        _vendor(stack, "/_requests", method="DELETE")
        import requests

        session = requests.Session()
        key = stack.secrets.vendor_api_key

        def post(n: int) -> None:
            session.post(
                f"{stack.vendor_url}/fulfillments",
                json={
                    "order_id": f"base-{n}",
                    "customer": {"email": "x@example.com", "name": "X"},
                    "items": [{"sku": "ga", "quantity": 2}],
                },
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"base-{n}"},
                timeout=10,
            ).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(SWEEP_WORKERS) as pool:
            list(pool.map(post, range(args.orders)))
        baseline = time.perf_counter() - started
    finally:
        stack.stop()

    print(
        f"backlog of {args.orders} paid orders, vendor outage then recovery ({SWEEP_WORKERS} workers per sweep)"
    )
    print(f"  vendor calls during the outage     {outage_calls} (circuit breaker)")
    print(
        f"  drain time after recovery          {drain:.1f} s in {sweeps} sweep(s): {args.orders / drain:.0f} orders/s"
    )
    print(f"  orders fulfilled                   {fulfilled} / {args.orders}")
    print(f"  vendor calls per order (drain)     {len(answers) / args.orders:.2f}")
    print(
        f"  DynamoDB requests per order        {dynamodb_requests / args.orders:.2f}  {json.dumps({k: round(v / args.orders, 2) for k, v in by_operation.items()})}"
    )
    print(
        f"  baseline: bare vendor calls        {baseline:.1f} s: {args.orders / baseline:.0f} orders/s"
    )
    print(f"  ratio drain / baseline             {drain / baseline:.2f}")


def _status(order_id: str) -> str:
    from orders.selectors import order_get

    return order_get(order_id=order_id).status


if __name__ == "__main__":
    main()
