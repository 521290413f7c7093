"""The admin's pages cost the same whatever the orders table holds.

Loads ``--small`` orders (default 1,000, and a customer per three orders) into the local
stack's DynamoDB, times the order list, its second page, a filtered list (status), searches by
customer name and by the start of an e-mail (alone and with a filter) and an order page (with
its timeline), then grows the table to
``--large`` orders (default 10,000; the issue's 50,000 works too, it just loads for longer)
and times the same pages again, in one run. Prints per page: the median time, the DynamoDB
requests per page by operation (counted on the wire), and the large/small time ratio, which
should be close to 1. On moto it is not, for the total: moto evaluates a Query by walking
the whole table in memory (the bench prints that cost too), which DynamoDB does not; so it
also prints the time outside DynamoDB requests ("own", our code) and its ratio, with the
requests and items read per page, the numbers DynamoDB's cost depends on. The same-run
baseline is one GetItem round trip to the emulator.

Orders are spread over the last 60 days, so the small table has ~17 orders a day and the
large one ~170: the first list page of the small table reads a few day partitions, the large
one fewer, which is why its query count can be lower. Every count is bounded by the page size
and the per-page partition budget, never by the table.

Run: ``make bench`` or ``.venv/bin/python bench/admin.py [--small N] [--large N] [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devstack.stack import stack_start  # noqa: E402

STATUSES = ["pending_payment", "paid", "fulfilled", "fulfilled", "fulfilled", "canceled"]
DAYS = 60
PASSWORD = "bench-only password, local emulator"  # noqa: S105


FIRST_NAMES = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John",
               "Margaret", "Ken", "Radia", "Tim", "Katherine", "Dennis", "Hedy", "Linus"]  # fmt: skip
SURNAMES = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus",
            "Hamilton", "Thompson", "Perlman", "Berners-Lee", "Johnson", "Ritchie", "Lamarr"]  # fmt: skip


def load_customers(first: int, last: int, rng: random.Random) -> None:
    """Customers ``cus_{first}`` .. ``cus_{last - 1}`` with names and e-mails drawn from small
    lists, so a name or e-mail search matches more customers as the table grows (about one
    in sixteen is an Ada: some 20 at 1,000 orders, 200 at 10,000): the search must stay
    bounded by its page and its customer cap, not by the matches. (A term that matches fewer
    customers than the cap, ``SEARCH_CUSTOMERS``, reads fewer items: bounded, not flat.)"""
    from core.dynamodb import iso_utc
    from orders.models import Customer

    now = iso_utc(datetime.now(UTC))
    with Customer.batch_write() as batch:
        for n in range(first, last):
            given, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            batch.save(
                Customer(
                    customer_id=f"cus_{n}",
                    email=f"{given}.{surname}{n}@example.com".lower(),
                    name=f"{given} {surname}",
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )


def customers_for(orders: int) -> int:
    return orders // 3 + 1


def load_orders(count: int, rng: random.Random, customers: int) -> None:
    from core.dynamodb import iso_utc, new_id
    from orders.models import Order, OrderItem

    now = datetime.now(UTC)
    with Order.batch_write() as batch:
        for _ in range(count):
            created = iso_utc(now - timedelta(seconds=rng.uniform(0, DAYS * 86400)))
            batch.save(
                Order(
                    order_id=new_id("ord"),
                    created_at=created,
                    customer_id=f"cus_{rng.randrange(customers)}",
                    customer_email_masked="b***@example.com",
                    status=rng.choice(STATUSES),
                    currency="usd",
                    total_amount=4900,
                    items=[
                        OrderItem(sku="ga", name="GA", quantity=1, unit_amount=4900, amount=4900)
                    ],
                    updated_at=created,
                    version=1,
                )
            )


def measure(
    client, urls: dict[str, str], runs: int
) -> dict[str, tuple[float, float, Counter, int]]:
    """Per page: median time, median time outside DynamoDB requests (our code: Django,
    templates, PynamoDB), requests by operation, and items read (of the last run)."""
    from core.dynamodb_requests import dynamodb_requests

    results = {}
    for name, url in urls.items():
        times, own = [], []
        calls: Counter = Counter()
        items: Counter = Counter()
        for _ in range(runs):
            items = Counter()
            waits: list[float] = []
            with dynamodb_requests(items, waits) as counted:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            own.append(times[-1] - sum(waits))
            assert response.status_code == 200, (url, response.status_code)
            calls = counted
        results[name] = (
            statistics.median(times),
            statistics.median(own),
            Counter(calls),
            sum(items.values()),
        )
    return results


def emulator_query(runs: int) -> float:
    """One index Query of 51 items, straight through PynamoDB: what the emulator itself costs
    at this table size (moto evaluates a Query by walking the whole table in memory, unlike
    DynamoDB, whose Query cost depends only on the items it returns)."""
    from orders.models import ORDERS_BY_STATUS

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        list(ORDERS_BY_STATUS.query("paid", scan_index_forward=False, limit=51))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def pages(client) -> dict[str, str]:
    import re

    from orders.models import ORDERS_BY_STATUS

    first = client.get("/admin/orders/order/").content.decode()
    next_link = re.search(r'<a href="([^"]+)" class="next">', first).group(1).replace("&amp;", "&")
    order = next(iter(ORDERS_BY_STATUS.query("paid", scan_index_forward=False, limit=1)))
    return {
        "order list": "/admin/orders/order/",
        "order list, page 2": "/admin/orders/order/" + next_link,
        "filtered (status=paid)": "/admin/orders/order/?status=paid",
        "search: name (ada)": "/admin/orders/order/?q=ada",
        "search: e-mail (ada.)": "/admin/orders/order/?q=ada.",
        "search: name + status": "/admin/orders/order/?q=lovelace&status=paid",
        "order page": f"/admin/orders/order/{order.order_id}/change/",
    }


def baseline(runs: int) -> float:
    from staff.models import StaffAccount

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        StaffAccount.get("STAFF#bench", "ACCOUNT")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    stack = stack_start()
    try:
        os.environ.update(stack.environment())
        stack.provision_config()
        import django

        django.setup()
        from django.conf import settings
        from django.test import Client

        from core.dynamodb import tables_ensure
        from staff.services import staff_create

        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        tables_ensure()
        staff_create(username="bench", email="", role="viewer", password=PASSWORD)
        client = Client()
        assert client.login(username="bench", password=PASSWORD)
        rng = random.Random(7)  # deterministic load, not a secret

        print(f"loading {args.small:,} orders...", flush=True)
        load_customers(0, customers_for(args.small), rng)
        load_orders(args.small, rng, customers_for(args.small))
        small = measure(client, pages(client), args.runs)
        small_query = emulator_query(args.runs)
        print(f"loading {args.large - args.small:,} more orders...", flush=True)
        load_customers(customers_for(args.small), customers_for(args.large), rng)
        load_orders(args.large - args.small, rng, customers_for(args.large))
        large = measure(client, pages(client), args.runs)
        large_query = emulator_query(args.runs)
        base = baseline(args.runs)

        print()
        print(f"baseline: one GetItem round trip {base * 1000:6.1f} ms (same run)")
        print(
            f"emulator: one 51-item index Query {small_query * 1000:6.1f} ms at {args.small:,} "
            f"orders, {large_query * 1000:6.1f} ms at {args.large:,} "
            f"(x{large_query / small_query:.2f}: moto's Query walks the table; DynamoDB's does not)"
        )
        print(
            "total: the whole page; own: minus the time spent waiting on DynamoDB requests "
            "(what the table size could change in our code)"
        )
        header = (
            f"{'page':<26}{'total small':>12}{'total large':>12}{'ratio':>7}"
            f"{'own small':>11}{'own large':>11}{'ratio':>7}{'items read':>12}"
            "   requests per page (small / large)"
        )
        print(header)
        print("-" * len(header))
        for name in small:
            t_small, o_small, c_small, i_small = small[name]
            t_large, o_large, c_large, i_large = large[name]
            print(
                f"{name:<26}{t_small * 1000:>9.1f} ms{t_large * 1000:>9.1f} ms"
                f"{t_large / t_small:>7.2f}{o_small * 1000:>8.1f} ms{o_large * 1000:>8.1f} ms"
                f"{o_large / o_small:>7.2f}{f'{i_small} / {i_large}':>12}   "
                f"{dict(sorted(c_small.items()))} / {dict(sorted(c_large.items()))}"
            )
        scans = sum(c.get("Scan", 0) for *_, c, _ in [*small.values(), *large.values()])
        print(f"\nScans on any page: {scans}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
