"""A metering proxy in front of the AWS emulator, for benchmarks.

Every AWS request of the code under test goes through it (``AWS_ENDPOINT_URL`` points here);
it counts DynamoDB requests by operation and estimates the on-demand capacity units each would
consume in AWS, so a benchmark can report round trips and capacity per order without touching
the code it measures. (moto's own ``ConsumedCapacity`` figures are constants, so they are not
used.)

The estimate follows DynamoDB's published rules: a write is one unit per started KB of the
item, doubled inside a transaction, plus one per global secondary index the item belongs to
(its index hash key is present); a read is one unit per started 4 KB (strongly consistent),
half that when eventually consistent, doubled in a transaction. Item size is approximated by
the length of its attribute names and values; an UpdateItem is taken as a small (< 1 KB) item.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CAPACITY_OPERATIONS = {
    "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan",
    "BatchGetItem", "BatchWriteItem", "TransactWriteItems", "TransactGetItems",
}  # fmt: skip


def _size(item: dict) -> int:
    """DynamoDB's item size, approximately: attribute names plus their values' lengths."""
    return len(json.dumps(item, separators=(",", ":")))


class Meter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests: Counter[str] = Counter()
        self.capacity = 0.0

    def snapshot(self) -> tuple[int, float, dict[str, int]]:
        with self.lock:
            return sum(self.requests.values()), self.capacity, dict(self.requests)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: MeterProxy
    disable_nagle_algorithm = True  # head and body are two sends: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        operation = target.split(".")[-1] if target.startswith("DynamoDB_") else None
        payload = json.loads(body or b"{}") if operation else {}
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}
        }
        # The signature covers the body; the emulator does not check it.
        status, response_headers, response_body = self.handle_request(
            operation, payload, body, headers
        )
        self.respond(operation, payload, status, response_headers, response_body)

    def handle_request(self, operation: str | None, payload: dict, body: bytes, headers: dict):
        """Forward to the emulator (a subclass may answer instead, or delay)."""
        return self.server.forward("POST", self.path, body, headers)

    def respond(self, operation, payload, status, response_headers, response_body) -> None:
        if operation:
            units = 0.0
            if operation in CAPACITY_OPERATIONS and status == 200:
                units = self.server.estimate(operation, payload, json.loads(response_body or b"{}"))
            with self.server.meter.lock:
                self.server.meter.requests[operation] += 1
                self.server.meter.capacity += units
        self.send_response(status)
        for name, value in response_headers:
            if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response_body)))
        self.end_headers()
        self.wfile.write(response_body)

    def do_GET(self) -> None:
        status, _headers, body = self.server.forward(
            "GET", self.path, None, dict(self.headers.items())
        )
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class MeterProxy(ThreadingHTTPServer):
    daemon_threads = True
    # A crowd of buyers connects at once: the default backlog (5) resets the rest.
    request_queue_size = 1024
    handler_class: type[BaseHTTPRequestHandler] = _Handler

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), self.handler_class)
        self.upstream = urlsplit(upstream)
        self.meter = Meter()
        self._local = threading.local()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def forward(self, method: str, path: str, body: bytes | None, headers: dict[str, str]):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(
                self.upstream.hostname, self.upstream.port, timeout=30
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

    # --- capacity estimate (see the module docstring) -----------------------------------

    def _index_keys(self, table: str) -> list[str]:
        cache = self.__dict__.setdefault("_index_cache", {})
        if table not in cache:
            status, _, body = self.forward(
                "POST", "/", json.dumps({"TableName": table}).encode(),
                {"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-2/dynamodb/aws4_request, SignedHeaders=host, Signature=0"},
            )  # fmt: skip
            indexes = (
                json.loads(body).get("Table", {}).get("GlobalSecondaryIndexes", [])
                if status == 200
                else []
            )
            cache[table] = [
                next(k["AttributeName"] for k in i["KeySchema"] if k["KeyType"] == "HASH")
                for i in indexes
            ]
        return cache[table]

    def _write_units(self, table: str, item: dict | None, transactional: bool) -> float:
        size = _size(item) if item else 0
        units = max(1, -(-size // 1024))
        indexes = self._index_keys(table)
        index_units = (
            sum(1 for key in indexes if item is None or key in item) if item else len(indexes)
        )
        return units * (2 if transactional else 1) + index_units

    def estimate(self, operation: str, request: dict, response: dict) -> float:
        consistent = 1.0 if request.get("ConsistentRead") else 0.5
        if operation == "PutItem":
            return self._write_units(request["TableName"], request.get("Item"), False)
        if operation in {"UpdateItem", "DeleteItem"}:
            return self._write_units(request["TableName"], None, False)
        if operation == "GetItem":
            return consistent * max(1, -(-_size(response.get("Item") or {}) // 4096))
        if operation in {"Query", "Scan"}:
            size = sum(_size(i) for i in response.get("Items", []))
            return consistent * max(1, -(-size // 4096))
        if operation == "BatchGetItem":
            total = 0.0
            for table, items in response.get("Responses", {}).items():
                factor = 1.0 if request["RequestItems"][table].get("ConsistentRead") else 0.5
                total += sum(factor * max(1, -(-_size(i) // 4096)) for i in items)
            return total
        if operation == "TransactWriteItems":
            total = 0.0
            for entry in request.get("TransactItems", []):
                ((kind, spec),) = entry.items()
                if kind == "ConditionCheck":
                    total += 2  # a transactional read of the item
                else:
                    total += self._write_units(
                        spec["TableName"], spec.get("Item") if kind == "Put" else None, True
                    )
            return total
        return 0.0

    def start(self) -> MeterProxy:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self
