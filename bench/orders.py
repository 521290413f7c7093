"""Order creation throughput and cost, Django path against a bare boto3 baseline.

Against the local stack (moto, localstripe), several concurrent clients create orders, each
for a new customer (the most writes an order can need), through:

- **app**: ``POST /orders`` through Django's full stack (middleware, DRF, validation,
  idempotency-free path, rate limit, services, PynamoDB, the stripe library), in-process;
- **baseline**: a bare function with boto3 and ``requests`` making the same DynamoDB requests
  (BatchGetItem, GetItem, two TransactWriteItems) and the same Stripe call, with no Django.

DynamoDB requests and consumed capacity units are metered by a proxy in front of the emulator
(``bench/dynamo_meter.py``). Prints orders/second, p50/p95 latency, requests and capacity per
order, and the app/baseline ratios. Run: ``.venv/bin/python bench/orders.py [--orders N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dynamo_meter import MeterProxy  # noqa: E402
from devstack.stack import stack_start  # noqa: E402


def _merge(runs: list[dict]) -> dict:
    merged = {
        key: statistics.mean(run[key] for run in runs)
        for key in runs[0]
        if key not in {"label", "by_operation", "latencies"}
    }
    latencies = [latency for run in runs for latency in run["latencies"]]
    merged["p50_ms"] = statistics.median(latencies) * 1000
    merged["p95_ms"] = _percentile(latencies, 0.95) * 1000
    operations = {op for run in runs for op in run["by_operation"]}
    merged["by_operation"] = {
        op: statistics.mean(run["by_operation"].get(op, 0) for run in runs)
        for op in sorted(operations)
    }
    return merged


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _run(label: str, create: Callable[[int], None], orders: int, clients: int, meter) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()

    def one(n: int) -> None:
        started = time.perf_counter()
        create(n)
        with lock:
            latencies.append(time.perf_counter() - started)

    meter.reset()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(orders)))
    wall = time.perf_counter() - started
    requests, capacity, by_operation = meter.snapshot()
    return {
        "label": label,
        "orders_per_second": orders / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": _percentile(latencies, 0.95) * 1000,
        "requests_per_order": requests / orders,
        "capacity_per_order": capacity / orders,
        "by_operation": {k: round(v / orders, 2) for k, v in sorted(by_operation.items())},
        "latencies": latencies,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    stack = stack_start()
    try:
        stack.provision_config(parameters={"orders_rate_limit_per_minute": "100000000"})
        proxy = MeterProxy(stack.aws_url).start()
        os.environ.update(stack.environment())
        os.environ.update({"AWS_ENDPOINT_URL": proxy.url, "LOG_LEVEL": "WARNING"})
        import django

        django.setup()
        from core.dynamodb import tables_ensure

        tables_ensure()
        app_create, baseline_create = _setup(stack)
        for create in (app_create, baseline_create):  # warm connections and caches
            for n in range(5):
                create(10_000_000 + n)
        with contextlib.redirect_stdout(io.StringIO()):  # the app's metric lines
            # Alternating halves, so neither side is favoured by the emulator's state (its
            # tables grow as the run goes on).
            half = args.orders // 2
            app = [_run("app", app_create, half, args.clients, proxy.meter)]
            base = [_run("baseline", baseline_create, half, args.clients, proxy.meter)]
            base.append(_run("baseline", baseline_create, half, args.clients, proxy.meter))
            app.append(_run("app", app_create, half, args.clients, proxy.meter))
            results = [_merge(app), _merge(base)]
    finally:
        stack.stop()
    _report(results, args)


def _setup(stack):
    import boto3
    import requests
    from django.test import Client

    from core.dynamodb import new_id, table_name, utc_now_iso
    from orders.models import CATALOG_ACTIVE, TicketType

    now = utc_now_iso()
    TicketType(
        sku="bench", name="Bench", unit_amount=5000, capacity=10**9, available=10**9,
        catalog_key=CATALOG_ACTIVE, created_at=now, updated_at=now,
    ).save()  # fmt: skip
    run_id = secrets.token_hex(4)
    local = threading.local()

    def app_create(n: int) -> None:
        client = getattr(local, "client", None) or Client()
        local.client = client
        body = {
            "customer": {
                "email": f"app{run_id}-{n}-{secrets.token_hex(4)}@example.com",
                "name": "Bench",
            },
            "items": [{"sku": "bench", "quantity": 2}],
        }
        response = client.post("/orders", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content

    dynamodb = boto3.client(
        "dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-2"
    )
    http = requests.Session()
    orders, customers, payments = (
        table_name("orders"),
        table_name("customers"),
        table_name("payments"),
    )
    types, backoffice = table_name("ticket-types"), table_name("backoffice")

    def baseline_create(n: int) -> None:
        email = f"base{run_id}-{n}-{secrets.token_hex(4)}@example.com"
        catalog = dynamodb.batch_get_item(
            RequestItems={types: {"Keys": [{"sku": {"S": "bench"}}], "ConsistentRead": True}}
        )
        unit = int(catalog["Responses"][types][0]["unit_amount"]["N"])
        dynamodb.get_item(
            TableName=backoffice,
            Key={"pk": {"S": f"EMAIL#{email}"}, "sk": {"S": "CLAIM"}},
            ConsistentRead=True,
        )
        order_id, customer_id, created = new_id("ord"), new_id("cus"), utc_now_iso()
        order = {
            "order_id": {"S": order_id},
            "created_at": {"S": created},
            "customer_id": {"S": customer_id},
            "customer_email_masked": {"S": "b***@example.com"},
            "status": {"S": "pending_payment"},
            "currency": {"S": "usd"},
            "total_amount": {"N": str(2 * unit)},
            "seats_held": {"BOOL": True},
            "items": {
                "L": [
                    {
                        "M": {
                            "sku": {"S": "bench"},
                            "name": {"S": "Bench"},
                            "quantity": {"N": "2"},
                            "unit_amount": {"N": str(unit)},
                            "amount": {"N": str(2 * unit)},
                            "reserved": {"BOOL": True},
                        }
                    }
                ]
            },
            "refunded_amount": {"N": "0"},
            "disputed": {"BOOL": False},
            "fulfillment_status": {"S": "not_started"},
            "fulfillment_attempts": {"L": []},
            "tickets": {"L": []},
            "updated_at": {"S": created},
            "version": {"N": "1"},
        }
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": backoffice,
                        "Item": {
                            "pk": {"S": f"EMAIL#{email}"},
                            "sk": {"S": "CLAIM"},
                            "kind": {"S": "email_claim"},
                            "customer_id": {"S": customer_id},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": customers,
                        "Item": {
                            "customer_id": {"S": customer_id},
                            "email": {"S": email},
                            "name": {"S": "Bench"},
                            "created_at": {"S": created},
                            "updated_at": {"S": created},
                            "version": {"N": "1"},
                        },
                        "ConditionExpression": "attribute_not_exists(customer_id)",
                    }
                },
                {
                    "Put": {
                        "TableName": orders,
                        "Item": order,
                        "ConditionExpression": "attribute_not_exists(order_id)",
                    }
                },
                {
                    "Update": {
                        "TableName": types,
                        "Key": {"sku": {"S": "bench"}},
                        "UpdateExpression": "SET available = available - :q, version = version + :one",
                        "ConditionExpression": "available >= :q AND active = :t",
                        "ExpressionAttributeValues": {
                            ":q": {"N": "2"},
                            ":one": {"N": "1"},
                            ":t": {"BOOL": True},
                        },
                    }
                },
            ]
        )
        intent = http.post(
            f"{stack.stripe_url}/v1/payment_intents",
            data={"amount": 2 * unit, "currency": "usd", "metadata[order_id]": order_id},
            auth=(stack.secrets.stripe_api_key, ""),
            headers={"Idempotency-Key": f"order:{order_id}"},
            timeout=8,
        ).json()
        now = utc_now_iso()
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": orders,
                        "Key": {"order_id": {"S": order_id}, "created_at": {"S": created}},
                        "UpdateExpression": "SET payment_intent_id = :pi, updated_at = :now, version = version + :one",
                        "ConditionExpression": "#s = :pending AND attribute_not_exists(payment_intent_id) AND version = :v",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":pi": {"S": intent["id"]},
                            ":now": {"S": now},
                            ":one": {"N": "1"},
                            ":pending": {"S": "pending_payment"},
                            ":v": {"N": "1"},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": payments,
                        "Item": {
                            "payment_id": {"S": intent["id"]},
                            "created_at": {"S": now},
                            "order_id": {"S": order_id},
                            "status": {"S": intent["status"]},
                            "amount": {"N": str(2 * unit)},
                            "currency": {"S": "usd"},
                            "amount_refunded": {"N": "0"},
                            "disputed": {"BOOL": False},
                            "attempts": {
                                "L": [{"M": {"at": {"S": now}, "status": {"S": intent["status"]}}}]
                            },
                            "refunds": {"L": []},
                            "updated_at": {"S": now},
                            "version": {"N": "1"},
                        },
                        "ConditionExpression": "attribute_not_exists(payment_id)",
                    }
                },
            ]
        )

    return app_create, baseline_create


def _report(results: list[dict], args: argparse.Namespace) -> None:
    app, base = results
    print(
        f"order creation: {args.orders} orders, {args.clients} concurrent clients, new customer each"
    )
    print(f"{'':30}{'app (Django)':>14}{'baseline (boto3)':>18}{'ratio':>8}")
    rows = (
        ("orders/second", "orders_per_second", "{:.1f}"),
        ("latency p50 (ms)", "p50_ms", "{:.1f}"),
        ("latency p95 (ms)", "p95_ms", "{:.1f}"),
        ("DynamoDB requests/order", "requests_per_order", "{:.2f}"),
        ("capacity units/order", "capacity_per_order", "{:.2f}"),
    )
    for label, key, fmt in rows:
        ratio = app[key] / base[key] if base[key] else float("nan")
        print(f"{label:30}{fmt.format(app[key]):>14}{fmt.format(base[key]):>18}{ratio:>8.2f}")
    print("app DynamoDB requests per order by operation:", app["by_operation"])
    print("baseline                                    :", base["by_operation"])
    print("why each of the app's requests is there (docs/architecture.md, Creating an order):")
    for operation, why in WHY:
        print(f"  {operation:34}{why}")


# Each DynamoDB request a first-time buyer's order makes, and why it cannot go. The baseline
# makes the middle four (it has no rate limit and no dashboard).
WHY = (
    ("UpdateItem (rate limit counter)", "orders per client per minute, counted where every "
     "Lambda environment sees it; the 429 the spec requires"),
    ("BatchGetItem (ticket types)", "prices and limits must be read before anything is "
     "written; one request for all the order's SKUs"),
    ("GetItem (e-mail claim)", "a returning buyer must be found by e-mail, strongly "
     "consistent (the email-index GSI is eventually consistent and cannot decide)"),
    ("TransactWriteItems (order)", "claim + customer + order + seats change together or "
     "not at all: no seat sold without its order, no order without its seats"),
    ("TransactWriteItems (payment)", "the PaymentIntent id is known only after Stripe "
     "answers; the order's intent id and the payment item change together"),
    ("UpdateItem (daily totals)", "the admin dashboard's per-day counters; outside the "
     "transaction on purpose: one hot item in every order's transaction would cancel "
     "concurrent orders (TransactionConflict); a lost increment is repaired by the rebuild"),
)  # fmt: skip


if __name__ == "__main__":
    main()
