"""The deploy rehearsal: what an operator does, from `terraform apply` to `zappa deploy prod`,
against an emulator on loopback, and then the app's real work under the Lambda role with IAM
enforced. docs/deploy.md says which of its steps this covers; stage.py lists every substitution
made for the emulator's limitations.

Order (module-scoped fixtures, each step once):
1. the emulator (moto + stand-ins) with IAM enforced from its fourth request on; an operator
   user with an inline ``*`` policy and an access key, made in the first three;
2. `terraform init` from the provider mirror (skipped, loudly, when there is none) and
   `terraform apply` of infra/ as it is, with terraform.tfvars copied from the example;
3. the secrets' values put as docs/deploy.md says; `python -m deploy settings` fills both
   stages of zappa_settings.json from `terraform output -json`; collectstatic; `zappa package`
   and `zappa deploy` of both functions: `prod` (the public API) and `prod-backoffice`;
4. credentials from sts:AssumeRole of each role apply created, and each package Zappa built
   run in the Lambda runtime model with the environment Zappa gave its function: every flow
   under its own function's role, the public role refused the back office's work (named
   tests), and each statement of either policy needed by a named flow.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from core.dynamodb import registered_models, table_spec
from deploy import build
from deploy.smoke import smoke
from devstack.lambda_runtime import (
    LambdaRuntime,
    api_event,
    package_unpack,
    response_json,
    rest_event,
    runtime_standin,
    scheduled_event,
    stripe_signature,
)
from devstack.stack import LocalStack
from tests.factories import event_build, intent_pay
from tests.rehearsal import stage

REGION = "us-east-2"
PROJECT, STAGE = "ticketstoheaven", "prod"
FUNCTION = f"{PROJECT}-{STAGE}"  # the public API's function
BACKOFFICE_STAGE = f"{STAGE}-backoffice"
BACKOFFICE_FUNCTION = f"{PROJECT}-{BACKOFFICE_STAGE}"  # the back office's
TABLE_PREFIX = f"{PROJECT}-{STAGE}-"

TERRAFORM, MIRROR, WHY_NOT = stage.terraform_find()
if MIRROR is None:
    # Loud: the reason is printed in the test summary (-rs) and here.
    print(f"\nREHEARSAL SKIPPED: {WHY_NOT}", file=sys.stderr)
    pytestmark = pytest.mark.skip(reason=f"rehearsal: {WHY_NOT}")


def _client(service: str, endpoint: str, credentials: dict[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
        config=Config(retries={"max_attempts": 1}),
    )


# --- 1. The emulator, with IAM enforced ------------------------------------------------------


@pytest.fixture(scope="module")
def emulator():
    emulator = stage.emulator_start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def operator(emulator: stage.Emulator) -> dict[str, str]:
    """An operator's credentials: a user with an inline ``*`` policy (moto loads no managed
    policies). IAM is enforced only for the app's work (``flows``): with enforcement on, moto
    refuses Terraform's CloudFront calls (403 UnknownError) and checks signatures over bodies
    the emulator rewrites (stage.py, substitution 3), so apply and deploy run before."""
    iam = _client("iam", emulator.url, {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    iam.create_user(UserName="operator")
    iam.put_user_policy(
        UserName="operator",
        PolicyName="deploy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="operator")["AccessKey"]
    credentials = {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    return credentials


# --- 2. terraform init + apply ---------------------------------------------------------------


@pytest.fixture(scope="module")
def applied(emulator, operator, tmp_path_factory) -> dict[str, Any]:
    terraform = stage.terraform_prepare(
        TERRAFORM, MIRROR, tmp_path_factory.mktemp("rehearsal") / "infra", emulator.url, operator
    )
    # The deploy pipeline's role (docs/deploy.md, "The deploy pipeline"), as an operator sets it.
    with (terraform.workdir / "terraform.tfvars").open("a") as tfvars:
        tfvars.write(
            '\ngithub_repository  = "rehearsal/ticketstoheaven-backoffice"\n'
            'github_environment = "production"\n'
        )
    terraform.run("init", "-input=false", timeout=120)
    started = time.monotonic()
    terraform.run("apply", "-auto-approve", "-input=false", "-parallelism=20", timeout=300)
    print(f"terraform apply: {time.monotonic() - started:.0f} s")
    return terraform.outputs()


def test_one_apply_creates_the_tables_exactly_as_the_models_declare(applied, emulator, operator):
    dynamodb = _client("dynamodb", emulator.url, operator)
    names = {model.Meta.table_name.split("-", 2)[-1] for model in registered_models()}

    assert set(dynamodb.list_tables()["TableNames"]) == {f"{TABLE_PREFIX}{n}" for n in names}
    for model in registered_models():
        spec = table_spec(model)
        name = TABLE_PREFIX + spec["TableName"].split("-", 2)[-1]
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == spec["KeySchema"], name
        assert (
            sorted(table["AttributeDefinitions"], key=lambda d: d["AttributeName"])
            == spec["AttributeDefinitions"]
        ), name
        created = {
            i["IndexName"]: (i["KeySchema"], i["Projection"])
            for i in table.get("GlobalSecondaryIndexes", [])
        }
        wanted = {
            i["IndexName"]: (i["KeySchema"], i["Projection"])
            for i in spec.get("GlobalSecondaryIndexes", [])
        }
        assert created == wanted, name
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        assert table["DeletionProtectionEnabled"] is True
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        ttl_attribute = next(
            (
                a.attr_name
                for a in model.get_attributes().values()
                if type(a).__name__ == "TTLAttribute"
            ),
            None,
        )
        if ttl_attribute:
            assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", ttl_attribute)
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", name
        backups = dynamodb.describe_continuous_backups(TableName=name)[
            "ContinuousBackupsDescription"
        ]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


# --- 3. Secrets, zappa_settings.json from the outputs, package, deploy -----------------------


@pytest.fixture(scope="module")
def deployed(
    applied, emulator, operator, local_stack: LocalStack, tmp_path_factory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("rehearsal-project")
    # The secrets' values, as docs/deploy.md step 4 puts them (here: the local stand-ins').
    sm = _client("secretsmanager", emulator.url, operator)
    secrets = local_stack.secrets
    sm.put_secret_value(
        SecretId=applied["stripe_secret_arn"],
        SecretString=json.dumps(
            {"api_key": secrets.stripe_api_key, "webhook_secret": secrets.stripe_webhook_secret}
        ),
    )
    # The back office's key (locally the same stand-in key: localstripe does not enforce
    # restricted keys; tests/test_public_function.py proves the public code cannot refund).
    sm.put_secret_value(
        SecretId=applied["stripe_backoffice_secret_arn"],
        SecretString=json.dumps({"api_key": secrets.stripe_api_key}),
    )
    sm.put_secret_value(
        SecretId=applied["app_secret_arn"],
        SecretString=json.dumps(
            {
                "django_secret_key": secrets.django_secret_key,
                "vendor_api_key": secrets.vendor_api_key,
            }
        ),
    )
    # Substitution 4: the stand-in vendor is plain HTTP on loopback.
    _client("ssm", emulator.url, operator).put_parameter(
        Name=f"{applied['parameter_path']}vendor_endpoint",
        Value=local_stack.vendor_url,
        Type="String",
        Overwrite=True,
    )
    project = build.project_copy(root / "project")
    outputs_file = root / "outputs.json"
    outputs_file.write_text(json.dumps({k: {"value": v} for k, v in applied.items()}))
    aws_env = {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **operator,
    }
    subprocess.run(
        [sys.executable, "-m", "deploy", "settings", "--stage", STAGE, "--project-dir", str(project),
         "--terraform-output", str(outputs_file)],
        cwd=build.ROOT, check=True, capture_output=True,
    )  # fmt: skip
    build.collectstatic(STAGE, project, extra_env=aws_env)
    build.deploy_venv_ensure()
    zappa_env = {**build.zappa_environment(), **aws_env}
    package, backoffice_package = root / "package.zip", root / "backoffice.zip"
    for name, output in ((STAGE, package), (BACKOFFICE_STAGE, backoffice_package)):
        subprocess.run(
            [str(build.DEPLOY_VENV / "bin/zappa"), "package", name, "--output", str(output)],
            cwd=project, env=zappa_env, check=True, capture_output=True,
        )  # fmt: skip
    results = {}
    for name in (STAGE, BACKOFFICE_STAGE):
        started = time.monotonic()
        results[name] = subprocess.run(
            [str(build.DEPLOY_VENV / "bin/zappa"), "deploy", name],
            cwd=project, env=zappa_env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        print(f"zappa deploy {name}: {time.monotonic() - started:.0f} s")
    result = results[STAGE]
    return {
        "backoffice_package": backoffice_package,
        "backoffice_settings": build.stage_config(BACKOFFICE_STAGE, project),
        "backoffice_result": results[BACKOFFICE_STAGE],
        "root": root,
        "outputs_file": outputs_file,
        "aws_env": aws_env,
        "zappa_env": zappa_env,
        "project": project,
        "package": package,
        "settings": build.stage_config(STAGE, project),
        "output": result.stdout + result.stderr,
        "returncode": result.returncode,
    }


def test_settings_are_filled_from_terraform_output(deployed, applied):
    settings = deployed["settings"]

    assert settings["role_arn"] == applied["public_role_arn"]
    assert deployed["backoffice_settings"]["role_arn"] == applied["backoffice_role_arn"]
    for both in (settings, deployed["backoffice_settings"]):
        assert both["aws_environment_variables"]["APP_STAGE"] == STAGE
    assert settings["s3_bucket"] == applied["deployment_bucket"]
    assert settings["dead_letter_arn"] == applied["async_failure_queue_arn"]
    env = settings["aws_environment_variables"]
    assert env["DJANGO_STATIC_BUCKET"] == applied["static_bucket"]
    assert env["DJANGO_CSRF_TRUSTED_ORIGINS"] == applied["admin_url"]
    assert env["DJANGO_STATIC_CUSTOM_DOMAIN"] == applied["admin_domain"]


def test_zappa_deploy_creates_both_functions_their_schedules_and_their_apis(
    deployed, applied, emulator, operator
):
    # Zappa's last step GETs https://{api-id}.execute-api.{region}.amazonaws.com/prod/health,
    # the real AWS host (no endpoint setting reaches it): from loopback that name does not
    # resolve. Every step before it must have worked; /health is checked through the handler
    # in the flows below instead.
    for result in (deployed, {"returncode": deployed["backoffice_result"].returncode,
                              "output": deployed["backoffice_result"].stdout
                              + deployed["backoffice_result"].stderr}):  # fmt: skip
        if result["returncode"] != 0:
            output = result["output"]
            assert "in touch_endpoint" in output, output[-6000:]
            assert f".execute-api.{REGION}.amazonaws.com" in output
            assert "NameResolutionError" in output
    lambda_client = _client("lambda", emulator.url, operator)
    events = _client("events", emulator.url, operator)
    apigateway = _client("apigateway", emulator.url, operator)
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    creates = {
        r["fields"]["FunctionName"]: r for r in emulator.requests()
        if r["service"] == "lambda" and r["method"] == "POST" and r["path"].endswith("/functions")
    }  # fmt: skip
    for name, zappa_stage, settings, role in (
        (FUNCTION, STAGE, deployed["settings"], applied["public_role_arn"]),
        (BACKOFFICE_FUNCTION, BACKOFFICE_STAGE, deployed["backoffice_settings"],
         applied["backoffice_role_arn"]),
    ):  # fmt: skip
        function = lambda_client.get_function_configuration(FunctionName=name)

        assert function["Runtime"] == "python3.13"
        assert function["MemorySize"] == applied["lambda_memory_mb"] == settings["memory_size"]
        assert function["Timeout"] == applied["lambda_timeout_seconds"]
        assert function["Role"] == role
        assert function["Handler"] == settings["lambda_handler"]
        # moto does not keep DeadLetterConfig: the CreateFunction request Zappa sent is read.
        assert creates[name]["fields"]["DeadLetterConfig"] == {
            "TargetArn": applied["async_failure_queue_arn"]
        }
        assert function["TracingConfig"]["Mode"] == "Active"
        assert function["Environment"]["Variables"] == settings["aws_environment_variables"]
        tags = lambda_client.list_tags(Resource=function["FunctionArn"])["Tags"]
        assert {k: tags.get(k) for k in ("Project", "Environment")} == {
            "Project": PROJECT,
            "Environment": STAGE,
        }
        # The schedules: one EventBridge rule per job, targeting the function that runs it.
        for job in settings["events"]:
            (rule,) = [r for rule_name, r in rules.items() if rule_name.endswith(job["function"])]
            assert rule["ScheduleExpression"] == job["expression"]
            targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
            assert [t["Arn"] for t in targets] == [function["FunctionArn"]]
        # The API: a regional REST API named after the function, deployed to its stage.
        (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == name]
        # (REGIONAL is not checked: moto's CloudFormation drops the EndpointConfiguration.)
        stages = {s["stageName"] for s in apigateway.get_stages(restApiId=api["id"])["item"]}
        assert zappa_stage in stages
    # The jobs run where their permissions are (docs/deploy.md, "Scheduled jobs"): the
    # personal-data retention and the event cancellations in the back office's function, the
    # others in the public API's.
    assert deployed["settings"]["events"]
    assert [e["function"] for e in deployed["backoffice_settings"]["events"]] == [
        "orders.jobs.personal_data_retention",
        "payments.jobs_backoffice.event_cancellations_continue",
    ]


# --- 4. The app's work under each function's role, IAM enforced -----------------------------


def _role_policy(iam: Any, role: str) -> dict[str, Any]:
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    policy = json.loads(document) if isinstance(document, str) else document
    return {"role": role, "name": name, "policy": policy}


@pytest.fixture(scope="module")
def role_policy(deployed, applied, emulator, operator) -> dict[str, Any]:
    """The public API's role and its policy, as apply made them."""
    return _role_policy(_client("iam", emulator.url, operator), applied["public_role_name"])


