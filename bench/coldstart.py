"""Cold start: a fresh interpreter imports the application and serves its first request.

Two parts, each printed as medians over fresh processes with the peak memory (max RSS), beside
a baseline measured in the same run:

1. From the source tree: import the WSGI application and serve GET /health through the WSGI
   callable, beside a bare interpreter that imports only boto3.
2. Lambda-style (the default; ``--no-lambda`` skips it): each function's deployment package,
   built by ``zappa package prod`` (the public API) and ``zappa package prod-backoffice`` (the
   back office) (``deploy.build``), unpacked into a read-only directory; each path is answered
   by the function CloudFront sends it to (the admin's login page by the back office, the
   rest by the public API); a fresh
   ``python -S`` that sees only the package and boto3/botocore standing in for the runtime's
   (``devstack.lambda_runtime``) imports Zappa's ``handler`` and answers one API Gateway REST
   event, for each of GET /health, GET /catalog, POST /orders (a new buyer each time),
   POST /webhooks/stripe (a signed event, new each time, for a PaymentIntent that is not ours:
   verify, claim, look up, record) and GET /admin/login/. Beside each, a bare Lambda handler
   (boto3 and the standard library only) that makes the same AWS requests for that path, so
   the ratio is what Django, DRF, PynamoDB, Zappa and our code add; and a plain handler that
   imports boto3 and answers. Prints each path's ratios and whether the goals of issues 16 and 27 are
   met: first response <= 1.5x bare for the storefront's paths, <= 2.5x for the admin's login
   page, peak memory <= 1.2x bare (reported, not enforced: a shared machine's noise would make
   it flaky). ``--before ZIP`` adds, interleaved, a one-function package from before the split
   answering every path (its ratio beside the split's); with ``--before-backoffice ZIP`` too,
   the two packages of an earlier two-function build (the login page answered by the second),
   both run with Zappa's own handler, as before ``lambda_handler`` was set. ``--sources-only`` adds GET /health from the package
   without its bytecode (what Zappa's stale timestamp ``.pyc`` files amount to).

Run: ``make bench`` or ``.venv/bin/python bench/coldstart.py [--runs N] [--package ZIP]``.
This machine's CPU is not Lambda's, and it is shared: compare the ratios of one run (the
variants are interleaved), and ``Init Duration`` in AWS.
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
    "DJANGO_SETTINGS_MODULE": "tickets.settings_public",  # the public API's function
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


# The bare baseline: a Lambda handler with nothing but boto3 (and the standard library) that
# answers each path with the SAME AWS requests the app makes for it (counted through the
# handler: see docs/architecture.md, "Cold start"), so that the ratio measures what the
# framework and the application cost, not the network round trips both must make.
BARE_HANDLER = r"""
import hashlib, hmac, json, os, time, urllib.parse, urllib.request, uuid

import boto3

_clients = {}
P = os.environ["PROJECT_NAME"] + "-" + os.environ["STAGE"] + "-"


