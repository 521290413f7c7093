"""A contention model of DynamoDB in front of the local emulator, for benchmarks and tests.

moto runs every request at once and never refuses one for being busy. DynamoDB does: it runs
one transaction at a time on an item and gives each partition a fixed write budget. This
proxy (a ``MeterProxy``, so it also counts requests and capacity units) answers as DynamoDB
would under contention, before the emulator sees the request:

- **Transaction conflicts.** A ``TransactWriteItems`` whose items include one that another
  ``TransactWriteItems`` still in flight includes is canceled with
  ``TransactionCanceledException``, reason ``TransactionConflict`` ("Transaction is ongoing
  for the item") for that item and ``None`` for the others; a ``PutItem``, ``UpdateItem`` or
  ``DeleteItem`` on such an item fails with ``TransactionConflictException``. "In flight" is
  from the moment the proxy receives the transaction until it answers (the per-request latency
  below plus the emulator's own time). Documented in "Transaction conflict handling in
  DynamoDB" (developer guide, transaction-apis.html#transaction-conflict-handling) and the
  ``TransactWriteItems``/``TransactionCanceledException`` API reference (reason codes).
- **Partition write budget.** Each partition takes at most 1,000 write capacity units per
  second ("Partitions and data distribution" and "Service, account, and table quotas":
  3,000 RCU / 1,000 WCU per partition, the same for on-demand tables), kept as a token bucket
  per partition refilled at that rate and holding at most one second of it. A write costs one
  unit per started KB of the item, two inside a transaction ("Capacity management for
  transactions"); an UpdateItem or DeleteItem is taken as one KB. A new item (a Put) that
  belongs to a global secondary index also spends the index partition's budget (its hash key
  value), one unit per KB, since an index throttled for writes throttles the table's writes
  ("Provisioned throughput considerations for GSIs"); what an update moves between index
  partitions is not counted. Over budget, a transaction is canceled with reason
  ``ThrottlingError`` for that item and a single write fails with ``ThrottlingException``,
  with the message DynamoDB gives for an on-demand table ("Throughput exceeds the current
  capacity of your table or index. DynamoDB is automatically scaling your table or index so
  please try again shortly. If exceptions persist, check if you have a hot key: ...").
  Requests refused are not charged. A partition here is one partition key value: DynamoDB may
  hold many key values on one partition, but it splits a hot one out (adaptive capacity), and
  one key value can never exceed its partition's budget.
- **Latency.** Every DynamoDB request waits ``latency`` seconds before it is forwarded
  (DynamoDB answers in single-digit milliseconds), a ``TransactWriteItems`` twice that: the
  transaction coordinator makes two round trips to the items' storage nodes, prepare and
  commit ("Distributed Transactions at Scale in Amazon DynamoDB", USENIX ATC 2023), and the
  items are in flight all that time.

``time_scale`` slows the model's clock: latency is multiplied and budgets divided by it, so a
machine far slower than DynamoDB (the emulator in Python on a shared CPU) still sees the
limits before its own CPU; rates measured under it are multiplied by it to read in real time.

Reads are not refused (3,000 read units per partition per second is three times the write
budget; the on-sale is write-bound). Neither is anything outside DynamoDB.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bench.dynamo_meter import MeterProxy, _Handler, _size

WRITE_UNITS_PER_PARTITION = 1000.0
SINGLE_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_THROTTLE_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly. If exceptions persist, check if "
    "you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
    "bp-partition-key-design.html"
)
_CONFLICT_MESSAGE = "Transaction is ongoing for the item"
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass(frozen=True)
class _Write:
    item: str  # table + key: what a transaction locks
    partitions: tuple[tuple[str, float], ...]  # (table/index + hash key value, units spent)


class ContentionModel:
    """The shared state: items in flight and each partition's budget. Thread-safe."""

    def __init__(
        self,
        *,
        latency: float = 0.005,
        write_units_per_second: float = WRITE_UNITS_PER_PARTITION,
        time_scale: float = 1.0,
    ) -> None:
        self.latency = latency * time_scale
        self.rate = write_units_per_second / time_scale
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.buckets: dict[str, tuple[float, float]] = {}  # partition -> (tokens, at)
        self.refused: Counter[str] = Counter()
        self.throttled_partitions: Counter[str] = Counter()  # which budgets ran out

    def _take(self, writes: Iterable[_Write], now: float) -> set[str]:
        """Spend the budget of every write's partitions, or nothing: the items refused."""
        need: Counter[str] = Counter()
        for write in writes:
            for partition, units in write.partitions:
                need[partition] += units
        short = set()
        levels = {}
        for partition, units in need.items():
            # At most one second of budget (and always room for one write, however slow the
            # clock is scaled).
            cap = max(self.rate, units)
            tokens, at = self.buckets.get(partition, (cap, now))
            tokens = min(cap, tokens + (now - at) * self.rate)
            levels[partition] = tokens
            if tokens < units:
                short.add(partition)
                self.throttled_partitions[partition] += 1
        refused = {w.item for w in writes if short.intersection(p for p, _ in w.partitions)}
        if not refused:
            for partition, units in need.items():
                self.buckets[partition] = (levels[partition] - units, now)
        return refused

    def admit(self, operation: str, writes: list[_Write]) -> list[str | None] | None:
        """None if the request may go ahead (its transaction items are then in flight until
        ``release``); else the reason code per write."""
        with self.lock:
            busy = {w.item for w in writes if self.in_flight[w.item]}
            if busy:
                self.refused["TransactionConflict"] += 1
                return ["TransactionConflict" if w.item in busy else None for w in writes]
            refused = self._take(writes, time.monotonic())
            if refused:
                self.refused["ThrottlingError"] += 1
                return ["ThrottlingError" if w.item in refused else None for w in writes]
            if operation == "TransactWriteItems":
                for write in writes:
                    self.in_flight[write.item] += 1
            return None

    def release(self, writes: list[_Write]) -> None:
        with self.lock:
            for write in writes:
                self.in_flight[write.item] -= 1
                if not self.in_flight[write.item]:
                    del self.in_flight[write.item]


