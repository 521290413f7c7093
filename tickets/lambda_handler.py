"""Both Lambda functions' entry point (``"lambda_handler"`` in zappa_settings.json), in place of
Zappa's ``handler.lambda_handler``: the part of Zappa's handler this project uses, without
its import cost.

Zappa's handler imports werkzeug (its request/response wrappers), asyncio and ASGI support,
boto3 through ``zappa.utilities`` and the S3 helpers for remote settings, about 0.15-0.2 s of
every cold start before Django starts (docs/benchmarks.md, "Cold start"). What it does for us,
and how it is done here:

- **API Gateway REST (v1) proxy events** become WSGI requests through ``apig-wsgi`` (one
  stdlib-only module): headers and multi-value headers, query strings (multi-value), bodies
  (base64 when API Gateway says so), cookies (each ``Set-Cookie`` kept: the answer carries
  ``multiValueHeaders``, and ``headers`` with each header's last value as Zappa answered).
  On an ``*.amazonaws.com`` host ``SCRIPT_NAME`` is ``/{stage}`` (links and redirects carry
  the stage, as with Zappa); behind CloudFront the settings force it empty.
  ``REMOTE_ADDR`` is API Gateway's ``requestContext.identity.sourceIp``, never the
  client-writable ``X-Forwarded-For`` (Zappa and apig-wsgi take it from there; the rate limit
  and the sign-in throttle read ``REMOTE_ADDR``: core/client_identity.py). The invocation's
  context is ``environ["lambda.context"]`` (the request id in logs, core/middleware.py). One
  access-log line per request (method, path and query, status, bytes, time), through the
  JSON formatter that masks personal data.
- **Scheduled events** (EventBridge rules Zappa creates, named ``...-{dotted.function}``) call
  that function with ``(event, context)``; Zappa's keep-warm rule only initialises.
- **``{"command": "module.function"}``** calls the function (``zappa invoke``, and
  ``zappa.asynchronous``'s tasks: ``zappa.asynchronous.route_lambda_task``).
- **``{"manage": "command args"}``** runs a management command (``zappa manage``).

Not carried over: ``raw_command`` (``zappa invoke --raw`` executed any Python it was sent),
remote settings and project archives from S3 (``remote_env``, ``slim_handler``: not used),
ASGI, API Gateway v2 / ALB / WebSocket / SQS / SNS / Cognito / Lex events (none is routed to
these functions: infra/ and zappa_settings.json). An event of another kind is refused with
an error.

Django is set up once per environment, at the first event (its settings module is the stage's
``django_settings``, read from the ``zappa_settings`` module Zappa writes into the package), or
during Lambda's init phase when ``INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT`` is a Lambda variable
(Zappa's name for the same switch: with SnapStart the snapshot then holds a set-up Django and
``tickets/snapstart.py``'s hooks; docs/deploy.md, "Lambda SnapStart").
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("tickets.lambda")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]

_handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


def _stage_settings() -> Any:
    """The ``zappa_settings`` module Zappa generates into the package (None outside one)."""
    try:
        return importlib.import_module("zappa_settings")
    except ImportError:
        return None


def _setup() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Set Django up (once) and return the API Gateway -> WSGI handler."""
    global _handler
    if _handler is not None:
        return _handler
    settings = _stage_settings()
    stage = os.environ.get("STAGE", "")
    binary_support = False
    if settings is not None:
        for key, value in getattr(settings, "ENVIRONMENT_VARIABLES", {}).items():
            os.environ[key] = value
        if getattr(settings, "DJANGO_SETTINGS", None):
            os.environ["DJANGO_SETTINGS_MODULE"] = settings.DJANGO_SETTINGS
        stage = getattr(settings, "API_STAGE", stage)
        binary_support = bool(getattr(settings, "BINARY_SUPPORT", False))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickets.settings")

    import django
    from apig_wsgi import make_lambda_handler
    from django.apps import apps
    from django.core.handlers.wsgi import WSGIHandler

    if not apps.ready:  # in Lambda, always; set up already when a test calls the handler
        django.setup(set_prefix=False)  # what get_wsgi_application() does, then:
    application = _lambda_environ(WSGIHandler(), stage)
    _handler = make_lambda_handler(application, binary_support=binary_support)
    return _handler


def _lambda_environ(application: WSGIApp, stage: str) -> WSGIApp:
    """What the application reads of Lambda beyond what apig-wsgi sets (module docstring)."""

    def with_lambda(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        event = environ.get("apig_wsgi.full_event") or {}
        context = event.get("requestContext") or {}
        identity = context.get("identity") or {}
        environ["REMOTE_ADDR"] = identity.get("sourceIp") or "127.0.0.1"
        environ["lambda.context"] = environ.get("apig_wsgi.context")
        if stage and environ.get("HTTP_HOST", "").endswith(".amazonaws.com"):
            environ["SCRIPT_NAME"] = f"/{stage}"
        environ["wsgi.url_scheme"] = "https"  # API Gateway serves HTTPS only
        return application(environ, start_response)

    return with_lambda


def _http(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    handler = _setup()
    try:
        answer = handler(event, context)
    except Exception:
        # Django answers its own errors (handler500); this is the adapter itself failing.
        logger.exception("the request could not be handled")
        body = {"error": {"code": "server_error", "message": "Internal server error."}}
        return {
            "statusCode": 500,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Content-Type": ["application/json"]},
            "body": json.dumps(body),
            "isBase64Encoded": False,
        }
    multi = answer.get("multiValueHeaders")
    if multi is not None:  # Zappa answered both; clients of the handler read either
        answer["headers"] = {name: values[-1] for name, values in multi.items()}
    query = "&".join(
        f"{name}={value}"
        for name, values in (event.get("multiValueQueryStringParameters") or {}).items()
        for value in values
    )
    logger.info(
        "%s %s%s %s %d bytes %.0f ms",
        event.get("httpMethod"),
        event.get("path"),
        f"?{query}" if query else "",
        answer["statusCode"],
        len(answer.get("body") or ""),
        (time.perf_counter() - started) * 1000,
    )
    return answer


def _function(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _call(function: Callable[..., Any], event: dict[str, Any], context: Any) -> Any:
    """Call with ``(event, context)``, ``(event)`` or ``()``, as the function accepts (Zappa's
    rule, decided from the signature so that a TypeError inside the function is not retried)."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return function(event, context)
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return function(*(event, context)[: min(len(positional), 2)])


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    """Lambda's entry point: one API Gateway request, scheduled job, command or management
    command (module docstring)."""
    if event.get("httpMethod"):
        return _http(event, context)
    _setup()
    if event.get("detail-type") == "Scheduled Event":
        dotted = event["resources"][0].split("/")[-1].split("-")[-1]
        if dotted.rsplit(".", 1)[-1] == "keep_warm_callback" or "." not in dotted:
            return None  # Zappa's keep-warm rule: initialising was the point
        return _call(_function(dotted), event, context)
    if event.get("command"):
        result = _call(_function(event["command"]), event, context)
        print(f"Result of {event['command']}:\n{result}")  # what `zappa invoke` shows
        return result
    if event.get("manage"):
        from django.core import management

        management.call_command(*event["manage"].split(" "))
        return {}
    raise ValueError(f"not an event this function handles (keys: {sorted(event)[:10]})")


if os.environ.get("INSTANTIATE_LAMBDA_HANDLER_ON_IMPORT"):
    _setup()