def client(name):
    if name not in _clients:
        _clients[name] = boto3.client(name, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    return _clients[name]


def secret(name):
    sid = os.environ["PROJECT_NAME"] + "/" + os.environ["STAGE"] + "/" + name
    return json.loads(client("secretsmanager").get_secret_value(SecretId=sid)["SecretString"])


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def catalog(event):
    items = client("dynamodb").query(
        TableName=P + "ticket-types", IndexName="catalog-index",
        KeyConditionExpression="catalog_key = :a", ExpressionAttributeValues={":a": {"S": "active"}},
    )["Items"]
    return 200, [{"sku": i["sku"]["S"], "available": int(i["available"]["N"])} for i in items]


def orders(event):
    body, ddb = json.loads(event["body"]), client("dynamodb")
    client("ssm").get_parameters_by_path(
        Path="/" + os.environ["PROJECT_NAME"] + "/" + os.environ["STAGE"] + "/", WithDecryption=True
    )
    minute = int(time.time() // 60)
    ddb.update_item(
        TableName=P + "backoffice", Key={"pk": {"S": "RATE#bare#%d" % minute}, "sk": {"S": "COUNTER"}},
        UpdateExpression="ADD hits :one", ExpressionAttributeValues={":one": {"N": "1"}},
    )
    sku, quantity = body["items"][0]["sku"], body["items"][0]["quantity"]
    email = body["customer"]["email"]
    unit = int(ddb.batch_get_item(RequestItems={P + "ticket-types": {
        "Keys": [{"sku": {"S": sku}}], "ConsistentRead": True}})["Responses"][P + "ticket-types"][0]["unit_amount"]["N"])
    ddb.get_item(TableName=P + "backoffice", Key={"pk": {"S": "EMAIL#" + email}, "sk": {"S": "CLAIM"}},
                 ConsistentRead=True)
    order_id, customer_id, created = "ord_" + uuid.uuid4().hex, "cus_" + uuid.uuid4().hex, now()
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": P + "backoffice", "ConditionExpression": "attribute_not_exists(pk)",
                 "Item": {"pk": {"S": "EMAIL#" + email}, "sk": {"S": "CLAIM"}, "customer_id": {"S": customer_id}}}},
        {"Put": {"TableName": P + "customers", "ConditionExpression": "attribute_not_exists(customer_id)",
                 "Item": {"customer_id": {"S": customer_id}, "email": {"S": email}, "created_at": {"S": created}}}},
        {"Put": {"TableName": P + "orders", "ConditionExpression": "attribute_not_exists(order_id)",
                 "Item": {"order_id": {"S": order_id}, "created_at": {"S": created}, "created_day": {"S": created[:10]},
                          "status": {"S": "pending_payment"}, "total_amount": {"N": str(quantity * unit)},
                          "version": {"N": "1"}}}},
        {"Update": {"TableName": P + "ticket-types", "Key": {"sku": {"S": sku}},
                    "UpdateExpression": "SET available = available - :q",
                    "ConditionExpression": "available >= :q", "ExpressionAttributeValues": {":q": {"N": str(quantity)}}}},
    ])
    request = urllib.request.Request(
        os.environ["STRIPE_API_BASE"] + "/v1/payment_intents", method="POST",
        data=urllib.parse.urlencode({"amount": quantity * unit, "currency": "usd",
                                     "metadata[order_id]": order_id}).encode(),
        headers={"Authorization": "Bearer " + secret("stripe")["api_key"], "Idempotency-Key": "order:" + order_id},
    )
    with urllib.request.urlopen(request, timeout=8) as answer:
        intent = json.load(answer)
    paid_at = now()
    ddb.transact_write_items(TransactItems=[
        {"Update": {"TableName": P + "orders", "Key": {"order_id": {"S": order_id}, "created_at": {"S": created}},
                    "UpdateExpression": "SET payment_intent_id = :pi, version = version + :one",
                    "ConditionExpression": "version = :one",
                    "ExpressionAttributeValues": {":pi": {"S": intent["id"]}, ":one": {"N": "1"}}}},
        {"Put": {"TableName": P + "payments", "ConditionExpression": "attribute_not_exists(payment_id)",
                 "Item": {"payment_id": {"S": intent["id"]}, "created_at": {"S": paid_at},
                          "order_id": {"S": order_id}, "status": {"S": intent["status"]}}}},
    ])
    ddb.update_item(
        TableName=P + "backoffice", Key={"pk": {"S": "DAILYTOTALS"}, "sk": {"S": "bare#" + created[:10]}},
        UpdateExpression="ADD orders :one", ExpressionAttributeValues={":one": {"N": "1"}},
    )
    return 201, {"order_id": order_id, "client_secret": intent["client_secret"]}


def webhook(event):
    payload, header = event["body"], event["headers"]["Stripe-Signature"]
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret("stripe")["webhook_secret"].encode(),
                        (parts["t"] + "." + payload).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, parts["v1"]):
        return 400, {"error": "signature"}
    stripe_event, ddb = json.loads(payload), client("dynamodb")
    key = {"pk": {"S": "BARE#" + stripe_event["id"]}, "sk": {"S": "RECORD"}}
    ddb.update_item(TableName=P + "backoffice", Key=key, UpdateExpression="SET #s = :p",
                    ConditionExpression="attribute_not_exists(pk)", ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":p": {"S": "in_progress"}})
    ddb.query(TableName=P + "payments", KeyConditionExpression="payment_id = :p", ConsistentRead=True,
              Limit=1, ExpressionAttributeValues={":p": {"S": stripe_event["data"]["object"]["id"]}})
    ddb.update_item(TableName=P + "backoffice", Key=key, UpdateExpression="SET #s = :d",
                    ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":d": {"S": "done"}})
    return 200, {"received": True}


ROUTES = {"/catalog": catalog, "/orders": orders, "/webhooks/stripe": webhook}


