"""The rehearsal's moving parts: the emulator process, Terraform with the provider mirror and
the rehearsal-only provider override, and a small IAM evaluator for the role's resources.

Substitutions for moto's limitations (each is the minimum that lets ``infra/`` apply as it is):

1. ``rehearsal_override.tf`` (written next to a scratch copy of ``infra/*.tf``): the AWS
   provider's endpoints all point at the emulator on loopback, path-style S3, no credential or
   metadata look-ups. Nothing else in infra/ is overridden.
2. CloudFront cache, origin-request and response-headers policies: moto 5.2 has none of these
   APIs (every call is a 404), and infra/ looks up three AWS-managed policies by name and creates
   three of its own. ``emulator.CloudFrontPolicies`` answers them (the managed ones with their
   real ids). moto does not IAM-check them.
3. Bucket policies: moto evaluates them but ignores conditions it cannot evaluate (``Bool``), so
   ``DenyInsecureTransport`` would deny every request; it is dropped as stored. moto's
   PutBucketLogging check also crashes (500) on ``"Principal": "*"``, stored as
   ``{"AWS": "*"}`` (the same to AWS). ``emulator.bucket_policy_for_moto``.
4. ``vendor_endpoint``: the variable must be ``https://``; the stand-in vendor speaks plain HTTP
   on loopback, so after apply the parameter is overwritten with the stand-in's address, as an
   operator would change a value (the app reads it from SSM either way).
5. Lambda: moto cannot run a Python function without Docker; it runs with its "simple" Lambda
   backend (an invocation is accepted and nothing runs, like an async event Lambda dropped). The
   function's code runs in ``devstack.lambda_runtime`` (the package Zappa built, read-only,
   fresh interpreter) with the environment Zappa gave the function and the role's credentials.
6. IAM: moto checks actions only, never resources (except S3's) or DynamoDB's conditions, and
   names a few actions its own way (``MOTO_ACTION_NAMES``), so each role's policy is enforced
   in moto as a copy with every resource widened to ``*``, no condition and those names added,
   and the real policy's resources and ``dynamodb:LeadingKeys`` conditions are checked against
   every (action, resource, partition keys) the app called (recorded by the emulator) with
   ``policy_allows`` below.
"""

from __future__ import annotations

import fnmatch
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.stack import ROOT, free_port

INFRA = ROOT / "infra"
DEFAULT_MIRRORS = "/opt/tf-plugins:~/.terraform.d/plugins:/usr/share/terraform/plugins"

# Every AWS service infra/ creates resources in.
PROVIDER_SERVICES = (
    "apigateway", "backup", "cloudfront", "cloudtrail", "cloudwatch", "dynamodb", "iam", "kms",
    "logs", "s3", "secretsmanager", "ses", "sesv2", "sns", "sqs", "ssm", "sts", "wafv2",
)  # fmt: skip


def terraform_find() -> tuple[str | None, str | None, str]:
    """(terraform binary, provider mirror, why not) the way infra/check.sh finds them."""
    terraform = os.environ.get("TERRAFORM") or shutil.which("terraform")
    if not terraform:
        return None, None, "no terraform binary on PATH (or TERRAFORM)"
    mirrors = os.environ.get("TF_PROVIDER_MIRROR", DEFAULT_MIRRORS).split(":")
    for directory in mirrors:
        base = Path(os.path.expanduser(directory))
        if list(base.glob("registry.terraform.io/hashicorp/aws/5.*/*/terraform-provider-aws*")):
            return terraform, str(base), ""
    return terraform, None, f"no AWS provider 5.x in a local provider mirror ({':'.join(mirrors)})"


@dataclass
class Emulator:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, body: bytes = b"") -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def requests(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/_rehearsal/requests", timeout=10) as response:
            return json.load(response)

    def requests_clear(self) -> None:
        request = urllib.request.Request(f"{self.url}/_rehearsal/requests", method="DELETE")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def emulator_start() -> Emulator:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.rehearsal.emulator", "-H", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    emulator = Emulator(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{emulator.url}/moto-api/data.json", timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the rehearsal emulator did not start") from None
            time.sleep(0.2)
    # Lambda without Docker: an invocation is accepted and runs nothing (substitution 5).
    emulator.post("/moto-api/config", json.dumps({"lambda": {"use_docker": False}}).encode())
    return emulator


def provider_override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in PROVIDER_SERVICES)
    block = f"""  skip_credentials_validation = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}"""
    # Both providers: the stage's region and us-east-1 (CloudFront's WAF lives there).
    return f"""# Rehearsal only (tests/rehearsal/): every AWS endpoint is the emulator on loopback.
provider "aws" {{
{block}
}}

provider "aws" {{
  alias = "us_east_1"
{block}
}}
"""


