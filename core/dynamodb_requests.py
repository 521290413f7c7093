"""Count the DynamoDB requests a piece of code makes, by operation, as they go on the wire.

For the benchmarks and the tests that prove a page's cost ("no Scan; N Queries per page"):
it listens to botocore's ``before-call``/``after-call`` events on every PynamoDB model's
client, so it sees exactly what DynamoDB is asked, and patches nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.models import Model


def _models() -> list[type[Model]]:
    found: list[type[Model]] = []
    pending = list(Model.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return [m for m in found if getattr(getattr(m, "Meta", None), "table_name", None)]


@contextmanager
def dynamodb_requests(
    items: Counter[str] | None = None, seconds: list[float] | None = None
) -> Iterator[Counter[str]]:
    """``with dynamodb_requests() as calls: ...`` -> ``calls["Query"]``, ``calls["Scan"]``.

    Pass ``items`` (a Counter) to also count the items each operation read (DynamoDB's
    ``ScannedCount``, or 1 for a GetItem that found its item): what DynamoDB bills for; and
    ``seconds`` (a list) to collect each request's round-trip time."""
    calls: Counter[str] = Counter()
    started: list[float] = []

    def before(model: Any = None, **kwargs: Any) -> None:
        calls[model.name] += 1
        started.append(time.perf_counter())

    def after(parsed: Any = None, model: Any = None, **kwargs: Any) -> None:
        if seconds is not None and started:
            seconds.append(time.perf_counter() - started.pop())
        if items is not None and isinstance(parsed, dict):
            items[model.name] += int(parsed.get("ScannedCount", 1 if "Item" in parsed else 0))

    clients = {id(c): c for c in (m._get_connection().connection.client for m in _models())}
    for client in clients.values():
        client.meta.events.register("before-call.dynamodb", before, unique_id="count-requests")
        client.meta.events.register("after-call.dynamodb", after, unique_id="count-items")
    try:
        yield calls
    finally:
        for client in clients.values():
            client.meta.events.unregister("before-call.dynamodb", unique_id="count-requests")
            client.meta.events.unregister("after-call.dynamodb", unique_id="count-items")