def lambda_handler(event, context):
    route = ROUTES.get(event.get("path"))
    status, body = route(event) if route else (200, {"status": "ok", "boto3": boto3.__version__})
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}
"""

# Each path the bench measures: its goal (first response, package / bare), the status it must
# answer, and how the bare handler answers it. The admin's login page makes no AWS request, so
# its bare twin is the plain handler that imports boto3 and answers.
PATHS = {
    "GET /health": (None, 200),
    "GET /catalog": (1.5, 200),
    "POST /orders": (1.5, 201),
    "POST /webhooks/stripe": (1.5, 200),
    "GET /admin/login/": (2.5, 200),
}
# The function that answers each path in AWS (CloudFront's routing, infra/admin.tf).
BACKOFFICE_PATHS = frozenset({"GET /admin/login/"})
PUBLIC_STAGE, BACKOFFICE_STAGE = "prod", "prod-backoffice"
MEMORY_GOAL = 1.2  # peak memory (max RSS), package / bare, for every path


def _events(name: str, run: int, tag: str, webhook_secret: str) -> dict:
    """A fresh event for ``name`` (a new buyer, a new Stripe event id: nothing repeats)."""
    from devstack.lambda_runtime import api_event, rest_event, stripe_signature

    if name == "GET /catalog":
        return api_event("GET", "/catalog")
    if name == "POST /orders":
        body = {
            "customer": {"email": f"cold-{tag}-{run}@example.com", "name": "Cold Start"},
            "items": [{"sku": "coldstart", "quantity": 1}],
        }
        return api_event("POST", "/orders", body, headers={"Idempotency-Key": f"cold-{tag}-{run}"})
    if name == "POST /webhooks/stripe":
        payload = json.dumps(
            {
                "id": f"evt_cold_{tag}_{run}",
                "object": "event",
                "type": "payment_intent.succeeded",
                "created": int(time.time()),
                "data": {"object": {"id": f"pi_cold_{tag}_{run}", "object": "payment_intent",
                                    "status": "succeeded", "amount": 4900, "currency": "usd",
                                    "metadata": {}}},
            }
        )  # fmt: skip
        signature = stripe_signature(payload, webhook_secret)
        return rest_event(
            "POST",
            "/webhooks/stripe",
            body=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
        )
    if name == "GET /admin/login/":
        return rest_event("GET", "/admin/login/", headers={"Accept": "text/html"})
    return rest_event("GET", "/health")


def _strip_bytecode(source: Path, target: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not info.filename.endswith(".pyc"):
                dst.writestr(info, src.read(info))
    return target


def _packages_build(stack, workdir: Path) -> tuple[Path, Path]:
    """Both functions' packages (the public API's, the back office's), from one project copy."""
    import boto3

    from deploy import build

    project = build.project_copy(workdir / "project")
    stage_env = build.stage_environment(BACKOFFICE_STAGE, project)
    aws_env = {k: v for k, v in stack.environment().items() if k.startswith("AWS_")}
    boto3.client("s3", endpoint_url=stack.aws_url, region_name=aws_env["AWS_REGION"]).create_bucket(
        Bucket=stage_env["DJANGO_STATIC_BUCKET"],
        CreateBucketConfiguration={"LocationConstraint": aws_env["AWS_REGION"]},
    )
    build.collectstatic(BACKOFFICE_STAGE, project, extra_env=aws_env)
    build.deploy_venv_ensure()
    return (
        build.package(PUBLIC_STAGE, workdir / f"ticketstoheaven-{PUBLIC_STAGE}.zip", project),
        build.package(
            BACKOFFICE_STAGE, workdir / f"ticketstoheaven-{BACKOFFICE_STAGE}.zip", project
        ),
    )


def _prod_data(stack, runtime) -> None:
    """The prod stage's secrets, parameters and tables in the emulator, and one ticket type."""
    import dataclasses

    import boto3

    prod = dataclasses.replace(stack, stage="prod", processes=[])
    prod.provision_config(parameters={"orders_rate_limit_per_minute": "1000000"})
    result = runtime.invoke({"manage": "create_tables"})
    assert result.errors == [None], result.output
    stamp = "2026-01-01T00:00:00.000000Z"
    boto3.client("dynamodb", endpoint_url=stack.aws_url, region_name="us-east-2").put_item(
        TableName="ticketstoheaven-prod-ticket-types",
        Item={
            "sku": {"S": "coldstart"}, "name": {"S": "Cold start"}, "description": {"S": ""},
            "unit_amount": {"N": "4900"}, "currency": {"S": "usd"}, "capacity": {"N": "1000000"},
            "available": {"N": "1000000"}, "active": {"BOOL": True}, "catalog_key": {"S": "active"},
            "listing": {"S": "all"},
            "version": {"N": "1"}, "created_at": {"S": stamp}, "updated_at": {"S": stamp},
        },
    )  # fmt: skip


