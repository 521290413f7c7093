"""Day-two operations on a deployed stage, with the operator's AWS credentials
(docs/runbook.md): the API's logging, releases and their rollback.

- ``api_logging``: the REST API stage Zappa made gets JSON access logs into the group Terraform
  made (``api_access_log_group_arn`` and ``api_access_log_format`` outputs), execution logs at
  ERROR without data trace, and the execution-log group API Gateway writes gets a retention.
- ``release``: after ``zappa deploy``/``update``, publish the function as it now is (code and
  configuration together) as a version, point the ``live`` alias at it and ``previous`` at
  the release before. Zappa's own versions
  are published with the new code and the *previous* configuration (it updates the code with
  ``Publish=True``, then the configuration), so they cannot be rolled back to as a whole.
- ``rollback``: back to the ``previous`` release (or a given version): its code and its
  configuration (environment, memory, timeout, role, handler, runtime, tracing, dead-letter
  queue, layers) put back on ``$LATEST``, which is what API Gateway, the schedules, the
  asynchronous tasks and ``zappa manage`` all invoke, then published as a new release.
  ``zappa rollback`` re-uploads old code only (environment and memory stay as last set).
"""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import boto3

LIVE_ALIAS = "live"
PREVIOUS_ALIAS = "previous"
RELEASE_PREFIX = "release:"

# The configuration a rollback restores, as GetFunctionConfiguration names it.
RESTORED_KEYS = (
    "Role",
    "Handler",
    "Runtime",
    "Timeout",
    "MemorySize",
    "Environment",
    "TracingConfig",
    "DeadLetterConfig",
    "Layers",
    "EphemeralStorage",
    "Description",
)


def _client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def _wait_updated(lambda_client: Any, function: str, timeout: float = 300) -> dict[str, Any]:
    """Until the function's last update finished (Lambda refuses another meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        configuration = lambda_client.get_function_configuration(FunctionName=function)
        status = configuration.get("LastUpdateStatus", "Successful")
        if status == "Successful" and configuration.get("State", "Active") == "Active":
            return configuration
        if status == "Failed":
            raise RuntimeError(
                f"{function}: update failed: {configuration.get('LastUpdateStatusReason')}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"{function}: still updating after {timeout:.0f} s")
        time.sleep(2)


def function_name(project: str, stage: str) -> str:
    return f"{project}-{stage}"


# --- API Gateway logging ---------------------------------------------------------------------


def api_logging(
    *, project: str, stage: str, region: str, outputs: dict[str, Any]
) -> dict[str, Any]:
    """Access logs (JSON) and ERROR execution logs on the stage's REST API; returns the stage."""
    apigateway = _client("apigateway", region)
    logs = _client("logs", region)
    name = function_name(project, stage)
    apis = [a for a in apigateway.get_rest_apis()["items"] if a["name"] == name]
    if len(apis) != 1:
        raise SystemExit(f"expected one REST API named {name}, found {len(apis)}: deploy first")
    api_id = apis[0]["id"]
    destination = outputs["api_access_log_group_arn"].removesuffix(":*")
    apigateway.update_stage(
        restApiId=api_id,
        stageName=stage,
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": destination},
            {"op": "replace", "path": "/accessLogSettings/format", "value": outputs["api_access_log_format"]},
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"},
            {"op": "replace", "path": "/*/*/logging/dataTrace", "value": "false"},
        ],
    )  # fmt: skip
    group = f"API-Gateway-Execution-Logs_{api_id}/{stage}"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.put_retention_policy(
        logGroupName=group, retentionInDays=int(outputs["log_retention_days"])
    )
    return apigateway.get_stage(restApiId=api_id, stageName=stage)


# --- Releases and rollback -------------------------------------------------------------------


def _alias_version(lambda_client: Any, function: str, name: str) -> str | None:
    try:
        return lambda_client.get_alias(FunctionName=function, Name=name)["FunctionVersion"]
    except lambda_client.exceptions.ResourceNotFoundException:
        return None


def _alias_set(lambda_client: Any, function: str, name: str, version: str) -> None:
    try:
        lambda_client.update_alias(FunctionName=function, Name=name, FunctionVersion=version)
    except lambda_client.exceptions.ResourceNotFoundException:
        lambda_client.create_alias(FunctionName=function, Name=name, FunctionVersion=version)


def release(*, project: str, stage: str, region: str, note: str = "") -> dict[str, Any]:
    """Publish ``$LATEST`` (code and configuration as they are now), point ``live`` at it and
    ``previous`` at what ``live`` named before. Lambda answers PublishVersion with the last
    version when nothing changed since (keeping that version's description), so the aliases,
    not the descriptions, say which versions were releases."""
    lambda_client = _client("lambda", region)
    function = function_name(project, stage)
    _wait_updated(lambda_client, function)
    version = lambda_client.publish_version(
        FunctionName=function, Description=f"{RELEASE_PREFIX} {note}".strip()[:256]
    )["Version"]
    live = _alias_version(lambda_client, function, LIVE_ALIAS)
    if live is not None and live != version:
        _alias_set(lambda_client, function, PREVIOUS_ALIAS, live)
    _alias_set(lambda_client, function, LIVE_ALIAS, version)
    return {"function": function, "version": version, "previous": live if live != version else None}


def rollback(
    *, project: str, stage: str, region: str, to_version: str | None = None
) -> dict[str, Any]:
    """Code and configuration of the previous release (or ``to_version``) back on ``$LATEST``,
    published as a new release. Returns what was restored."""
    lambda_client = _client("lambda", region)
    function = function_name(project, stage)
    current = _alias_version(lambda_client, function, LIVE_ALIAS)
    if to_version is None:
        to_version = _alias_version(lambda_client, function, PREVIOUS_ALIAS)
        if to_version is None:
            raise SystemExit(f"{function}: no previous release to roll back to (alias previous)")
    target = lambda_client.get_function(FunctionName=function, Qualifier=to_version)
    # The code: Lambda's presigned URL to that version's zip (valid ten minutes).
    location = target["Code"]["Location"]
    if not location.startswith(("https://", "http://")):
        raise SystemExit(f"{function}: unexpected code location {location[:40]}")
    with urllib.request.urlopen(location, timeout=120) as response:  # noqa: S310 (checked above)
        code = response.read()
    _wait_updated(lambda_client, function)
    lambda_client.update_function_code(FunctionName=function, ZipFile=code, Publish=False)
    _wait_updated(lambda_client, function)
    configuration = target["Configuration"]
    restored: dict[str, Any] = {}
    for key in RESTORED_KEYS:
        if key not in configuration:
            continue
        value = configuration[key]
        if key == "Layers":
            value = [layer["Arn"] for layer in value]
        if key == "TracingConfig":
            value = {"Mode": value["Mode"]}
        if key == "Environment":
            value = {"Variables": value.get("Variables", {})}
        restored[key] = value
    # A key the old version did not have: Lambda keeps the current value unless told.
    restored.setdefault("Environment", {"Variables": {}})
    lambda_client.update_function_configuration(FunctionName=function, **restored)
    after = release(project=project, stage=stage, region=region, note=f"rollback to {to_version}")
    return {"from": current, "to": to_version, "release": after["version"], "restored": restored}
