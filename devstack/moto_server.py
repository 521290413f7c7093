"""Run moto's server with one request at a time inside the emulator.

moto applies a conditional write as "read the item, check the condition, write" with no lock,
so two concurrent ``attribute_not_exists`` writes to one item can both succeed, which real
DynamoDB never allows (each item's conditional writes are atomic). Tests of "ten deliveries,
one change" or "two buyers, one last seat" need DynamoDB's guarantee, so this wrapper puts a
lock around moto's WSGI application: connections are still served concurrently, the emulator's
work is serialised. This patches the stand-in, never our own code.
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


class _Serialised:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            # Read the whole answer inside the lock: moto builds it lazily in places.
            return list(self.app(environ, start_response))


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