def lambda_coldstart(
    runs: int,
    packages: tuple[Path, Path] | None,
    sources_only: bool,
    before: Path | None = None,
    keep: Path | None = None,
    before_backoffice: Path | None = None,
) -> bool:
    import secrets as random_tokens
    import tempfile

    from deploy.build import stage_environment, stage_handler
    from devstack.lambda_runtime import (
        LambdaRuntime,
        package_unpack,
        runtime_standin,
        tree_read_only,
    )
    from devstack.stack import stack_start

    stack = stack_start()
    try:
        os.environ.update({k: v for k, v in stack.environment().items() if k.startswith("AWS_")})
        with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
            work = Path(tmp)
            package, backoffice_package = packages or _packages_build(stack, work)
            if keep and not packages:  # for --package/--backoffice-package next time
                import shutil

                keep.mkdir(parents=True, exist_ok=True)
                for built in (package, backoffice_package):
                    shutil.copy2(built, keep / built.name)
            runtime_dir = runtime_standin(work / "runtime")
            local = {k: v for k, v in stack.environment().items() if k.startswith("AWS_")}
            local["STRIPE_API_BASE"] = stack.stripe_url
            env = {**stage_environment(PUBLIC_STAGE), **local}
            backoffice_env = {**stage_environment(BACKOFFICE_STAGE), **local}
            bare_dir = work / "bare"
            bare_dir.mkdir()
            (bare_dir / "handler.py").write_text(BARE_HANDLER)
            tree_read_only(bare_dir)
            public_handler = stage_handler(PUBLIC_STAGE)
            app = LambdaRuntime(
                package_unpack(package, work / "with"), runtime_dir, env, public_handler
            )
            backoffice = LambdaRuntime(
                package_unpack(backoffice_package, work / "backoffice"),
                runtime_dir,
                backoffice_env,
                stage_handler(BACKOFFICE_STAGE),
            )
            bare = LambdaRuntime(bare_dir, runtime_dir, env)
            runtimes = {"package": app, "bare": bare}
            if before:  # one function answering every path, as before the split
                runtimes["before"] = LambdaRuntime(  # Zappa's own handler then
                    package_unpack(before, work / "before"), runtime_dir, env
                )
            earlier_backoffice = (
                LambdaRuntime(
                    package_unpack(before_backoffice, work / "before-backoffice"),
                    runtime_dir,
                    backoffice_env,
                )
                if before_backoffice
                else None
            )
            if sources_only:
                stripped = _strip_bytecode(package, work / "sources-only.zip")
                runtimes["sources only"] = LambdaRuntime(
                    package_unpack(stripped, work / "without"), runtime_dir, env, public_handler
                )
            _prod_data(stack, app)
            tag = random_tokens.token_hex(3)
            samples: dict[tuple[str, str], list] = {}
            for run in range(runs):  # interleaved, so drift hits every variant alike
                for name, (_goal, status) in PATHS.items():
                    for variant, runtime in runtimes.items():
                        if variant == "sources only" and name != "GET /health":
                            continue
                        if variant == "package" and name in BACKOFFICE_PATHS:
                            runtime = backoffice
                        if variant == "before" and earlier_backoffice and name in BACKOFFICE_PATHS:
                            runtime = earlier_backoffice
                        event = _events(
                            name, run, f"{tag}{variant[:3]}", stack.secrets.stripe_webhook_secret
                        )
                        result = runtime.invoke(event)
                        answer = result.answers[0]
                        assert result.errors == [None], result.output
                        assert answer["statusCode"] == status, (variant, name, answer)
                        samples.setdefault((variant, name), []).append(result)
            for runtime in [*runtimes.values(), backoffice, *filter(None, [earlier_backoffice])]:
                tree_read_only(runtime.task_dir, read_only=False)
            return _lambda_report(
                samples, runs, {"public API": package, "back office": backoffice_package}
            )
    finally:
        stack.stop()


def _first(r) -> float:
    return (r.import_seconds + r.seconds[0]) * 1000


