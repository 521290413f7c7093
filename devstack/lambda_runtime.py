"""A model of AWS Lambda's Python runtime, to run the deployment package without AWS.

What it reproduces of Lambda:
- the package unpacked into a task directory that is read-only (``/var/task``): files and
  folders lose their write bits, and the interpreter runs with ``PYTHONDONTWRITEBYTECODE`` too,
  because a root user (CI containers) ignores permission bits, and Lambda can never write there;
- a fresh interpreter per container, with only the task directory and a stand-in for the
  runtime's own boto3/botocore/s3transfer on ``sys.path`` (``python -S``: no site-packages),
  working directory the task directory, as Lambda starts it;
- the function's handler (``lambda_handler`` in zappa_settings.json, ``deploy.build.stage_handler``;
  Zappa's ``handler.lambda_handler`` by default), called with real API Gateway REST
  proxy events, EventBridge scheduled events, or Zappa's ``command``/``manage`` events, and a
  context object with the attributes Lambda's has;
- the Lambda variables of the stage (``aws_environment_variables`` in ``zappa_settings.json``),
  plus whatever the caller adds (the local emulators' addresses).

``AWS_LAMBDA_FUNCTION_NAME`` is left unset unless asked for: with it, ``zappa.asynchronous``
would send tasks to another Lambda invocation; without it, they run inline, as Zappa does
outside Lambda.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The Lambda runtime ships boto3 and its dependencies; the package leaves out the first three
# and the dev venv's copies stand in. (The package keeps its own urllib3, dateutil, jmespath,
# six: it comes first on sys.path, so those are the ones the app uses, here as in Lambda.)
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")

_DRIVER = r"""
import json, resource, sys, time
started = time.perf_counter()
results_path, events = sys.argv[1], json.load(sys.stdin)

class Context:
    def __init__(self, n):
        self.aws_request_id = "%08x-0000-4000-8000-%012d" % (int(started * 1e6) & 0xffffffff, n)
        self.function_name = "ticketstoheaven-prod"
        self.function_version = "$LATEST"
        self.invoked_function_arn = "arn:aws:lambda:us-east-2:000000000000:function:ticketstoheaven-prod"
        self.memory_limit_in_mb = "1024"
        self.log_group_name = "/aws/lambda/ticketstoheaven-prod"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + 30
    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

import importlib
module_name, _, function_name = sys.argv[2].rpartition(".")
lambda_handler = getattr(importlib.import_module(module_name), function_name)
imported = time.perf_counter()
results = []
for n, event in enumerate(events):
    t0, context = time.perf_counter(), Context(n)
    try:
        answer = lambda_handler(event, context)
        error = None
    except Exception as exc:  # what Lambda would report as a failed invocation
        answer, error = None, f"{type(exc).__name__}: {exc}"
    results.append({"answer": answer, "error": error, "seconds": time.perf_counter() - t0,
                    "request_id": context.aws_request_id})
with open(results_path, "w") as f:
    json.dump({
        "results": results,
        "import_seconds": imported - started,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "modules": {name: getattr(module, "__file__", None) for name, module in sys.modules.items()},
        "sys_path": sys.path,
    }, f, default=str)
