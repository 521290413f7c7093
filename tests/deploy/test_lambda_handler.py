"""The deployed handler works without AWS: the package unpacked into a read-only directory,
a fresh interpreter that sees only the package (and boto3/botocore standing in for the Lambda
runtime's), the stage's handler (``tickets.lambda_handler``) called with real API Gateway REST proxy events,
EventBridge scheduled events and Zappa's ``manage`` events, against the local emulators.

Adding an endpoint's case takes a few lines in a test below, e.g. when they land::

    answer = invoke(api_event("GET", "/catalog")).answers[-1]
    invoke(api_event("POST", "/orders", {"customer": {...}, "items": [...]}))
    payload = json.dumps(event); invoke(api_event("POST", "/webhooks/stripe", body=payload,
        headers={"Stripe-Signature": stripe_signature(payload, stack.secrets.stripe_webhook_secret)}))
    invoke(rest_event("GET", "/admin/login/", headers={"Accept": "text/html"}))  # links: /prod/admin/

and asserting on ``response_json(answer)`` and on what ``dynamodb`` holds afterwards.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import boto3
import pytest

from deploy.build import stage_config, stage_environment, stage_handler
from devstack.lambda_runtime import (
    API_HOST,
    LambdaRuntime,
    api_event,
    package_unpack,
    response_json,
    rest_event,
    runtime_standin,
    scheduled_event,
    tree_snapshot,
)
from devstack.stack import LocalStack

PROD_TABLES = {
    f"ticketstoheaven-prod-{name}"
    for name in ("orders", "customers", "payments", "ticket-types", "backoffice")
}


def _function(package: Path, stage: str, local_stack: LocalStack, root: Path) -> LambdaRuntime:
    environment = {
        **stage_environment(stage),  # the Lambda variables zappa_settings.json sets
        **{k: v for k, v in local_stack.environment().items() if k.startswith("AWS_")},
        "STRIPE_API_BASE": local_stack.stripe_url,
    }
    return LambdaRuntime(
        task_dir=package_unpack(package, root / "task"),
        runtime_dir=runtime_standin(root / "runtime"),
        environment=environment,
        handler=stage_handler(stage),
    )


@pytest.fixture(scope="module")
def runtime(lambda_package: Path, local_stack: LocalStack, tmp_path_factory) -> LambdaRuntime:
    """The public API's function (stage ``prod``)."""
    return _function(lambda_package, "prod", local_stack, tmp_path_factory.mktemp("lambda"))


@pytest.fixture(scope="module")
def backoffice(
    backoffice_lambda_package: Path, local_stack: LocalStack, tmp_path_factory
) -> LambdaRuntime:
    """The back office's function (stage ``prod-backoffice``): the admin is served there."""
    root = tmp_path_factory.mktemp("lambda-backoffice")
    return _function(backoffice_lambda_package, "prod-backoffice", local_stack, root)


@pytest.fixture
def prod(aws: LocalStack) -> LocalStack:
    """The emulator holding the prod stage's secrets and parameters (Zappa sets STAGE to the
    Zappa stage's name, so the handler reads ``ticketstoheaven/prod/...``)."""
    stage = dataclasses.replace(aws, stage="prod", processes=[])
    stage.provision_config()
    return stage