def _lambda_report(samples: dict, runs: int, packages: dict[str, Path]) -> bool:
    import zipfile

    med = statistics.median
    sizes = []
    for label, package in packages.items():
        with zipfile.ZipFile(package) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
        sizes.append(
            f"{label} {package.stat().st_size / 2**20:.1f} MiB zipped, "
            f"{unpacked / 2**20:.1f} MiB unpacked"
        )
    print(
        f"\nLambda-style cold start: each function's package from `zappa package` unpacked "
        f"read-only, median of {runs} fresh interpreters per cell; {'; '.join(sizes)}. "
        f"GET /admin/login/ is answered by the back office, the other paths by the public API."
    )
    print(
        "bare = a handler with only boto3 making the same AWS requests as the app for that path; "
        "plain = the bare handler that imports boto3 and answers (GET /health)."
    )
    # The bare handler does the same for GET /health and GET /admin/login/ (no AWS request):
    # both paths' samples are one baseline, twice the samples, less noise.
    plain = samples[("bare", "GET /health")] + samples[("bare", "GET /admin/login/")]
    for name in ("GET /health", "GET /admin/login/"):
        samples[("bare", name)] = plain
    plain_first = med(_first(r) for r in plain)
    plain_rss = med(r.max_rss_mb for r in plain)
    with_before = any(variant == "before" for variant, _ in samples)
    header = (
        f"{'path':24}{'import':>9}{'first':>9}{'bare':>8}{'ratio':>7}{'goal':>6}"
        f"{'vs plain':>10}{'peak MB':>9}{'bare MB':>9}{'ratio':>7}  goals"
        + (f"{'before':>10}{'ratio':>7}" if with_before else "")
    )
    print(header)
    met_all = True
    for name, (goal, _status) in PATHS.items():
        app, bare = samples[("package", name)], samples[("bare", name)]
        first, bare_first = med(_first(r) for r in app), med(_first(r) for r in bare)
        rss, bare_rss = med(r.max_rss_mb for r in app), med(r.max_rss_mb for r in bare)
        ratio, memory = first / bare_first, rss / bare_rss
        met = (goal is None or ratio <= goal) and memory <= MEMORY_GOAL
        met_all &= met
        print(
            f"{name:24}{med(r.import_seconds for r in app) * 1000:>6.0f} ms{first:>6.0f} ms"
            f"{bare_first:>5.0f} ms{ratio:>6.2f}x{(f'{goal:.1f}x' if goal else '-'):>6}"
            f"{first / plain_first:>9.2f}x{rss:>6.0f} MB{bare_rss:>6.0f} MB{memory:>6.2f}x  "
            f"{'met' if met else 'NOT met':7}"
            + (
                f"{med(_first(r) for r in samples[('before', name)]):>7.0f} ms"
                f"{med(_first(r) for r in samples[('before', name)]) / bare_first:>6.2f}x"
                if with_before
                else ""
            )
        )
    if ("sources only", "GET /health") in samples:
        slow = med(_first(r) for r in samples[("sources only", "GET /health")])
        print(
            f"{'GET /health, no .pyc':24}{'':9}{slow:>6.0f} ms  (the package without its "
            f"bytecode: {slow / plain_first:.2f}x plain; what Zappa's stale .pyc amount to)"
        )
    print(
        f"plain handler: {plain_first:.0f} ms to first response, {plain_rss:.0f} MB. Goals: "
        f"first response <= the goal x bare, peak memory <= {MEMORY_GOAL}x bare. "
        f"All goals {'met' if met_all else 'NOT met'}."
    )
    return met_all


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--package", type=Path, help="the public API's built package (default: build both)"
    )
    parser.add_argument(
        "--backoffice-package", type=Path, help="the back office's built package (with --package)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="also a one-function package from before the split, answering every path "
        "(e.g. built from an older commit with `python -m deploy package`)",
    )
    parser.add_argument(
        "--before-backoffice",
        type=Path,
        help="with --before: the back office's package of the same earlier build (two functions)",
    )
    parser.add_argument(
        "--keep-packages", type=Path, help="copy the two packages it builds into this folder"
    )
    parser.add_argument("--no-lambda", action="store_true", help="only the source-tree measurement")
    parser.add_argument(
        "--sources-only", action="store_true", help="also GET /health from the package without .pyc"
    )
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
        built = (args.package, args.backoffice_package) if args.package else None
        if args.package and not args.backoffice_package:
            parser.error("--package needs --backoffice-package")
        lambda_coldstart(
            args.runs,
            built,
            args.sources_only,
            args.before,
            args.keep_packages,
            args.before_backoffice,
        )


if __name__ == "__main__":
    main()
