"""Cold start: a fresh interpreter imports the application and serves its first request.

Two parts, each printed as medians over fresh processes with the peak memory (max RSS), beside
a baseline measured in the same run:

1. From the source tree: import the WSGI application and serve GET /health through the WSGI
   callable, beside a bare interpreter that imports only boto3.
2. Lambda-style (``--lambda``, the default with ``make bench``): the deployment package built
   by ``zappa package prod`` (``deploy.build``) unpacked into a read-only directory; a fresh
   ``python -S`` that sees only the package and boto3/botocore standing in for the runtime's
   (``devstack.lambda_runtime``) imports Zappa's ``handler`` and answers a first API Gateway
   REST event (GET /health). Measured with the package's unchecked-hash bytecode, and with the
   bytecode removed (sources only: what Zappa's stale timestamp ``.pyc`` files amount to in a
   read-only ``/var/task``), beside a bare Lambda handler that imports boto3 and answers.

Run: ``make bench`` or ``.venv/bin/python bench/coldstart.py [--runs N] [--package ZIP]``.
This machine's CPU is not Lambda's: compare the ratios, and ``Init Duration`` in AWS.
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
sys.path.insert(0, str(ROOT))

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


BARE_HANDLER = """
import json

import boto3


def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"status": "ok", "boto3": boto3.__version__})}
"""


def _strip_bytecode(source: Path, target: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not info.filename.endswith(".pyc"):
                dst.writestr(info, src.read(info))
    return target


def _package_build(stack, workdir: Path) -> Path:
    import boto3

    from deploy import build

    project = build.project_copy(workdir / "project")
    stage_env = build.stage_environment("prod", project)
    aws_env = {k: v for k, v in stack.environment().items() if k.startswith("AWS_")}
    boto3.client("s3", endpoint_url=stack.aws_url, region_name=aws_env["AWS_REGION"]).create_bucket(
        Bucket=stage_env["DJANGO_STATIC_BUCKET"],
        CreateBucketConfiguration={"LocationConstraint": aws_env["AWS_REGION"]},
    )
    build.collectstatic("prod", project, extra_env=aws_env)
    build.deploy_venv_ensure()
    return build.package("prod", workdir / "ticketstoheaven-prod.zip", project)


def lambda_coldstart(runs: int, package: Path | None) -> None:
    import tempfile

    from deploy.build import stage_environment
    from devstack.lambda_runtime import (
        LambdaRuntime,
        package_unpack,
        rest_event,
        runtime_standin,
        tree_read_only,
    )
    from devstack.stack import stack_start

    stack = stack_start()
    try:
        os.environ.update({k: v for k, v in stack.environment().items() if k.startswith("AWS_")})
        with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
            work = Path(tmp)
            package = package or _package_build(stack, work)
            sources_only = _strip_bytecode(package, work / "sources-only.zip")
            runtime_dir = runtime_standin(work / "runtime")
            local = {k: v for k, v in stack.environment().items() if k.startswith("AWS_")}
            env = {**stage_environment("prod"), **local, "STRIPE_API_BASE": stack.stripe_url}
            bare_dir = work / "bare"
            bare_dir.mkdir()
            (bare_dir / "handler.py").write_text(BARE_HANDLER)
            tree_read_only(bare_dir)
            variants = {
                "package, unchecked-hash .pyc": LambdaRuntime(
                    package_unpack(package, work / "with"), runtime_dir, env
                ),
                "package, sources only": LambdaRuntime(
                    package_unpack(sources_only, work / "without"), runtime_dir, env
                ),
                "bare handler (boto3)": LambdaRuntime(bare_dir, runtime_dir, env),
            }
            event = rest_event("GET", "/health")
            samples: dict[str, list] = {name: [] for name in variants}
            for _ in range(runs):  # interleaved, so drift hits every variant alike
                for name, runtime in variants.items():
                    result = runtime.invoke(event)
                    answer = result.answers[0]
                    assert result.errors == [None] and answer["statusCode"] == 200, result.output
                    samples[name].append(result)
            for name in variants:
                tree_read_only(variants[name].task_dir, read_only=False)
            import zipfile

            with zipfile.ZipFile(package) as zf:
                unpacked = sum(i.file_size for i in zf.infolist())
            print(
                f"\nLambda-style cold start, median of {runs} fresh interpreters; package "
                f"{package.stat().st_size / 2**20:.1f} MiB zipped, {unpacked / 2**20:.1f} MiB "
                f"unpacked ({sources_only.stat().st_size / 2**20:.1f} MiB without bytecode)"
            )
            names = list(variants)
            print(f"{'':28}" + "".join(f"{n:>30}" for n in names))
            base = samples[names[-1]]
            for label, unit, get in (
                ("handler import", "ms", lambda r: r.import_seconds * 1000),
                ("to first response", "ms", lambda r: (r.import_seconds + r.seconds[0]) * 1000),
                ("whole process", "ms", lambda r: r.process_seconds * 1000),
                ("peak memory (max RSS)", "MB", lambda r: r.max_rss_mb),
            ):
                b = statistics.median(get(r) for r in base)
                cells = []
                for n in names:
                    v = statistics.median(get(r) for r in samples[n])
                    cells.append(f"{v:>10.0f} {unit} ({v / b:4.2f}x base)")
                print(f"{label:28}" + "".join(f"{c:>30}" for c in cells))
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--package", type=Path, help="a built package (default: build one)")
    parser.add_argument("--no-lambda", action="store_true", help="only the source-tree measurement")
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
    if not args.no_lambda:
        lambda_coldstart(args.runs, args.package)


if __name__ == "__main__":
    main()
