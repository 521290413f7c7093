"""Run moto's server with one request at a time inside the emulator.

moto applies a conditional write as "read the item, check the condition, write" with no lock,
so two concurrent ``attribute_not_exists`` writes to one item can both succeed, which real
DynamoDB never allows (each item's conditional writes are atomic). Tests of "ten deliveries,
one change" or "two buyers, one last seat" need DynamoDB's guarantee, so this wrapper puts a
lock around moto's WSGI application: connections are still served concurrently, the emulator's
work is serialised. This patches the stand-in, never our own code.

moto also keeps a transaction's rollback by deep-copying every table the transaction touches,
before each one: a cost that grows with the table (an on-sale's bench of thousands of orders
spent its CPU copying tables). ``_item_rollback`` keeps moto's transaction as it is but its
rollback per item: a copy of each item the transaction names, put back if it is canceled.

moto also ignores ``TransactWriteItems``' ``ClientRequestToken``, which botocore fills in for
every call and keeps for its retries. DynamoDB makes such a retry idempotent: within 10
minutes, the same token with the same request answers success again without writing, and with
another request ``IdempotentParameterMismatchException``. Without that, a transaction applied
whose answer was lost (a timeout) fails its own conditions on the retry, which DynamoDB never
does; the wrapper gives the emulator DynamoDB's behaviour.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import os
import threading
import time
import types
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

TOKEN_WINDOW_SECONDS = 600
SES_SENT_PATH = "/_ses/sent"  # every message SES accepted, read without moto's data dump
STACK_ID_PATH = (
    "/_config/devstack-id"  # answers the DEVSTACK_ID it was started with (devstack.stack)
)
_TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"


def _ses_sent() -> list[dict[str, Any]]:
    """What SES (v1 and v2: moto's v2 sends through v1's backend) accepted, oldest first, as
    ``/moto-api/data.json``'s ``ses`` section has it, without dumping every service's models
    (that walks every DynamoDB item tracked, and slows down as the tables grow)."""
    from moto.ses.models import ses_backends

    sent: list[dict[str, Any]] = []
    for account in list(ses_backends):
        for region in list(ses_backends[account]):
            for message in ses_backends[account][region].sent_messages:
                fields = {k: v for k, v in vars(message).items() if not k.startswith("_")}
                sent.append({"model": type(message).__name__, **fields})
    return json.loads(json.dumps(sent, default=str))


class _Serialised:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (request digest, when)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == STACK_ID_PATH:  # which stack this emulator belongs to
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [os.environ.get("DEVSTACK_ID", "").encode()]
        with self.lock:
            if environ.get("PATH_INFO") == SES_SENT_PATH:
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps(_ses_sent()).encode()]
            if environ.get("HTTP_X_AMZ_TARGET") == _TRANSACT_WRITE:
                return self._transact_write(environ, start_response)
            # Read the whole answer inside the lock: moto builds it lazily in places.
            return list(self.app(environ, start_response))

    def _transact_write(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            request = json.loads(body)
        except ValueError:
            return list(self.app(environ, start_response))
        token = request.pop("ClientRequestToken", None)
        now = time.monotonic()
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        first = self.tokens.get(token) if token else None
        if first is not None and now - first[1] < TOKEN_WINDOW_SECONDS:
            if first[0] == digest:
                start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
                return [b"{}"]
            error = {
                "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                "message": "The request uses the same client token as a previous, but "
                "non-identical request.",
            }
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
            return [json.dumps(error).encode()]
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, *args: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *args)

        answer = list(self.app(environ, recording_start_response))
        if token and status and status[0].startswith("200"):
            self.tokens[token] = (digest, now)
        return answer


def _deepcopy_but_tables(value: Any, memo: Any = None) -> Any:
    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def _item_rollback(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``transact_write_items`` with the rollback kept per item (see the docstring)."""
    saved = []
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        key = op.get("Key")
        if key is None and "Item" in op:
            names = [table.hash_key_attr, table.range_key_attr]
            key = {name: op["Item"][name] for name in names if name and name in op["Item"]}
        try:
            hash_key, range_key = self.get_keys_value(table, key or {})
        except MockValidationException:
            continue  # moto's own validation answers it
        saved.append(
            (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
        )
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:  # canceled, or refused: every item as it was
        for table, hash_key, range_key, item in reversed(saved):
            table.delete_item(hash_key, range_key)
            if item is None:
                continue
            if range_key:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item
        raise


# moto's module sees a ``copy`` whose deepcopy leaves tables alone (its rollback copies them).
dynamodb_models.copy = types.SimpleNamespace(deepcopy=_deepcopy_but_tables)
DynamoDBBackend.transact_write_items = _item_rollback


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto's own CLI does
    run_simple(
        args.host,
        args.port,
        _Serialised(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