"""


def package_unpack(zip_path: Path, task_dir: Path) -> Path:
    """Unpack the package into ``task_dir`` and make the whole tree read-only."""
    task_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path) as package:
        package.extractall(task_dir)
    tree_read_only(task_dir)
    return task_dir


def tree_read_only(root: Path, read_only: bool = True) -> None:
    """Remove (or give back) the write bits of every file and folder under ``root``."""
    paths = [root, *root.rglob("*")]
    for path in paths if read_only else reversed(paths):
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222 if read_only else mode | stat.S_IWUSR)


def tree_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file's size and mtime: equal before and after a run means nothing was written."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


def runtime_standin(target: Path) -> Path:
    """A folder holding only the dev venv's boto3 and its dependencies (what the runtime has).

    Their bytecode is compiled first (in the dev venv, where any import would write it): the
    runtime's boto3 comes with its ``.pyc``, and without them every fresh interpreter here
    would compile about 110 modules (~0.3 s) on both sides of a cold-start comparison, and
    how many depended on what had run in the venv before."""
    import compileall

    import boto3

    site_packages = Path(boto3.__file__).resolve().parent.parent
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        source = site_packages / name
        if name.endswith(".py"):
            compileall.compile_file(source, quiet=2)
        else:
            compileall.compile_dir(source, quiet=2)
        link = target / name
        if not link.exists():
            link.symlink_to(source, target_is_directory=not name.endswith(".py"))
    return target


@dataclass
class Invocation:
    """What one fresh interpreter did with a list of events."""

    answers: list[Any]
    errors: list[str | None]
    seconds: list[float]
    request_ids: list[str]
    import_seconds: float
    process_seconds: float
    max_rss_mb: float
    modules: dict[str, str | None]
    sys_path: list[str]
    output: str


@dataclass
class LambdaRuntime:
    """A task directory plus a runtime stand-in; each ``invoke`` is a new container.
    ``handler`` is the function's Handler setting (``module.function``)."""

    task_dir: Path
    runtime_dir: Path
    environment: dict[str, str] = field(default_factory=dict)
    handler: str = "handler.lambda_handler"

    def process_environment(self) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.task_dir),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "PYTHONPATH": os.pathsep.join([str(self.task_dir), str(self.runtime_dir)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(self.environment)
        return env

    def invoke(
        self, *events: dict[str, Any], timeout: float = 120, env: dict[str, str] | None = None
    ) -> Invocation:
        with tempfile.TemporaryDirectory(prefix="lambda-results-") as results_dir:
            results_path = Path(results_dir) / "results.json"
            started = time.perf_counter()
            process = subprocess.run(
                [sys.executable, "-S", "-c", _DRIVER, str(results_path), self.handler],
                input=json.dumps(list(events)),
                cwd=self.task_dir,
                env={**self.process_environment(), **(env or {})},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            elapsed = time.perf_counter() - started
            if process.returncode != 0 or not results_path.exists():
                raise RuntimeError(
                    f"the Lambda interpreter failed ({process.returncode}):\n"
                    f"{process.stdout[-4000:]}\n{process.stderr[-4000:]}"
                )
            data = json.loads(results_path.read_text())
        return Invocation(
            answers=[r["answer"] for r in data["results"]],
            errors=[r["error"] for r in data["results"]],
            seconds=[r["seconds"] for r in data["results"]],
            request_ids=[r["request_id"] for r in data["results"]],
            import_seconds=data["import_seconds"],
            process_seconds=elapsed,
            max_rss_mb=data["max_rss_mb"],
            modules=data["modules"],
            sys_path=data["sys_path"],
            output=process.stdout + process.stderr,
        )


# --- Events, as API Gateway and EventBridge send them ----------------------------------------

API_ID = "abc123defg"
API_HOST = f"{API_ID}.execute-api.us-east-2.amazonaws.com"


def rest_event(
    method: str,
    path: str,
    *,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    stage: str = "prod",
    host: str = API_HOST,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) Lambda proxy event, as a regional endpoint sends it."""
    all_headers = {
        "Accept": "application/json",
        "Host": host,
        "User-Agent": "lambda-runtime-model",
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    is_binary = isinstance(body, bytes)
    if is_binary:
        import base64

        body = base64.b64encode(body).decode()
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "domainName": host,
            "apiId": API_ID,
            "accountId": "000000000000",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "lambda-runtime-model"},
        },
        "body": body,
        "isBase64Encoded": is_binary,
    }


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """An EventBridge scheduled event for the rule ``rule_name`` (Zappa reads the function
    from the rule name's last ``-`` part)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-2",
        "resources": [f"arn:aws:events:us-east-2:000000000000:rule/{rule_name}"],
        "detail": {},
    }


def response_json(answer: dict[str, Any]) -> Any:
    """The JSON body of an API Gateway proxy answer."""
    body = answer["body"]
    if answer.get("isBase64Encoded"):
        import base64

        body = base64.b64decode(body).decode()
    return json.loads(body)


def api_event(method: str, path: str, json_body: Any = None, **kwargs: Any) -> dict[str, Any]:
    """A REST proxy event carrying a JSON body (``Content-Type: application/json``)."""
    headers = dict(kwargs.pop("headers", None) or {})
    body = None
    if json_body is not None:
        body = json.dumps(json_body)
        headers.setdefault("Content-Type", "application/json")
    return rest_event(method, path, body=body, headers=headers, **kwargs)


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value made with Stripe's scheme (HMAC-SHA256 of
    ``{t}.{payload}`` with the endpoint's signing secret)."""
    import hashlib
    import hmac

    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