class _ContentionHandler(_Handler):
    server: ContentionProxy

    def handle_request(self, operation, payload, body, headers):
        model = self.server.model
        writes = self.server.writes(operation, payload) if operation else []
        reasons = model.admit(operation, writes) if writes else None
        if model.latency:
            time.sleep(model.latency * (2 if operation == "TransactWriteItems" else 1))
        if reasons is not None:
            return _error(operation, reasons)
        try:
            return super().handle_request(operation, payload, body, headers)
        finally:
            if writes and operation == "TransactWriteItems":
                model.release(writes)


def _error(operation: str, reasons: list[str | None]) -> tuple[int, list, bytes]:
    if operation == "TransactWriteItems":
        codes = [code or "None" for code in reasons]
        body = {
            "__type": _PREFIX + "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific "
            f"reasons [{', '.join(codes)}]",
            "CancellationReasons": [
                {"Code": "None"}
                if code is None
                else {
                    "Code": code,
                    "Message": _CONFLICT_MESSAGE
                    if code == "TransactionConflict"
                    else _THROTTLE_MESSAGE,
                }
                for code in reasons
            ],
        }
    elif "TransactionConflict" in reasons:
        body = {"__type": _PREFIX + "TransactionConflictException", "message": _CONFLICT_MESSAGE}
    else:
        body = {"__type": _PREFIX + "ThrottlingException", "message": _THROTTLE_MESSAGE}
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "contention")]
    return 400, headers, json.dumps(body).encode()


class ContentionProxy(MeterProxy):
    """``ContentionProxy(emulator_url, model=ContentionModel(...)).start()``; point
    ``AWS_ENDPOINT_URL`` at its ``url``."""

    handler_class = _ContentionHandler

    def __init__(self, upstream: str, *, model: ContentionModel | None = None) -> None:
        super().__init__(upstream)
        self.model = model or ContentionModel()
        self._schemas: dict[str, tuple[list[str], list[str]]] = {}

    def _schema(self, table: str) -> tuple[list[str], list[str]]:
        """(the table's key attributes, hash first; each index's hash key attribute)."""
        if table not in self._schemas:
            status, _, body = self.forward(
                "POST", "/", json.dumps({"TableName": table}).encode(),
                {"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-2/dynamodb/aws4_request, SignedHeaders=host, Signature=0"},
            )  # fmt: skip
            description = json.loads(body).get("Table", {}) if status == 200 else {}
            keys = sorted(description.get("KeySchema", []), key=lambda k: k["KeyType"] != "HASH")
            indexes = [
                next(k["AttributeName"] for k in i["KeySchema"] if k["KeyType"] == "HASH")
                for i in description.get("GlobalSecondaryIndexes", [])
            ]
            self._schemas[table] = ([k["AttributeName"] for k in keys], indexes)
        return self._schemas[table]

    def _write(self, table: str, key: dict | None, item: dict | None, units: float) -> _Write:
        key_names, index_keys = self._schema(table)
        if key is None:
            key = {name: item[name] for name in key_names if item and name in item}
        hash_value = json.dumps(key.get(key_names[0]) if key_names else key, sort_keys=True)
        partitions = [(f"{table}|{hash_value}", units)]
        # The index partitions a new item lands in: a plain write of the projected item, one
        # unit per KB, transaction or not.
        index_units = max(1, -(-_size(item) // 1024)) if item else 0
        for name in index_keys:
            if item and name in item:
                index = f"{table}#{name}|{json.dumps(item[name], sort_keys=True)}"
                partitions.append((index, index_units))
        return _Write(
            item=f"{table}|{json.dumps(key, sort_keys=True)}", partitions=tuple(partitions)
        )

    def writes(self, operation: str, payload: dict) -> list[_Write]:
        """The items a write request touches, with the units each costs."""
        if operation in SINGLE_WRITES:
            item = payload.get("Item")
            units = max(1, -(-_size(item) // 1024)) if item else 1
            return [self._write(payload["TableName"], payload.get("Key"), item, units)]
        if operation != "TransactWriteItems":
            return []
        writes = []
        for entry in payload.get("TransactItems", []):
            ((kind, spec),) = entry.items()
            item = spec.get("Item")
            units = (
                0.0
                if kind == "ConditionCheck"
                else 2 * (max(1, -(-_size(item) // 1024)) if item else 1)
            )
            writes.append(self._write(spec["TableName"], spec.get("Key"), item, units))
        return writes