@dataclass
class Terraform:
    binary: str
    workdir: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [self.binary, *args, "-no-color"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"terraform {args[0]} failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            )
        return result.stdout

    def outputs(self) -> dict[str, Any]:
        return {k: v["value"] for k, v in json.loads(self.run("output", "-json")).items()}


def terraform_prepare(
    binary: str, mirror: str, workdir: Path, endpoint: str, credentials: dict[str, str]
) -> Terraform:
    """A scratch copy of infra/ (no .terraform/ or state lands in the repository), the
    tfvars an operator copies from the example, and the override."""
    workdir.mkdir(parents=True)
    for path in INFRA.glob("*.tf"):
        if path.name != "backend.tf":  # an operator's S3 backend: the rehearsal keeps local state
            shutil.copy(path, workdir)
    # As the example asks: the placeholder replaced by a fresh `openssl rand -hex 32`.
    tfvars = (INFRA / "terraform.tfvars.example").read_text()
    placeholder = '"replace-me-with-openssl-rand-hex-32"'
    assert placeholder in tfvars
    tfvars = tfvars.replace(placeholder, f'"{secrets.token_hex(32)}"')
    # The emulator has no SES delivery options (PutConfigurationSetDeliveryOptions): the apply
    # would wait on it forever. In AWS the default (TLS required) stands.
    tfvars += "\nemail_require_tls = false\n"
    (workdir / "terraform.tfvars").write_text(tfvars)
    (workdir / "rehearsal_override.tf").write_text(provider_override(endpoint))
    (workdir / "cli.tfrc").write_text(
        f"""provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
"""
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TF_CLI_CONFIG_FILE": str(workdir / "cli.tfrc"),
        "TF_IN_AUTOMATION": "1",
        "AWS_REGION": "us-east-2",
        **credentials,
    }
    return Terraform(binary, workdir, env)


# --- The role's policy, evaluated on resources ----------------------------------------------


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character (fnmatch's, without [...]).
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _condition_holds(condition: dict[str, Any], leading_keys: list[str] | None) -> bool:
    """The one condition the roles use: ``ForAllValues:StringLike`` on ``dynamodb:LeadingKeys``
    (every partition key the request names matches a pattern). A request whose keys are not
    known (``None``) does not satisfy it; any other condition is refused as unknown."""
    for operator, tests in condition.items():
        for key, patterns in tests.items():
            if (operator, key) != ("ForAllValues:StringLike", "dynamodb:LeadingKeys"):
                raise ValueError(f"the evaluator does not know {operator} {key}")
            if leading_keys is None or not all(
                any(_matches(p, k) for p in _listed(patterns)) for k in leading_keys
            ):
                return False
    return True


def statement_allows(
    statement: dict[str, Any], action: str, resource: str, leading_keys: list[str] | None = None
) -> bool:
    return (
        statement.get("Effect") == "Allow"
        and any(_matches(a.lower(), action.lower()) for a in _listed(statement["Action"]))
        and any(_matches(r, resource) for r in _listed(statement["Resource"]))
        and _condition_holds(statement.get("Condition", {}), leading_keys)
    )


def policy_allows(
    policy: dict[str, Any], action: str, resource: str, leading_keys: list[str] | None = None
) -> list[str]:
    """The Sids of the statements that allow ``action`` on ``resource`` for a request naming
    ``leading_keys`` (its partition keys, for the LeadingKeys condition); none: denied. The
    policies have no Deny (tests/infra/test_infra.py keeps them so)."""
    return [
        s.get("Sid", "?")
        for s in policy["Statement"]
        if statement_allows(s, action, resource, leading_keys)
    ]


# The action names moto checks where they differ from IAM's (found with moto 5.2's
# AccessDenied messages): it names REST actions after the URL (lambda:Invoke,
# xray:TraceSegments), and checks DynamoDB transactions as one action, where IAM authorises each
# item's own action (PutItem, UpdateItem, ConditionCheckItem, ...).
MOTO_ACTION_NAMES = {
    "lambda:InvokeFunction": ("lambda:Invoke",),
    "xray:PutTraceSegments": ("xray:TraceSegments",),
    "xray:PutTelemetryRecords": ("xray:TelemetryRecords",),
    "xray:GetSamplingRules": ("xray:SamplingRules",),
    "xray:GetSamplingTargets": ("xray:SamplingTargets",),
    "dynamodb:PutItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:UpdateItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:DeleteItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:ConditionCheckItem": ("dynamodb:TransactWriteItems",),
    "dynamodb:GetItem": ("dynamodb:TransactGetItems",),
    # S3: HEAD on a bucket is authorised by s3:ListBucket; moto checks "s3:HeadBucket".
    "s3:ListBucket": ("s3:HeadBucket",),
    # API Gateway: IAM names its actions after the HTTP method on a resource path; moto after
    # the API operation (the ones `zappa update` and `deploy api-logging` call).
    "apigateway:GET": (
        "apigateway:GetRestApis", "apigateway:GetRestApi", "apigateway:GetStage",
        "apigateway:GetStages", "apigateway:GetResources", "apigateway:GetResource",
        "apigateway:GetDeployments", "apigateway:GetApiKeys",
    ),
    "apigateway:POST": ("apigateway:CreateDeployment",),
    "apigateway:PATCH": ("apigateway:UpdateStage", "apigateway:UpdateRestApi"),
    "apigateway:PUT": ("apigateway:PutRestApi",),
    "apigateway:DELETE": ("apigateway:DeleteDeployment",),
}  # fmt: skip


def widened(policy: dict[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    """The policy moto can enforce: every resource ``*`` (moto matches no other for these
    services) and no condition (moto evaluates none of DynamoDB's), each action also under
    moto's name for it, without the statements in ``drop``. Resources and conditions are
    checked by ``policy_allows`` on what the app really called."""
    dropped = set(drop)
    statements = []
    for statement in policy["Statement"]:
        if statement.get("Sid") in dropped:
            continue
        actions = list(_listed(statement["Action"]))
        for action in list(actions):
            actions += [a for a in MOTO_ACTION_NAMES.get(action, ()) if a not in actions]
        widened_statement = {**statement, "Action": actions, "Resource": "*"}
        widened_statement.pop("Condition", None)
        statements.append(widened_statement)
    return {"Version": policy.get("Version", "2012-10-17"), "Statement": statements}