@pytest.fixture(scope="module")
def backoffice_policy(deployed, applied, emulator, operator) -> dict[str, Any]:
    """The back office's role and its policy."""
    return _role_policy(_client("iam", emulator.url, operator), applied["backoffice_role_name"])


def _assumed(emulator, operator, role_arn: str) -> dict[str, str]:
    sts = _client("sts", emulator.url, operator)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="rehearsal")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def _enforce(emulator, operator, role_policy, drop: tuple[str, ...] = ()) -> None:
    """Put the role's policy, widened to resource * (moto matches no other), minus ``drop``."""
    _client("iam", emulator.url, operator).put_role_policy(
        RoleName=role_policy["role"],
        PolicyName=role_policy["name"],
        PolicyDocument=json.dumps(stage.widened(role_policy["policy"], drop)),
    )


@pytest.fixture(scope="module")
def role_credentials(role_policy, applied, emulator, operator) -> dict[str, str]:
    """The public API's function's credentials (its role)."""
    return _assumed(emulator, operator, applied["public_role_arn"])


@pytest.fixture(scope="module")
def backoffice_credentials(backoffice_policy, applied, emulator, operator) -> dict[str, str]:
    """The back office's function's credentials (its role)."""
    return _assumed(emulator, operator, applied["backoffice_role_arn"])


