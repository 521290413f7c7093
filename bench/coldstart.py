"""Cold start: a fresh interpreter imports the WSGI application and serves its first request.

Prints, as medians over several fresh processes, the time to import the application, the time
to its first response (GET /health, served through the WSGI callable, no network), and the
peak memory (max RSS), beside a baseline measured in the same run: a bare interpreter that
imports only boto3 (what every Lambda function pays at least). Run: ``make bench`` or
``.venv/bin/python bench/coldstart.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

APP = """
import time
t0 = time.perf_counter()
import io, json, resource
from tickets.wsgi import application
t1 = time.perf_counter()
environ = {
    "REQUEST_METHOD": "GET", "PATH_INFO": "/health", "QUERY_STRING": "", "SERVER_NAME": "localhost",
    "SERVER_PORT": "443", "HTTP_HOST": "localhost", "wsgi.url_scheme": "https",
    "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(), "SERVER_PROTOCOL": "HTTP/1.1",
}
status = []
body = b"".join(application(environ, lambda s, h, e=None: status.append(s)))
t2 = time.perf_counter()
assert status[0].startswith("200"), (status, body)
print(json.dumps({"import": t1 - t0, "first_response": t2 - t0,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

BASELINE = """
import time
t0 = time.perf_counter()
import json, resource
import boto3
t1 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first_response": t1 - t0,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SETTINGS_MODULE": "tickets.settings",
    "DJANGO_ALLOWED_HOSTS": "localhost",
    "DJANGO_SECRET_KEY": "bench-only-not-a-secret-" + "x" * 40,
    "PYTHONDONTWRITEBYTECODE": "",
}


def run(code: str) -> dict[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, check=True
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["process"] = time.perf_counter() - started  # interpreter start-up included
    return measured


def median(samples: list[dict[str, float]], key: str) -> float:
    return statistics.median(s[key] for s in samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    run(APP)  # compile bytecode once, as a deployed package would carry it
    app = [run(APP) for _ in range(args.runs)]
    base = [run(BASELINE) for _ in range(args.runs)]
    print(f"cold start, median of {args.runs} fresh interpreters (Python {sys.version.split()[0]})")
    print(f"{'':28}{'app (Django)':>14}{'baseline (boto3)':>18}{'ratio':>8}")
    for key, label, unit in (
        ("import", "import", "ms"),
        ("first_response", "to first response", "ms"),
        ("process", "whole process", "ms"),
        ("max_rss_mb", "peak memory (max RSS)", "MB"),
    ):
        a, b = median(app, key), median(base, key)
        scale = 1000 if unit == "ms" else 1
        print(f"{label:28}{a * scale:>11.0f} {unit}{b * scale:>15.0f} {unit}{a / b:>8.2f}")


if __name__ == "__main__":
    main()