@pytest.fixture
def dynamodb(aws: LocalStack):
    return boto3.client(
        "dynamodb",
        endpoint_url=aws.aws_url,
        region_name="us-east-2",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def test_health_through_api_gateway_answers_ok_with_the_lambda_request_id(runtime, prod):
    result = runtime.invoke(rest_event("GET", "/health"))

    answer = result.answers[0]
    assert result.errors == [None]
    assert answer["statusCode"] == 200
    assert response_json(answer) == {"status": "ok"}
    assert answer["headers"]["Content-Type"] == "application/json"
    # The middleware takes the invocation's id, so logs and Lambda's REPORT lines agree.
    assert answer["headers"]["X-Request-Id"] == result.request_ids[0]
    assert answer["headers"]["Strict-Transport-Security"].startswith("max-age=31536000")


def test_unknown_paths_get_the_json_404_and_http_is_redirected_with_the_stage_prefix(runtime, prod):
    result = runtime.invoke(
        rest_event("GET", "/no/such/thing"),
        rest_event("GET", "/no/such/thing", headers={"X-Forwarded-Proto": "http"}),
        env={"DJANGO_BEHIND_CLOUDFRONT": "0"},  # called directly on its execute-api URL
    )

    not_found, redirect = result.answers
    assert not_found["statusCode"] == 404
    assert response_json(not_found) == {"error": {"code": "not_found", "message": "Not found."}}
    # On the execute-api host, Zappa sets SCRIPT_NAME to the stage: links carry /prod.
    assert redirect["statusCode"] == 301
    assert redirect["headers"]["Location"] == f"https://{API_HOST}/prod/no/such/thing"


def test_a_manage_event_creates_the_prod_tables(runtime, prod, dynamodb):
    assert not PROD_TABLES & set(dynamodb.list_tables()["TableNames"])

    result = runtime.invoke({"manage": "create_tables"})

    assert result.errors == [None]
    assert PROD_TABLES <= set(dynamodb.list_tables()["TableNames"])
    orders = dynamodb.describe_table(TableName="ticketstoheaven-prod-orders")["Table"]
    from core.dynamodb import table_spec
    from orders.models import Order

    assert {i["IndexName"] for i in orders["GlobalSecondaryIndexes"]} == {
        i["IndexName"] for i in table_spec(Order)["GlobalSecondaryIndexes"]
    }


def test_the_storefront_api_works_through_the_handler(runtime, prod, dynamodb):
    runtime.invoke({"manage": "create_tables"})
    dynamodb.put_item(
        TableName="ticketstoheaven-prod-ticket-types",
        Item={
            "sku": {"S": "ga"}, "name": {"S": "GA"}, "description": {"S": ""}, "unit_amount": {"N": "4900"},
            "currency": {"S": "usd"}, "capacity": {"N": "10"}, "available": {"N": "10"},
            "active": {"BOOL": True}, "catalog_key": {"S": "active"}, "version": {"N": "1"},
            "created_at": {"S": "2026-11-25T00:00:00.000000Z"}, "updated_at": {"S": "2026-11-25T00:00:00.000000Z"},
        },
    )  # fmt: skip
    body = {
        "customer": {"email": "lambda@example.com", "name": "L"},
        "items": [{"sku": "ga", "quantity": 3}],
    }

    result = runtime.invoke(
        api_event("GET", "/catalog"),
        api_event("POST", "/orders", body, headers={"Idempotency-Key": "lambda-1"}),
        api_event("POST", "/orders", {"items": []}),
    )

    catalog, created, invalid = result.answers
    assert result.errors == [None, None, None]
    assert [(t["sku"], t["available"]) for t in response_json(catalog)] == [("ga", 10)]
    assert created["statusCode"] == 201, created
    order = response_json(created)
    assert order["total_amount"] == 3 * 4900 and order["payment"]["client_secret"]
    assert invalid["statusCode"] == 400
    assert set(response_json(invalid)["error"]["fields"]) == {"customer", "items"}
    item = dynamodb.get_item(
        TableName="ticketstoheaven-prod-ticket-types", Key={"sku": {"S": "ga"}}
    )["Item"]
    assert item["available"] == {"N": "7"}
    status = runtime.invoke(api_event("GET", f"/orders/{order['order_id']}")).answers[0]
    assert response_json(status)["status"] == "pending_payment"


def test_the_admin_is_the_back_offices_and_the_api_the_publics(runtime, backoffice, prod):
    """Each function answers its own paths (CloudFront sends each path to its function)."""
    public = runtime.invoke(rest_event("GET", "/admin/login/", headers={"Accept": "text/html"}))
    staff = backoffice.invoke(api_event("GET", "/catalog"), rest_event("GET", "/health"))

    assert public.answers[0]["statusCode"] == 404
    assert [a["statusCode"] for a in staff.answers] == [404, 200]


def test_the_admin_login_page_links_carry_the_stage_only_on_the_execute_api_url(backoffice, prod):
    runtime = backoffice
    direct = runtime.invoke(
        rest_event("GET", "/admin/", headers={"Accept": "text/html"}),
        rest_event("GET", "/admin/login/", headers={"Accept": "text/html"}),
        env={"DJANGO_BEHIND_CLOUDFRONT": "0"},
    )
    behind_cloudfront = runtime.invoke(
        rest_event("GET", "/admin/login/", headers={"Accept": "text/html"})
    )

    redirect, login = direct.answers
    assert redirect["statusCode"] == 302
    assert redirect["headers"]["Location"].startswith("/prod-backoffice/admin/login/")
    assert login["statusCode"] == 200
    assert 'action="/prod-backoffice/admin/login/"' in login["body"]
    assert "csrfmiddlewaretoken" in login["body"]
    (login,) = behind_cloudfront.answers
    assert 'action="/admin/login/"' in login["body"]


def test_the_admin_login_page_loads_no_api_framework_and_no_openssl(backoffice, prod):
    """The login page's first request in a new environment: no DRF (the back office has no API
    view; core.api_exceptions holds DRF's error handler), no pyOpenSSL or cryptography (the
    package leaves out urllib3/contrib/pyopenssl.py, botocore's reason to import them), no
    Zappa handler or werkzeug (tickets/lambda_handler.py). Each cost the cold start tens of ms
    (docs/benchmarks.md)."""
    result = backoffice.invoke(rest_event("GET", "/admin/login/", headers={"Accept": "text/html"}))

    assert result.answers[0]["statusCode"] == 200
    loaded = {name.split(".")[0] for name in result.modules}
    assert loaded & {"rest_framework", "yaml", "requests", "OpenSSL", "cryptography"} == set()
    assert loaded & {"zappa", "werkzeug", "handler"} == set()


def test_django_is_set_up_during_init_only_when_asked_for_snapstart(runtime, prod):
    # With SnapStart the snapshot is taken after init: the variable puts Django in it.
    lazy = runtime.invoke()  # the init phase alone: the handler's module imported, no event
    eager = runtime.invoke(env={"INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT": "1"})

    assert "django.core.handlers.wsgi" not in lazy.modules
    assert {"django.core.handlers.wsgi", "orders.models", "tickets.snapstart"} <= set(eager.modules)


@pytest.mark.parametrize("event", stage_config("prod")["events"], ids=lambda e: e["name"])
def test_each_scheduled_rule_reaches_its_function(runtime, prod, event):
    from zappa.core import Zappa

    rule = Zappa.get_scheduled_event_name(Zappa, event, event["function"], "ticketstoheaven-prod")

    result = runtime.invoke({"manage": "create_tables"}, scheduled_event(rule))

    assert result.errors == [None, None]


def test_the_interpreter_sees_only_the_package_and_the_runtime_standin(runtime, prod):
    result = runtime.invoke(rest_event("GET", "/health"))

    origins = result.modules
    for name in ("django", "stripe", "pynamodb", "zappa", "tickets", "core", "rest_framework"):
        if origins.get(name):
            assert origins[name].startswith(str(runtime.task_dir)), name
    assert origins["boto3"].startswith(str(runtime.runtime_dir))
    assert not any("site-packages" in p for p in result.sys_path)
    # Heavy clients stay out of a request that does not need them, and so does Zappa's handler.
    assert "stripe" not in origins
    assert not {"zappa", "werkzeug"} & {name.split(".")[0] for name in origins}


def test_the_task_directory_stays_read_only_and_bytecode_is_never_recompiled(runtime, prod):
    before = tree_snapshot(runtime.task_dir)

    result = runtime.invoke(
        rest_event("GET", "/health"), {"manage": "create_tables"}, env={"PYTHONVERBOSE": "1"}
    )

    assert result.errors == [None, None]
    assert tree_snapshot(runtime.task_dir) == before
    # `python -v` names the source file when it compiles one: none of the package's.
    compiled = [
        line
        for line in result.output.splitlines()
        if line.startswith("# code object from") and str(runtime.task_dir) in line
        and not line.rstrip("'").endswith(".pyc")
    ]  # fmt: skip
    assert compiled == []
    loaded = [line for line in result.output.splitlines() if line.startswith("# code object from")]
    assert len(loaded) > 300


def test_no_secret_reaches_the_logs(runtime, prod):
    result = runtime.invoke(rest_event("GET", "/health"), {"manage": "create_tables"})

    for value in vars(prod.secrets).values():
        assert value not in result.output


def test_the_access_log_masks_the_e_mail_an_admin_search_carries(backoffice, prod):
    # The admin's search is a GET: Zappa logs every request line with its query string.
    result = backoffice.invoke(
        rest_event(
            "GET",
            "/admin/orders/order/",
            query={"q": "alice.buyer@example.com", "phone": "+15551234567"},
            headers={"Accept": "text/html"},
        )
    )

    assert result.errors == [None]
    access = [line for line in result.output.splitlines() if "/admin/orders/order/" in line]
    assert access, result.output[-2000:]
    assert "alice.buyer" not in result.output
    assert "5551234567" not in result.output
    assert any("q=***" in line for line in access)  # what staff searched for: none of it


def test_the_access_log_carries_no_phone_number_an_admin_search_carries(backoffice, prod):
    # Issue 29, F3: the admin's search by phone, as Zappa logs its request line.
    result = backoffice.invoke(
        rest_event(
            "GET",
            "/admin/orders/order/",
            query={"q": "+15551234567"},
            headers={"Accept": "text/html"},
        )
    )

    assert result.errors == [None]
    assert [line for line in result.output.splitlines() if "/admin/orders/order/" in line]
    assert "5551234567" not in result.output