@pytest.fixture(scope="module")
def deploy_credentials(deployed, applied, emulator, operator) -> dict[str, str]:
    """The pipeline's credentials: GitHub's OIDC token exchanged for the deploy role apply made,
    its policy enforced in moto as the Lambda role's is (actions; resources widened to ``*``,
    stage.py substitution 6; its resources and trust are checked in tests/infra). Taken before
    enforcement starts: AssumeRoleWithWebIdentity is unsigned, and moto answers an unsigned
    request with a 500 while enforcing."""
    iam = _client("iam", emulator.url, operator)
    role = applied["github_deploy_role_arn"].rsplit("/", 1)[-1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    policy = json.loads(document) if isinstance(document, str) else document
    iam.put_role_policy(
        RoleName=role, PolicyName=name, PolicyDocument=json.dumps(stage.widened(policy))
    )
    sts = _client("sts", emulator.url, {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    credentials = sts.assume_role_with_web_identity(
        RoleArn=applied["github_deploy_role_arn"],
        RoleSessionName="deploy-prod",
        WebIdentityToken="rehearsal.github-oidc.token",
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def _function_runtime(
    name: str, package, credentials, emulator, operator, local_stack, root
) -> LambdaRuntime:
    """A package Zappa built, in the Lambda runtime model, with the environment Zappa gave its
    function plus what Lambda adds (its name, its role's credentials)."""
    function = _client("lambda", emulator.url, operator).get_function_configuration(
        FunctionName=name
    )
    environment = {
        **function["Environment"]["Variables"],
        **credentials,
        "AWS_LAMBDA_FUNCTION_NAME": name,  # Zappa's async tasks go through Lambda
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": emulator.url,
        "STRIPE_API_BASE": local_stack.stripe_url,
    }
    return LambdaRuntime(
        task_dir=package_unpack(package, root / "task"),
        runtime_dir=runtime_standin(root / "runtime"),
        environment=environment,
        handler=function["Handler"],
    )


@pytest.fixture(scope="module")
def runtime(
    deployed, role_credentials, emulator, operator, local_stack, tmp_path_factory
) -> LambdaRuntime:
    """The public API's function."""
    root = tmp_path_factory.mktemp("rehearsal-lambda")
    return _function_runtime(
        FUNCTION, deployed["package"], role_credentials, emulator, operator, local_stack, root
    )


@pytest.fixture(scope="module")
def backoffice_runtime(
    deployed, backoffice_credentials, emulator, operator, local_stack, tmp_path_factory
) -> LambdaRuntime:
    """The back office's function."""
    root = tmp_path_factory.mktemp("rehearsal-backoffice")
    return _function_runtime(
        BACKOFFICE_FUNCTION, deployed["backoffice_package"], backoffice_credentials,
        emulator, operator, local_stack, root,
    )  # fmt: skip


class FlowFailed(AssertionError):
    pass


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise FlowFailed(message)


def _one(runtime: LambdaRuntime, event: dict[str, Any]) -> dict[str, Any]:
    result = runtime.invoke(event)
    _check(
        result.errors == [None], f"the invocation raised: {result.errors} {result.output[-2000:]}"
    )
    return result.answers[0]


def _role_calls(emulator, role_credentials) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["key"] == role_credentials["AWS_ACCESS_KEY_ID"]]


class _Answer:
    """A Lambda proxy answer as ``tests.admin_forms`` reads a response."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.status_code = answer["statusCode"]
        self.content = (answer.get("body") or "").encode()
        self.answer = answer


class StaffBrowser:
    """A signed-in staff member's browser on the back office's function: each request one
    invocation (a cold container), the session cookie and CSRF token carried, the way
    ``tests.admin_forms`` drives Django's test client."""

    def __init__(self, runtime: LambdaRuntime, origin: str, cookies: SimpleCookie) -> None:
        self.runtime, self.origin, self.cookies = runtime, origin, cookies

    def _send(self, method: str, url: str, data: dict[str, Any] | None = None) -> _Answer:
        path, _, query = url.partition("?")
        headers = {"Accept": "text/html", "Cookie": _cookie_header(self.cookies)}
        body = None
        if method == "POST":
            body = urlencode(
                {**(data or {}), "csrfmiddlewaretoken": self.cookies["csrftoken"].value}
            )
            headers |= {"Content-Type": "application/x-www-form-urlencoded",
                        "Referer": self.origin + path, "Origin": self.origin}  # fmt: skip
        params = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
        if method == "GET" and data:
            params |= {k: str(v) for k, v in data.items()}
        answer = _one(self.runtime, rest_event(method, path, body=body, query=params or None,
                                               headers=headers))  # fmt: skip
        _cookies_take(self.cookies, answer)
        return _Answer(answer)

    def get(self, url: str, data: dict[str, Any] | None = None) -> _Answer:
        return self._send("GET", url, data)

    def post(self, url: str, data: dict[str, Any] | None = None) -> _Answer:
        return self._send("POST", url, data)


def _cookies_take(cookies: SimpleCookie, answer: dict[str, Any]) -> None:
    for value in answer.get("multiValueHeaders", {}).get("Set-Cookie", []) or [
        (answer.get("headers") or {}).get("Set-Cookie", "")
    ]:
        if value:
            cookies.load(value)


def _cookie_header(cookies: SimpleCookie) -> str:
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


class Flows:
    """The app's real work, each a function that raises FlowFailed when a user would notice:
    the public API's in its function under its role, staff's in the back office's."""

    def __init__(self, runtime, emulator, operator, role_credentials, applied, local_stack,
                 backoffice=None, backoffice_role=None):  # fmt: skip
        self.runtime, self.emulator, self.operator = runtime, emulator, operator
        self.role, self.applied, self.stack = role_credentials, applied, local_stack
        self.backoffice, self.backoffice_role = backoffice, backoffice_role
        self.dynamodb = _client("dynamodb", emulator.url, operator)
        self._staff: StaffBrowser | None = None

    def ticket_type(self) -> str:
        sku = f"ga-{uuid.uuid4().hex[:6]}"
        now = "2026-11-25T00:00:00.000000Z"
        self.dynamodb.put_item(
            TableName=f"{TABLE_PREFIX}ticket-types",
            Item={
                "sku": {"S": sku}, "name": {"S": "GA"}, "description": {"S": ""},
                "unit_amount": {"N": "4900"}, "currency": {"S": "usd"}, "capacity": {"N": "10"},
                "available": {"N": "10"}, "active": {"BOOL": True}, "catalog_key": {"S": "active"},
                "listing": {"S": "all"}, "version": {"N": "1"}, "created_at": {"S": now}, "updated_at": {"S": now},
            },
        )  # fmt: skip
        return sku

    def order(self) -> dict[str, Any]:
        sku = self.ticket_type()
        body = {
            "customer": {"email": "buyer@example.com", "name": "B"},
            "items": [{"sku": sku, "quantity": 2}],
        }
        answer = _one(
            self.runtime,
            api_event("POST", "/orders", body, headers={"Idempotency-Key": uuid.uuid4().hex}),
        )
        _check(
            answer["statusCode"] == 201,
            f"POST /orders answered {answer['statusCode']}: {answer.get('body', '')[:300]}",
        )
        return response_json(answer)

    def order_status(self, order_id: str) -> str:
        answer = _one(self.runtime, api_event("GET", f"/orders/{order_id}"))
        _check(answer["statusCode"] == 200, f"GET /orders answered {answer['statusCode']}")
        return response_json(answer)["status"]

    def health(self) -> None:
        answer = _one(self.runtime, rest_event("GET", "/health"))
        _check(answer["statusCode"] == 200, f"/health answered {answer['statusCode']}")

    def catalog(self) -> None:
        self.ticket_type()
        answer = _one(self.runtime, api_event("GET", "/catalog"))
        _check(
            answer["statusCode"] == 200 and response_json(answer),
            f"GET /catalog: {answer['statusCode']}",
        )

    def paid_order(self) -> str:
        """Create, pay (localstripe), a signed webhook; the fulfillment task is sent to Lambda."""
        order = self.order()
        intent = intent_pay(self.stack, order["payment"]["payment_intent_id"])
        payload = json.dumps(event_build("payment_intent.succeeded", intent))
        self.emulator.requests_clear()
        signature = stripe_signature(payload, self.stack.secrets.stripe_webhook_secret)
        answer = _one(self.runtime, rest_event("POST", "/webhooks/stripe", body=payload,
                      headers={"Content-Type": "application/json", "Stripe-Signature": signature}))  # fmt: skip
        _check(
            answer["statusCode"] == 200,
            f"the webhook answered {answer['statusCode']}: {answer.get('body')}",
        )
        _check(
            self.order_status(order["order_id"]) == "paid",
            "the order is not paid after the webhook",
        )
        invokes = [
            r for r in _role_calls(self.emulator, self.role)
            if r["service"] == "lambda" and r["path"].endswith(f"/functions/{FUNCTION}/invocations")
        ]  # fmt: skip
        # Two tasks: the fulfillment attempt and the confirmation e-mail's send.
        _check(
            [r.get("status") for r in invokes] == [202, 202],
            f"the async tasks were not accepted by Lambda: {[r.get('status') for r in invokes]}",
        )
        return order["order_id"]

    def sweep(self) -> None:
        """The async invocations ran nothing (as if Lambda dropped them): the sweep fulfills,
        sends the buyer's e-mails (SES, from our identity) and drains the bounce queue."""
        order_id = self.paid_order()
        rule = f"{FUNCTION}-fulfillment-sweep-orders.jobs.fulfillment_sweep"
        _one(self.runtime, scheduled_event(rule))
        _check(
            self.order_status(order_id) == "fulfilled", "the sweep did not fulfill the paid order"
        )

    def expiry(self) -> None:
        order = self.order()
        _one(self.runtime, scheduled_event(f"{FUNCTION}-expire-orders-orders.jobs.orders_expire"))
        _check(self.order_status(order["order_id"]) == "pending_payment", "expired too early")
        _one(self.runtime, {"manage": "expire_orders --older-than-minutes 0"})
        _check(
            self.order_status(order["order_id"]) == "canceled", "expire_orders did not cancel it"
        )

    def reconcile(self) -> None:
        """Paid in Stripe, no webhook ever: the reconciliation (scheduled, and by hand) pays it."""
        order = self.order()
        intent_pay(self.stack, order["payment"]["payment_intent_id"])
        rule = f"{FUNCTION}-reconcile-payments-payments.jobs.payments_reconcile"
        _one(self.runtime, scheduled_event(rule))  # the order is too fresh for the schedule
        _check(self.order_status(order["order_id"]) == "pending_payment", "reconciled too early")
        _one(self.runtime, {"manage": "reconcile_payments --older-than-minutes 0"})
        _check(
            self.order_status(order["order_id"]) in {"paid", "fulfilled"},
            "reconcile_payments did not pay the order paid in Stripe",
        )

    def management(self) -> None:
        """The commands docs/deploy.md tells operators to run in Lambda."""
        for command in (
            "create_tables --check",
            "create_tables",
            "daily_totals_rebuild --days 2",
            "sweep_fulfillment",
        ):
            result = self.runtime.invoke({"manage": command})
            _check(result.errors == [None], f"manage {command}: {result.errors}")
            _check("AccessDenied" not in result.output and " 403" not in result.output,
                   f"manage {command}: {result.output[-1500:]}")  # fmt: skip

    def staff(self) -> StaffBrowser:
        """An admin signed in to the back office (its second factor set up at the first
        sign-in), kept for the flows after: its session lives in the back-office table."""
        if self._staff is None:
            self._staff = self._sign_in()
        return self._staff

    def _sign_in(self) -> StaffBrowser:
        login = _one(
            self.backoffice, rest_event("GET", "/admin/login/", headers={"Accept": "text/html"})
        )
        _check(login["statusCode"] == 200, f"login page: {login['statusCode']}")
        cookies = SimpleCookie()
        _cookies_take(cookies, login)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login["body"]).group(1)
        form = urlencode(
            {
                "username": "rehearsal-admin",
                "password": ADMIN_PASSWORD,
                "csrfmiddlewaretoken": token,
                "next": "/admin/",
            }
        )
        signed_in = _one(self.backoffice, rest_event("POST", "/admin/login/", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(cookies),
            "Referer": self.applied["admin_url"] + "/admin/login/", "Origin": self.applied["admin_url"],
            "Accept": "text/html"}))  # fmt: skip
        _check(
            signed_in["statusCode"] == 302,
            f"sign-in answered {signed_in['statusCode']}: {signed_in.get('body', '')[:500]}",
        )
        _cookies_take(cookies, signed_in)
        location = (signed_in.get("headers") or {}).get("Location") or (
            signed_in.get("multiValueHeaders", {}).get("Location") or [""]
        )[0]
        if location.endswith("/admin/login/enroll/"):
            # An admin signs in with a second factor (issue 29): set up the app's code, as the
            # first sign-in does, under the role (the factor's items in the back-office table).
            enroll = _one(self.backoffice, rest_event("GET", "/admin/login/enroll/", headers={
                "Accept": "text/html", "Cookie": _cookie_header(cookies)}))  # fmt: skip
            _check(enroll["statusCode"] == 200, f"enroll page: {enroll['statusCode']}")
            secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', enroll["body"])
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', enroll["body"])
            _check(bool(secret and token), f"enroll page: {enroll['body'][:500]}")
            import pyotp

            form = urlencode({"code": pyotp.TOTP(secret.group(1)).now(),
                              "csrfmiddlewaretoken": token.group(1)})  # fmt: skip
            enrolled = _one(self.backoffice, rest_event("POST", "/admin/login/enroll/", body=form, headers={
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(cookies),
                "Referer": self.applied["admin_url"] + "/admin/login/enroll/",
                "Origin": self.applied["admin_url"], "Accept": "text/html"}))  # fmt: skip
            _check(
                enrolled["statusCode"] == 200 and "recovery-codes" in enrolled.get("body", ""),
                f"enrollment answered {enrolled['statusCode']}: {enrolled.get('body', '')[:500]}",
            )
            _cookies_take(cookies, enrolled)
        return StaffBrowser(self.backoffice, self.applied["admin_url"], cookies)

    def admin(self) -> None:
        """In the back office: sign in, the index, the order list, its searches (each index
        under its role), the dashboard and the needs-attention queue."""
        self._staff = None  # a fresh sign-in each time (the statement-removal test reruns it)
        staff = self.staff()
        orders = "/admin/orders/order/"
        for path, query in (
            ("/admin/", None),
            (orders, None),
            (orders, {"q": "ada"}),
            (orders, {"q": "ada@exa"}),
            (orders, {"q": "BEEC37D0"}),
            (orders, {"q": "ch_rehearsal", "status": "paid"}),
            ("/admin/orders/customer/", {"q": "lovelace"}),
            ("/admin/dashboard/", None),
            ("/admin/attention/", None),
        ):
            page = staff.get(path, query)
            _check(page.status_code == 200, f"{path} {query} answered {page.status_code}")

    def staff_retry_and_refund(self) -> None:
        """Staff's work that moves state and money, in the back office under its role: an
        order whose fulfillment the vendor refused is retried from its page (the attempt is an
        asynchronous task of the back office's own function, run here as Lambda would run
        it), then refunded in full through Stripe with the key that may refund."""
        from tests.admin_forms import act, action_form, page_form
        from tests.vendor import vendor_behave

        order_id = self.paid_order()
        vendor_behave(self.stack, "reject", times=1)
        _one(
            self.runtime,
            scheduled_event(f"{FUNCTION}-fulfillment-sweep-orders.jobs.fulfillment_sweep"),
        )
        _check(
            self.order_status(order_id) == "fulfillment_failed", "the vendor's refusal was not kept"
        )
        staff, url = self.staff(), f"/admin/orders/order/{order_id}/"
        retried = act(staff, url, "retry_fulfillment")
        _check(retried.status_code == 302, f"retry answered {retried.status_code}")
        invokes = [
            r for r in _role_calls(self.emulator, self.backoffice_role)
            if r["service"] == "lambda"
            and r["path"].endswith(f"/functions/{BACKOFFICE_FUNCTION}/invocations")
        ]  # fmt: skip
        _check([r.get("status") for r in invokes] == [202],
               f"the retried attempt was not accepted by Lambda: {[r.get('status') for r in invokes]}")  # fmt: skip
        _one(self.backoffice, {
            "command": "zappa.asynchronous.route_lambda_task", "capture_response": False,
            "task_path": "orders.services.fulfillment.dispatch.fulfillment_attempt_task",
            "args": [], "kwargs": {"order_id": order_id}})  # fmt: skip
        _check(self.order_status(order_id) == "fulfilled", "the retried attempt did not fulfill")
        button = action_form(staff, url, "refund")
        refund_url = f"{url}action/refund/"
        confirmation = staff.post(refund_url, {**button, "amount": ""})
        _check(confirmation.status_code == 200, f"refund form answered {confirmation.status_code}")
        yes = page_form(confirmation.content.decode(), "action-confirm")
        done = staff.post(
            refund_url, {**yes, "reason": "requested_by_customer", "note": "rehearsal"}
        )
        _check(
            done.status_code == 302,
            f"the refund answered {done.status_code}: {done.content[:300]!r}",
        )
        _check(self.order_status(order_id) == "refunded", "the staff refund did not refund")
        # The refund's e-mail, sent by this function's task (routed by hand: moto runs none).
        total = response_json(_one(self.runtime, api_event("GET", f"/orders/{order_id}")))[
            "total_amount"
        ]
        _one(self.backoffice, {
            "command": "zappa.asynchronous.route_lambda_task", "capture_response": False,
            "task_path": "orders.services.buyer_mail.buyer_email_send_task",
            "args": [], "kwargs": {"order_id": order_id, "sk": f"refund#{total}"}})  # fmt: skip

    # What Lambda itself does with each role, which moto cannot run: ship the function's logs,
    # send traces (xray_tracing), put a failed async event in the dead-letter queue.
    def _platform_logs(self, function: str, role: dict[str, str]) -> None:
        logs = _client("logs", self.emulator.url, role)
        stream = f"2026/11/25/[$LATEST]{uuid.uuid4().hex}"
        try:
            logs.create_log_stream(logGroupName=f"/aws/lambda/{function}", logStreamName=stream)
            logs.put_log_events(logGroupName=f"/aws/lambda/{function}", logStreamName=stream,
                                logEvents=[{"timestamp": int(time.time() * 1000), "message": "START"}])  # fmt: skip
        except ClientError as error:
            raise FlowFailed(f"logs: {error}") from None

    def _platform_xray(self, function: str, role: dict[str, str]) -> None:
        xray = _client("xray", self.emulator.url, role)
        segment = {"name": function, "id": uuid.uuid4().hex[:16], "trace_id": f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
                   "start_time": time.time(), "end_time": time.time()}  # fmt: skip
        try:
            xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
        except ClientError as error:
            raise FlowFailed(f"xray: {error}") from None

    def _platform_dead_letter(self, role: dict[str, str]) -> None:
        sqs = _client("sqs", self.emulator.url, role)
        queue = self.applied["async_failure_queue_arn"].rsplit(":", 1)[-1]
        url = f"{self.emulator.url}/123456789012/{queue}"
        try:
            sqs.send_message(
                QueueUrl=url,
                MessageBody=json.dumps(
                    {"task_path": "orders.services.fulfillment.fulfillment_attempt_task"}
                ),
            )
        except ClientError as error:
            raise FlowFailed(f"sqs: {error}") from None

    def platform_logs(self) -> None:
        self._platform_logs(FUNCTION, self.role)

    def platform_xray(self) -> None:
        self._platform_xray(FUNCTION, self.role)

    def platform_dead_letter(self) -> None:
        self._platform_dead_letter(self.role)

    def backoffice_platform_logs(self) -> None:
        self._platform_logs(BACKOFFICE_FUNCTION, self.backoffice_role)

    def backoffice_platform_xray(self) -> None:
        self._platform_xray(BACKOFFICE_FUNCTION, self.backoffice_role)

    def backoffice_platform_dead_letter(self) -> None:
        self._platform_dead_letter(self.backoffice_role)

    def all(self) -> list[str]:
        return [
            "platform_logs",
            "platform_xray",
            "platform_dead_letter",
            "health",
            "catalog",
            "expiry",
            "reconcile",
            "sweep",
            "management",
            "backoffice_platform_logs",
            "backoffice_platform_xray",
            "backoffice_platform_dead_letter",
            "admin",
            "staff_retry_and_refund",
        ]


ADMIN_PASSWORD = "rehearsal " + uuid.uuid4().hex


@pytest.fixture(scope="module")
def flows(
    runtime,
    backoffice_runtime,
    emulator,
    operator,
    role_credentials,
    backoffice_credentials,
    role_policy,
    backoffice_policy,
    applied,
    local_stack,
    deployed,
    deploy_credentials,
) -> Flows:
    # The first staff account, as docs/deploy.md says: createstaff from the operator's machine.
    env = {
        **{k: v for k, v in local_stack.environment().items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": emulator.url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        **operator, "STAGE": STAGE, "PROJECT_NAME": PROJECT,
    }  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "createstaff", "--username", "rehearsal-admin", "--email",
         "admin@example.com", "--role", "admin", "--password-stdin"],
        input=ADMIN_PASSWORD, text=True, cwd=build.ROOT, env={**__import__("os").environ, **env},
        check=True, capture_output=True,
    )  # fmt: skip
    _enforce(emulator, operator, role_policy)
    _enforce(emulator, operator, backoffice_policy)
    # IAM enforced from here on, for every request (operator and roles alike).
    emulator.post("/moto-api/reset-auth", b"0")
    with pytest.raises(ClientError):  # an unknown key is refused
        _client(
            "sts", emulator.url, {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
        ).get_caller_identity()
    return Flows(runtime, emulator, operator, role_credentials, applied, local_stack,
                 backoffice_runtime, backoffice_credentials)  # fmt: skip


# Each flow's requests signed by each role, from the test below (for the tests after it):
# flow -> role ("public", "backoffice") -> calls.
_RECORDED: dict[str, dict[str, list[dict[str, Any]]]] = {}


def _recorded(role: str) -> dict[str, list[dict[str, Any]]]:
    return {flow: calls[role] for flow, calls in _RECORDED.items() if calls[role]}


def test_each_flow_meets_no_access_denied_under_its_functions_role(
    flows, emulator, role_credentials, backoffice_credentials
):
    emulator.requests_clear()
    failures = {}
    calls: list[dict[str, Any]] = []
    for name in flows.all():
        try:
            getattr(flows, name)()
        except FlowFailed as error:
            failures[name] = str(error)
        _RECORDED[name] = {
            "public": _role_calls(emulator, role_credentials),
            "backoffice": _role_calls(emulator, backoffice_credentials),
        }
        calls += [c for role_calls in _RECORDED[name].values() for c in role_calls]
        emulator.requests_clear()

    refused = [c for c in calls if c.get("status") == 403]
    assert (failures, refused) == ({}, [])
    # Each function did its own work: staff's under the back office's role only.
    assert _RECORDED["admin"]["public"] == [] and _RECORDED["admin"]["backoffice"]
    assert _RECORDED["catalog"]["backoffice"] == []


Authorised = tuple[str, str, tuple[str, ...] | None]


def _call_resources(call: dict[str, Any], applied: dict[str, Any]) -> list[Authorised]:
    """(IAM action, resource ARN, partition keys) one recorded request is authorised on; the
    keys (``dynamodb:LeadingKeys``) only where the request names them (None: not known)."""
    account = applied["public_role_arn"].split(":")[4]
    base = f"{REGION}:{account}"
    fields, action = call["fields"], call["action"]
    service = call["service"]

    def keys(value: Any) -> tuple[str, ...] | None:
        return tuple(value) if value is not None else None

    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{base}:table/"
        if action == "TransactWriteItems":
            names = {
                "ConditionCheck": "ConditionCheckItem",
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
            }
            return [
                (f"dynamodb:{names[op]}", table + spec["TableName"], keys(spec.get("LeadingKeys")))
                for item in fields["TransactItems"]
                for op, spec in item.items()
            ]
        if action == "TransactGetItems":
            return [
                ("dynamodb:GetItem", table + spec["TableName"], keys(spec.get("LeadingKeys")))
                for item in fields["TransactItems"]
                for spec in item.values()
            ]
        if "Tables" in fields:
            leading = fields.get("TableLeadingKeys", {})
            return [
                (f"dynamodb:{action}", table + name, keys(leading.get(name)))
                for name in fields["Tables"]
            ]
        resource = table + fields["TableName"]
        if fields.get("IndexName"):
            resource += f"/index/{fields['IndexName']}"
        return [(f"dynamodb:{action}", resource, keys(fields.get("LeadingKeys")))]
    if service == "secretsmanager":
        arns = {
            applied[output].rsplit("-", 1)[0].rsplit(":", 1)[-1]: applied[output]
            for output in ("stripe_secret_arn", "stripe_backoffice_secret_arn", "app_secret_arn")
        }
        secret = fields["SecretId"]
        return [(f"secretsmanager:{action}", arns.get(secret, secret), None)]
    if service == "ssm":
        return [(f"ssm:{action}", f"arn:aws:ssm:{base}:parameter{fields['Path']}", None)]
    if service == "lambda":
        name = re.search(r"/functions/([^/]+)/invocations", call["path"]).group(1)
        return [("lambda:InvokeFunction", f"arn:aws:lambda:{base}:function:{name}", None)]
    if service == "sqs":
        queue = fields["QueueUrl"].rsplit("/", 1)[-1]
        return [(f"sqs:{action}", f"arn:aws:sqs:{base}:{queue}", None)]
    if service == "logs":
        group, stream = fields["logGroupName"], fields["logStreamName"]
        return [
            (f"logs:{action}", f"arn:aws:logs:{base}:log-group:{group}:log-stream:{stream}", None)
        ]
    if service == "xray":
        return [("xray:PutTraceSegments", "*", None)]
    if service in ("ses", "sesv2"):  # SESv2 SendEmail: authorised on the identity and the set
        sender = re.search(r"<?([^<>\s]+@[^<>\s]+)>?$", fields.get("FromEmailAddress", ""))
        return [
            ("ses:SendEmail", f"arn:aws:ses:{base}:identity/{sender.group(1) if sender else '?'}", None),
            ("ses:SendEmail", f"arn:aws:ses:{base}:configuration-set/{fields.get('ConfigurationSetName', '?')}", None),
        ]  # fmt: skip
    return [(f"{service}:{action}", "?", None)]


def _denied(policy: dict[str, Any], calls: list[dict[str, Any]], applied) -> list[Authorised]:
    return sorted(
        {triple for call in calls for triple in _call_resources(call, applied)
         if not stage.policy_allows(policy, *triple)},
        key=str,
    )  # fmt: skip


def test_every_call_each_function_made_is_within_its_roles_real_resources(
    flows, role_policy, backoffice_policy, applied
):
    """moto checked the actions; here each (action, resource, partition keys) recorded is
    evaluated against the real policy of the role that made it (resources and conditions as
    apply created them)."""
    if not _RECORDED:
        pytest.skip("needs the flows of the test above")
    for role, policy in (("public", role_policy), ("backoffice", backoffice_policy)):
        calls = [call for recorded in _recorded(role).values() for call in recorded]
        assert calls, role
        assert _denied(policy["policy"], calls, applied) == [], role
    # The table's resources really are narrow: another stage's table is not allowed.
    assert not stage.policy_allows(
        backoffice_policy["policy"],
        "dynamodb:GetItem",
        f"arn:aws:dynamodb:{REGION}:123456789012:table/{PROJECT}-dev-orders",
    )


# --- The public role is refused the back office's work -------------------------------------
# What the back office's flows really did (recorded above), evaluated against the public role's
# real policy: each is denied. moto cannot refuse these itself (it matches no DynamoDB or
# Secrets Manager resource and no condition: stage.py, substitution 6), so the evaluator of
# stage.py decides, on the exact requests.


def _backoffice_calls(applied, *, where: Any) -> list[Authorised]:
    calls = [call for recorded in _recorded("backoffice").values() for call in recorded]
    return [t for call in calls for t in _call_resources(call, applied) if where(t)]


def _backoffice_table(triple: Authorised) -> bool:
    return triple[1].split("/")[1] == f"{TABLE_PREFIX}backoffice" if "/" in triple[1] else False


def _keys_start(triple: Authorised, *prefixes: str) -> bool:
    return bool(triple[2]) and all(k.startswith(prefixes) for k in triple[2])


@pytest.mark.parametrize(
    "what, prefixes",
    [
        ("staff accounts and second factors", ("STAFF#",)),
        ("sessions", ("SESSION#",)),
        ("sign-in counters", ("SIGNIN#",)),
    ],
)
def test_the_public_role_cannot_touch_staff_data(what, prefixes, flows, role_policy, applied):
    if not _RECORDED:
        pytest.skip("needs the flows of the test above")
    tried = _backoffice_calls(
        applied, where=lambda t: _backoffice_table(t) and _keys_start(t, *prefixes)
    )

    assert tried, f"the back office's flows made no request on {what}"
    assert [t for t in tried if stage.policy_allows(role_policy["policy"], *t)] == []


def test_the_public_role_cannot_read_the_audit_log(flows, role_policy, applied):
    """Staff read an order's history (its AUDIT# partition) and their recent actions (gsi1):
    the public role may put entries, never read one."""
    if not _RECORDED:
        pytest.skip("needs the flows of the test above")
    reads = _backoffice_calls(
        applied,
        where=lambda t: (
            _backoffice_table(t)
            and t[0] in {"dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"}
            and (_keys_start(t, "AUDIT#") or "/index/" in t[1])
        ),
    )

    assert reads, "the back office read no audit entry"
    assert [t for t in reads if stage.policy_allows(role_policy["policy"], *t)] == []
    appended = (
        "dynamodb:PutItem",
        f"{_table_arn(applied, 'backoffice')}",
        ("AUDIT#orders.order#x",),
    )
    assert stage.policy_allows(role_policy["policy"], *appended) == ["AppendAuditEntries"]


def test_the_public_role_cannot_read_the_refund_key_or_run_the_back_office(
    flows, role_policy, backoffice_runtime, applied
):
    """The staff refund read the back office's Stripe key and the retry invoked the back
    office's function: both denied to the public role, whose function has no admin at all."""
    if not _RECORDED:
        pytest.skip("needs the flows of the test above")
    key_reads = _backoffice_calls(
        applied, where=lambda t: t[1] == applied["stripe_backoffice_secret_arn"]
    )
    invokes = _backoffice_calls(
        applied,
        where=lambda t: t[0] == "lambda:InvokeFunction" and t[1].endswith(BACKOFFICE_FUNCTION),
    )

    assert key_reads and invokes
    assert [t for t in key_reads + invokes if stage.policy_allows(role_policy["policy"], *t)] == []
    public_answer = _one(
        flows.runtime, rest_event("GET", "/admin/login/", headers={"Accept": "text/html"})
    )
    assert public_answer["statusCode"] == 404


def _table_arn(applied, name: str) -> str:
    account = applied["public_role_arn"].split(":")[4]
    return f"arn:aws:dynamodb:{REGION}:{account}:table/{TABLE_PREFIX}{name}"


# Which flow shows each statement is needed, per role (the test tries the recorded calls
# first, then, if they cannot tell, the flow under the policy without it in moto).
FIRST_FLOW = {
    "public": {
        "WriteOwnLogs": "platform_logs",
        "XRayTracing": "platform_xray",
        "DeadLetterFailedAsyncTasks": "platform_dead_letter",
        "InvokeSelfForAsyncTasks": "paid_order",
        "ReadWriteOrderTables": "expiry",
        "QueryOrderIndexes": "catalog",
        "CheckTheTables": "management",
        "ApiItemsOfTheBackOfficeTable": "paid_order",
        "AppendAuditEntries": "expiry",
        "ReadOwnSecrets": "expiry",
        "ReadOwnParameters": "paid_order",
        "SendBuyersEmailFromOurIdentityOnly": "sweep",
        "QueueOfBuyersEmail": "sweep",
        "DrainEmailBounces": "sweep",
    },
    "backoffice": {
        "WriteOwnLogs": "backoffice_platform_logs",
        "XRayTracing": "backoffice_platform_xray",
        "DeadLetterFailedAsyncTasks": "backoffice_platform_dead_letter",
        "InvokeSelfForAsyncTasks": "staff_retry_and_refund",
        "ReadWriteTableItems": "admin",
        "QueryIndexes": "admin",
        "ReadOwnSecrets": "admin",
        "ReadOwnParameters": "staff_retry_and_refund",
        "SendBuyersEmailFromOurIdentityOnly": "staff_retry_and_refund",
    },
}


@pytest.mark.parametrize("role", ["public", "backoffice"])
def test_removing_any_one_statement_makes_a_flow_fail(
    role, flows, emulator, operator, role_policy, backoffice_policy, applied
):
    """Each statement of either policy is needed, shown two ways: the real policy without it
    denies a call some flow of its function made (resources and conditions as in AWS), or,
    where that cannot tell (two statements granting the same call), with it removed in moto
    (actions enforced) its flow fails."""
    if not _RECORDED:
        pytest.skip("needs the flows of the test above")
    role_and_policy = {"public": role_policy, "backoffice": backoffice_policy}[role]
    policy = role_and_policy["policy"]
    statements = [s["Sid"] for s in policy["Statement"]]
    assert set(statements) == set(FIRST_FLOW[role]), "a statement without a flow that needs it"
    shown: dict[str, list[str]] = {}
    try:
        for sid in statements:
            without = {**policy, "Statement": [s for s in policy["Statement"] if s["Sid"] != sid]}
            for flow, calls in _recorded(role).items():
                denied = _denied(without, calls, applied)
                if denied:
                    shown.setdefault(sid, []).append(f"{flow} makes {denied[0]}, denied without it")
                    break
            if sid in shown:
                continue
            _enforce(emulator, operator, role_and_policy, drop=(sid,))
            try:
                getattr(flows, FIRST_FLOW[role][sid])()
            except FlowFailed as error:
                shown.setdefault(sid, []).append(
                    f"enforced: {FIRST_FLOW[role][sid]} fails ({str(error)[:120]})"
                )
            finally:
                _enforce(emulator, operator, role_and_policy)
    finally:
        _enforce(emulator, operator, role_and_policy)
    for sid, evidence in shown.items():
        print(f"{role} without {sid}: {'; '.join(evidence)}")

    assert sorted(set(statements) - set(shown)) == []


# --- 5. Day two: logging, update, rollback, restore (docs/runbook.md), IAM still enforced ------


def _operator_run(
    deployed, *args: str, credentials: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """A ``python -m deploy`` step as the operator (or, with ``credentials``, the pipeline)
    runs it, from the project's copy."""
    env = {**__import__("os").environ, **deployed["aws_env"], **(credentials or {})}
    return subprocess.run(
        [sys.executable, "-m", "deploy", *args, "--stage", STAGE,
         "--project-dir", str(deployed["project"])],
        cwd=build.ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _zappa(deployed, *args: str, credentials: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(build.DEPLOY_VENV / "bin/zappa"), *args],
        cwd=deployed["project"], env={**deployed["zappa_env"], **credentials},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _reached_touch(result: subprocess.CompletedProcess) -> None:
    """Zappa's last step GETs the real execute-api host (see the deploy test): every step
    before it must have worked."""
    if result.returncode != 0:
        output = result.stdout + result.stderr
        assert "touch_endpoint" in output and "NameResolutionError" in output, output[-6000:]


def _what_lambda_runs(
    emulator, operator, role_credentials, local_stack, root
) -> tuple[Flows, dict]:
    """The code and configuration the function holds now (GetFunction's code location, the
    configuration's variables), run in the Lambda model under the role: what a request, a
    schedule or an async task would run."""
    import urllib.request

    function = _client("lambda", emulator.url, operator).get_function(FunctionName=FUNCTION)
    root.mkdir(parents=True)
    with urllib.request.urlopen(function["Code"]["Location"], timeout=60) as response:
        (root / "code.zip").write_bytes(response.read())
    configuration = function["Configuration"]
    environment = {
        **configuration["Environment"]["Variables"], **role_credentials,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": emulator.url, "STRIPE_API_BASE": local_stack.stripe_url,
    }  # fmt: skip
    runtime = LambdaRuntime(
        task_dir=package_unpack(root / "code.zip", root / "task"),
        runtime_dir=runtime_standin(root / "runtime"),
        environment=environment,
        handler=configuration["Handler"],
    )
    return runtime, configuration


def _smoke(runtime, emulator, operator, role_credentials, applied, local_stack) -> dict[str, Any]:
    """The pipeline's smoke test (deploy/smoke.py: /health, the catalog, a test-mode order),
    its requests sent through the Lambda model instead of CloudFront."""
    Flows(runtime, emulator, operator, role_credentials, applied, local_stack).ticket_type()

    def send(method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        answer = _one(runtime, api_event(method, path, body, headers=headers))
        return answer["statusCode"], response_json(answer) if answer.get("body") else None

    seen = smoke(send, order=True)
    return seen["health"]


@pytest.fixture(scope="module")
def released(flows, deployed, emulator, operator) -> dict[str, Any]:
    """After the first deploy, as docs/deploy.md says: the API's logging, then the release."""
    logging = _operator_run(
        deployed, "api-logging", "--terraform-output", str(deployed["outputs_file"])
    )
    assert logging.returncode == 0, logging.stderr[-3000:]
    first = _operator_run(deployed, "release", "--note", "first deploy")
    assert first.returncode == 0, first.stderr[-3000:]
    return json.loads(first.stdout)


def test_the_api_logs_json_access_lines_and_errors_only_through_the_accounts_role(
    released, applied, emulator, operator
):
    apigateway = _client("apigateway", emulator.url, operator)
    (api,) = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == FUNCTION]
    stage_ = apigateway.get_stage(restApiId=api["id"], stageName=STAGE)
    access = stage_["accessLogSettings"]
    assert access["destinationArn"] == applied["api_access_log_group_arn"]
    line = json.loads(access["format"])  # one JSON object per request
    assert {"requestId", "status", "responseLatency", "httpMethod", "path"} <= set(line)
    assert not [v for v in line.values() if "sourceIp" in v or "userAgent" in v]
    settings = stage_["methodSettings"]["*/*"]
    assert (settings["loggingLevel"], settings["dataTraceEnabled"]) == ("ERROR", False)
    logs = _client("logs", emulator.url, operator)
    groups = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
    assert groups[f"/aws/apigateway/{FUNCTION}/access"]["retentionInDays"] == 90
    assert groups[f"API-Gateway-Execution-Logs_{api['id']}/{STAGE}"]["retentionInDays"] == 90
    role = apigateway.get_account()["cloudwatchRoleArn"]
    assert role.endswith(f"role/{FUNCTION}-apigateway-cloudwatch")


def test_the_trail_and_the_tables_backups_are_in_place(applied, emulator, operator):
    trail = _client("cloudtrail", emulator.url, operator).get_trail(Name=f"{FUNCTION}-trail")[
        "Trail"
    ]
    assert trail["S3BucketName"] == applied["cloudtrail_bucket"]
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]
    kms = _client("kms", emulator.url, operator)
    assert kms.describe_key(KeyId=trail["KmsKeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    s3 = _client("s3", emulator.url, operator)
    (rule,) = s3.get_bucket_encryption(Bucket=applied["cloudtrail_bucket"])[
        "ServerSideEncryptionConfiguration"]["Rules"]  # fmt: skip
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == trail["KmsKeyId"]
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=applied["cloudtrail_bucket"])[
        "Rules"
    ]
    assert lifecycle["Expiration"]["Days"] == 365
    backup = _client("backup", emulator.url, operator)
    vault = backup.describe_backup_vault(BackupVaultName=applied["backup_vault_name"])
    assert vault["EncryptionKeyArn"] != trail["KmsKeyId"]  # a key of its own
    (plan,) = [p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == f"{FUNCTION}-tables-daily"]  # fmt: skip
    (rule,) = backup.get_backup_plan(BackupPlanId=plan["BackupPlanId"])["BackupPlan"]["Rules"]
    assert (rule["TargetBackupVaultName"], rule["Lifecycle"]["DeleteAfterDays"]) == (
        applied["backup_vault_name"],
        35,
    )
    (selection,) = backup.list_backup_selections(BackupPlanId=plan["BackupPlanId"])[
        "BackupSelectionsList"
    ]
    chosen = backup.get_backup_selection(
        BackupPlanId=plan["BackupPlanId"], SelectionId=selection["SelectionId"]
    )
    assert sorted(chosen["BackupSelection"]["Resources"]) == sorted(applied["table_arns"].values())


UPDATE_MARK = "update-rehearsal"


@pytest.fixture(scope="module")
def updated(
    released,
    deployed,
    emulator,
    operator,
    role_credentials,
    local_stack,
    applied,
    deploy_credentials,
):
    """`zappa update prod` with a code change (/health says which release) and a configuration
    change (memory, a Lambda variable), then the release step; what Lambda runs is smoked."""
    project = deployed["project"]
    before = _client("lambda", emulator.url, operator).get_function_configuration(
        FunctionName=FUNCTION
    )
    views = project / "tickets" / "views.py"
    source = views.read_text()
    assert 'JsonResponse({"status": "ok"})' in source
    views.write_text(
        source.replace(
            'JsonResponse({"status": "ok"})',
            f'JsonResponse({{"status": "ok", "release": "{UPDATE_MARK}"}})',
        )
    )
    settings_path = project / "zappa_settings.json"
    zappa_settings = json.loads(settings_path.read_text())
    zappa_settings[STAGE]["memory_size"] = 2048
    zappa_settings[STAGE]["aws_environment_variables"]["CONFIG_CACHE_SECONDS"] = "60"
    settings_path.write_text(json.dumps(zappa_settings, indent=4))
    # As the pipeline and the runbook run it: the package built first (offline, no AWS), then
    # `zappa update --zip` under the deploy role (its actions enforced).
    package = deployed["root"] / "update.zip"
    built = _zappa(deployed, "package", STAGE, "--output", str(package), credentials={})
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    started = time.monotonic()
    emulator.requests_clear()
    update = _zappa(
        deployed, "update", STAGE, "--zip", str(package), credentials=deploy_credentials
    )
    refused = sorted(
        {(r["service"], r["action"] or r["method"], r["path"][:60]) for r in emulator.requests()
         if r.get("status") == 403}
    )  # fmt: skip
    assert refused == [], refused
    print(f"zappa update: {time.monotonic() - started:.0f} s")
    _reached_touch(update)
    second = _operator_run(
        deployed, "release", "--note", UPDATE_MARK, credentials=deploy_credentials
    )
    assert second.returncode == 0, second.stderr[-3000:]
    runtime, configuration = _what_lambda_runs(
        emulator, operator, role_credentials, local_stack, deployed["root"] / "after-update"
    )
    health = _smoke(runtime, emulator, operator, role_credentials, applied, local_stack)
    return {
        "before": before,
        "configuration": configuration,
        "health": health,
        "release": json.loads(second.stdout),
    }


def test_zappa_update_ships_the_code_and_configuration_change(updated, released):
    assert updated["health"] == {"status": "ok", "release": UPDATE_MARK}
    configuration = updated["configuration"]
    assert configuration["MemorySize"] == 2048
    assert configuration["Environment"]["Variables"]["CONFIG_CACHE_SECONDS"] == "60"
    assert int(updated["release"]["version"]) > int(released["version"])


def test_rollback_restores_the_previous_releases_code_and_configuration(
    updated,
    released,
    deployed,
    emulator,
    operator,
    role_credentials,
    local_stack,
    applied,
    deploy_credentials,
):
    started = time.monotonic()
    result = _operator_run(deployed, "rollback", credentials=deploy_credentials)
    print(f"rollback: {time.monotonic() - started:.0f} s\n{result.stdout[-1500:]}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert (report["from"], report["to"]) == (updated["release"]["version"], released["version"])
    runtime, configuration = _what_lambda_runs(
        emulator, operator, role_credentials, local_stack, deployed["root"] / "after-rollback"
    )
    health = _smoke(runtime, emulator, operator, role_credentials, applied, local_stack)

    assert health == {"status": "ok"}  # the first release's code
    before = updated["before"]
    assert configuration["MemorySize"] == before["MemorySize"] == 1024
    assert configuration["Environment"] == before["Environment"]  # CONFIG_CACHE_SECONDS 300 again
    for key in ("Timeout", "Role", "Handler", "Runtime", "TracingConfig"):
        assert configuration[key] == before[key], key
    lambda_client = _client("lambda", emulator.url, operator)
    alias = lambda_client.get_alias(FunctionName=FUNCTION, Name="live")
    assert alias["FunctionVersion"] == report["release"]
    published = lambda_client.get_function_configuration(
        FunctionName=FUNCTION, Qualifier=report["release"]
    )
    assert published["Environment"] == before["Environment"] and published["MemorySize"] == 1024


def _manage(
    deployed, local_stack, emulator, operator, stage_name: str, *args: str
) -> subprocess.CompletedProcess:
    """A maintenance command from the operator's machine, as docs/runbook.md runs it."""
    env = {
        **{k: v for k, v in local_stack.environment().items() if not k.startswith("AWS_")},
        "AWS_ENDPOINT_URL": emulator.url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
        **operator, "STAGE": stage_name, "PROJECT_NAME": PROJECT,
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=build.ROOT,
        env={**__import__("os").environ, **env}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_restore_drill_restores_every_table_to_one_time_and_checks_it(
    updated, deployed, local_stack, emulator, operator
):
    """After the flows above (orders paid, fulfilled, canceled, an order paid by the
    reconciliation), the tables restored into new ones hold the same counts and every
    invariant; a restored copy with a payment missing is caught."""
    live = _manage(deployed, local_stack, emulator, operator, STAGE, "restore_check", "--json")
    assert live.returncode == 0, live.stdout[-2000:] + live.stderr[-2000:]
    live_report = json.loads(live.stdout.strip().splitlines()[-1])
    started = time.monotonic()
    drill = _manage(
        deployed, local_stack, emulator, operator, STAGE, "restore_tables", "--suffix", "rdrill"
    )
    print(f"restore drill: {time.monotonic() - started:.0f} s\n{drill.stdout[-1500:]}")
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-3000:]
    report = json.loads(drill.stdout.strip().splitlines()[-1])

    assert report["problems"] == []
    assert report["counts"] == live_report["counts"]
    assert report["counts"]["orders"] > 0 and report["counts"]["payments"] > 0
    dynamodb = _client("dynamodb", emulator.url, operator)
    for name in report["counts"]:
        source = dynamodb.describe_table(TableName=f"{TABLE_PREFIX}{name}")["Table"]
        copy = dynamodb.describe_table(TableName=f"{TABLE_PREFIX}rdrill-{name}")["Table"]
        assert copy["KeySchema"] == source["KeySchema"], name
        assert {i["IndexName"] for i in copy.get("GlobalSecondaryIndexes", [])} == {
            i["IndexName"] for i in source.get("GlobalSecondaryIndexes", [])
        }, name

    # The check can fail: the restored copy loses a succeeded payment.
    payments = dynamodb.scan(TableName=f"{TABLE_PREFIX}rdrill-payments")["Items"]
    (paid, *_) = [p for p in payments if p["status"]["S"] == "succeeded"]
    dynamodb.delete_item(TableName=f"{TABLE_PREFIX}rdrill-payments",
                         Key={"payment_id": paid["payment_id"], "created_at": paid["created_at"]})  # fmt: skip
    broken = _manage(deployed, local_stack, emulator, operator, f"{STAGE}-rdrill", "restore_check")
    assert broken.returncode == 1
    assert f"without its payment {paid['payment_id']['S']}" in broken.stdout
