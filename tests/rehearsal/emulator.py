"""The rehearsal's AWS: moto in server mode, plus the few CloudFront APIs moto lacks, plus a
record of every request the app makes (to check the role's *resources*, which moto ignores).

Run as ``python -m tests.rehearsal.emulator -p PORT``. On top of ``devstack.moto_server``
(moto, one request at a time), a WSGI layer:

- answers CloudFront's cache-policy, origin-request-policy and response-headers-policy APIs,
  which moto 5.2 does not implement (404 for every one). Create, get, list and delete, kept in
  memory; the AWS-managed policies infra/ looks up by name (``Managed-CachingDisabled``,
  ``Managed-CachingOptimized``, ``Managed-AllViewerExceptHostHeader``) are listed with their
  real ids. These calls are not IAM-checked (moto never sees them).
- answers the Lambda and AWS Backup calls the day-two steps need and moto 5.2 lacks or gets
  wrong (``LambdaExtras``, ``BackupExtras``; docs/deploy.md lists them): Lambda's
  ``ListFunctionUrlConfigs`` (moto: 404 for the route, which ``zappa update`` calls) and the code
  download behind ``GetFunction``'s ``Code.Location`` (moto: a made-up S3 address nothing
  serves, which a rollback downloads); Backup's selections and region settings (moto: 404).
  They read and write moto's own backends, so what they answer is what moto holds. These calls
  are not IAM-checked (moto never sees them).
- checks signatures of GET requests with a query string as AWS does
  (``signature_over_query_requests_fixed``: moto signs their query as if it were the body).
- records, for every request, the access key that signed it, the service, the action and the
  request's resource fields (table, index, secret, parameter path, queue, function, bucket and
  key). ``GET /_rehearsal/requests`` returns the record; ``DELETE`` empties it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

from devstack.moto_server import _Serialised

CLOUDFRONT_NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

# kind (URL segment) -> (element, config element, list element)
_POLICY_KINDS = {
    "cache-policy": ("CachePolicy", "CachePolicyConfig", "CachePolicyList"),
    "origin-request-policy": (
        "OriginRequestPolicy",
        "OriginRequestPolicyConfig",
        "OriginRequestPolicyList",
    ),
    "response-headers-policy": (
        "ResponseHeadersPolicy",
        "ResponseHeadersPolicyConfig",
        "ResponseHeadersPolicyList",
    ),
}

_NONE_CONFIG = (
    "<HeadersConfig><HeaderBehavior>none</HeaderBehavior></HeadersConfig>"
    "<CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig>"
    "<QueryStringsConfig><QueryStringBehavior>none</QueryStringBehavior></QueryStringsConfig>"
)
# AWS's managed policies, by their real ids (the same in every account).
_MANAGED = {
    "cache-policy": {
        "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": "<CachePolicyConfig><Comment>Policy with caching disabled</Comment><Name>Managed-CachingDisabled</Name><DefaultTTL>0</DefaultTTL><MaxTTL>0</MaxTTL><MinTTL>0</MinTTL><ParametersInCacheKeyAndForwardedToOrigin><EnableAcceptEncodingGzip>false</EnableAcceptEncodingGzip><EnableAcceptEncodingBrotli>false</EnableAcceptEncodingBrotli>"
        + _NONE_CONFIG
        + "</ParametersInCacheKeyAndForwardedToOrigin></CachePolicyConfig>",
        "658327ea-f89d-4fab-a63d-7e88639e58f6": "<CachePolicyConfig><Comment>Policy with caching enabled</Comment><Name>Managed-CachingOptimized</Name><DefaultTTL>86400</DefaultTTL><MaxTTL>31536000</MaxTTL><MinTTL>1</MinTTL><ParametersInCacheKeyAndForwardedToOrigin><EnableAcceptEncodingGzip>true</EnableAcceptEncodingGzip><EnableAcceptEncodingBrotli>true</EnableAcceptEncodingBrotli>"
        + _NONE_CONFIG
        + "</ParametersInCacheKeyAndForwardedToOrigin></CachePolicyConfig>",
    },
    "origin-request-policy": {
        "b689b0a8-53d0-40ab-baf2-68738e2966ac": "<OriginRequestPolicyConfig><Comment>All viewer headers except Host</Comment><Name>Managed-AllViewerExceptHostHeader</Name><HeadersConfig><HeaderBehavior>allExcept</HeaderBehavior><Headers><Quantity>1</Quantity><Items><Name>host</Name></Items></Headers></HeadersConfig><CookiesConfig><CookieBehavior>all</CookieBehavior></CookiesConfig><QueryStringsConfig><QueryStringBehavior>all</QueryStringBehavior></QueryStringsConfig></OriginRequestPolicyConfig>",
    },
    "response-headers-policy": {},
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _strip(xml: str) -> str:
    xml = re.sub(r"<\?xml[^>]*\?>", "", xml).strip()
    return re.sub(r' xmlns="[^"]*"', "", xml, count=1)


class CloudFrontPolicies:
    """In-memory cache, origin-request and response-headers policies."""

    def __init__(self) -> None:
        self.items: dict[
            str, dict[str, tuple[str, str, str]]
        ] = {}  # kind -> id -> (type, config, etag)
        self.reset()

    def reset(self) -> None:
        self.items = {
            kind: {pid: ("managed", config, "E1MANAGED") for pid, config in managed.items()}
            for kind, managed in _MANAGED.items()
        }

    def _one(self, kind: str, pid: str) -> str:
        element, _, _ = _POLICY_KINDS[kind]
        _, config, _ = self.items[kind][pid]
        return f"<{element}><Id>{pid}</Id><LastModifiedTime>{_now()}</LastModifiedTime>{config}</{element}>"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        match = re.fullmatch(
            r"/2020-05-31/(cache-policy|origin-request-policy|response-headers-policy)(?:/([^/]+))?(/config)?",
            environ.get("PATH_INFO", ""),
        )
        if not match:
            return None
        kind, pid, _config = match.groups()
        method = environ["REQUEST_METHOD"]
        element, config_element, list_element = _POLICY_KINDS[kind]
        summary = (
            element + "Summary"
            if kind != "response-headers-policy"
            else "ResponseHeadersPolicySummary"
        )
        if method == "POST" and not pid:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            config = _strip(environ["wsgi.input"].read(length).decode())
            pid = str(uuid.uuid4())
            self.items[kind][pid] = ("custom", config, "E" + uuid.uuid4().hex[:12].upper())
            return self._answer(
                start_response,
                "201 Created",
                self._one(kind, pid),
                self.items[kind][pid][2],
                f"https://cloudfront.amazonaws.com/2020-05-31/{kind}/{pid}",
            )
        if method == "GET" and not pid:
            entries = "".join(
                f"<{summary}><Type>{kind_type}</Type>{self._one(kind, i)}</{summary}>"
                for i, (kind_type, _, _) in self.items[kind].items()
            )
            body = f"<{list_element}><MaxItems>100</MaxItems><Quantity>{len(self.items[kind])}</Quantity><Items>{entries}</Items></{list_element}>"
            return self._answer(start_response, "200 OK", body)
        if pid not in self.items[kind]:
            body = f'<ErrorResponse xmlns="{CLOUDFRONT_NS}"><Error><Type>Sender</Type><Code>NoSuch{element}</Code><Message>not found</Message></Error><RequestId>x</RequestId></ErrorResponse>'
            start_response("404 Not Found", [("Content-Type", "text/xml")])
            return [body.encode()]
        if method == "GET":
            _type, config, etag = self.items[kind][pid]
            body = config if _config else self._one(kind, pid)
            if _config:
                body = body.replace(
                    f"<{config_element}>", f'<{config_element} xmlns="{CLOUDFRONT_NS}">', 1
                )
                start_response("200 OK", [("Content-Type", "text/xml"), ("ETag", etag)])
                return [body.encode()]
            return self._answer(start_response, "200 OK", body, etag)
        if method == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            config = _strip(environ["wsgi.input"].read(length).decode())
            self.items[kind][pid] = ("custom", config, "E" + uuid.uuid4().hex[:12].upper())
            return self._answer(
                start_response, "200 OK", self._one(kind, pid), self.items[kind][pid][2]
            )
        if method == "DELETE":
            del self.items[kind][pid]
            start_response("204 No Content", [])
            return [b""]
        return None

    @staticmethod
    def _answer(
        start_response: Any,
        status: str,
        body: str,
        etag: str | None = None,
        location: str | None = None,
    ) -> list[bytes]:
        first = body.index(">")
        tag_end = body.index(" ") if " " in body[:first] else first
        body = body[:tag_end] + f' xmlns="{CLOUDFRONT_NS}"' + body[tag_end:]
        headers = [("Content-Type", "text/xml")]
        if etag:
            headers.append(("ETag", etag))
        if location:
            headers.append(("Location", location))
        start_response(status, headers)
        return [b'<?xml version="1.0" encoding="UTF-8"?>' + body.encode()]


_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/[^/]+/([^/]+)/")
# JSON request fields that name the resource a request acts on.
_RESOURCE_FIELDS = (
    "TableName", "IndexName", "SecretId", "Path", "Name", "Names", "QueueUrl", "TopicArn",
    "logGroupName", "logStreamName", "RoleArn",
)  # fmt: skip


# The partition key of the one table with several kinds of items (core/backoffice.py): what
# IAM's dynamodb:LeadingKeys condition is evaluated against (stage.policy_allows).
_PARTITION_KEY = "pk"


def _leading(spec: dict[str, Any]) -> list[str] | None:
    """The partition key values one DynamoDB request (or transaction item) names, ``None``
    when it names none that can be read (a Scan, a Query on an index)."""
    item = spec.get("Key") or spec.get("Item")
    if isinstance(item, dict):
        value = item.get(_PARTITION_KEY, {}).get("S")
        return [value] if value is not None else None
    expression = spec.get("KeyConditionExpression")
    if expression and not spec.get("IndexName"):
        names = spec.get("ExpressionAttributeNames") or {}
        values = spec.get("ExpressionAttributeValues") or {}
        for left, right in re.findall(r"([#\w]+)\s*=\s*(:\w+)", expression):
            if names.get(left, left) == _PARTITION_KEY:
                value = values.get(right, {}).get("S")
                return [value] if value is not None else None
    return None


def _batch_leading(spec: Any) -> list[str] | None:
    """The partition key values of one table's part of a batch request."""
    specs = (
        [{"Key": key} for key in spec.get("Keys", [])]
        if isinstance(spec, dict)
        else [request.get("PutRequest") or request.get("DeleteRequest") or {} for request in spec]
    )
    found = [_leading(one) for one in specs]
    return None if any(keys is None for keys in found) else [k for keys in found for k in keys]


class Recorder:
    """Every request: who signed it, which service and action, which resource."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    def record(self, environ: dict[str, Any], body: bytes) -> dict[str, Any] | None:
        auth = environ.get("HTTP_AUTHORIZATION", "")
        match = _CREDENTIAL.search(auth)
        if not match:
            return None
        key, service = match.groups()
        entry: dict[str, Any] = {
            "key": key,
            "service": service,
            "method": environ["REQUEST_METHOD"],
            "path": unquote(environ.get("PATH_INFO", "")),
            "action": None,
            "fields": {},
        }
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            entry["action"] = target.rsplit(".", 1)[-1]
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = {}
            entry["fields"] = {k: data[k] for k in _RESOURCE_FIELDS if k in data}
            if "TransactItems" in data:
                entry["fields"]["TransactItems"] = [
                    {
                        op: {"TableName": spec.get("TableName"), "LeadingKeys": _leading(spec)}
                        for op, spec in item.items()
                    }
                    for item in data["TransactItems"]
                ]
            for batch in ("RequestItems",):
                if batch in data:
                    entry["fields"]["Tables"] = sorted(data[batch])
                    entry["fields"]["TableLeadingKeys"] = {
                        table: _batch_leading(spec) for table, spec in data[batch].items()
                    }
            if service == "dynamodb":
                entry["fields"]["LeadingKeys"] = _leading(data)
        else:
            form = parse_qs(body.decode(errors="replace")) if body else {}
            query = parse_qs(environ.get("QUERY_STRING", ""))
            action = (form.get("Action") or query.get("Action") or [None])[0]
            entry["action"] = action
            entry["fields"] = {k: v[0] for k, v in form.items() if k in _RESOURCE_FIELDS}
            entry["invocation_type"] = environ.get("HTTP_X_AMZ_INVOCATION_TYPE")
            if (
                service == "ses"
                and body.startswith(b"{")
                and entry["path"].endswith("/outbound-emails")
            ):
                # SESv2 SendEmail (REST JSON, no Action): the sender and the configuration set
                # it is authorised on.
                data = json.loads(body)
                entry["action"] = "SendEmail"
                entry["fields"] = {
                    k: data[k] for k in ("FromEmailAddress", "ConfigurationSetName") if k in data
                }
            if service == "lambda" and body.startswith(b"{"):
                # CreateFunction: what moto does not keep (DeadLetterConfig).
                data = json.loads(body)
                entry["fields"] = {
                    k: data[k] for k in ("FunctionName", "DeadLetterConfig") if k in data
                }
        with self.lock:
            self.requests.append(entry)
        return entry

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        if environ.get("PATH_INFO") != "/_rehearsal/requests":
            return None
        with self.lock:
            if environ["REQUEST_METHOD"] == "DELETE":
                self.requests.clear()
                body = b"[]"
            else:
                body = json.dumps(self.requests).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]


def bucket_policy_for_moto(body: bytes) -> bytes:
    """Two moto limitations in bucket policies, worked around as the policy is stored:

    - moto ignores conditions it cannot evaluate (``Bool``, so ``aws:SecureTransport``): the
      ``DenyInsecureTransport`` statement would deny every request, TLS or not. It is dropped
      (its effect is not checked by the rehearsal).
    - moto's PutBucketLogging check reads every statement's ``Principal`` as a dict and answers
      500 for ``"Principal": "*"`` (AWS's spelling of everyone, which Terraform writes);
      ``{"AWS": "*"}`` means the same to AWS.
    """
    policy = json.loads(body)
    statements = []
    for statement in policy.get("Statement", []):
        condition = statement.get("Condition", {}).get("Bool", {})
        if statement.get("Effect") == "Deny" and "aws:SecureTransport" in condition:
            continue
        if statement.get("Principal") == "*":
            statement["Principal"] = {"AWS": "*"}
        statements.append(statement)
    policy["Statement"] = statements
    return json.dumps(policy).encode()


def _json_answer(start_response: Any, status: str, payload: Any) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json")])
    return [json.dumps(payload, default=str).encode()]


def _not_found(start_response: Any, message: str) -> list[bytes]:
    start_response(
        "404 Not Found",
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ResourceNotFoundException")],
    )
    return [json.dumps({"Type": "User", "message": message}).encode()]


def _region(environ: dict[str, Any]) -> str:
    match = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "us-east-2"


class LambdaExtras:
    """What Lambda answers and moto 5.2 does not, from moto's own Lambda backend.

    - ``GET /2021-10-31/functions/{name}/urls`` (ListFunctionUrlConfigs): the function's URL
      configuration, if it has one (moto keeps one per function), else an empty list; 404
      ResourceNotFoundException for an unknown function, as Lambda answers.
    - ``GetFunction``: moto's ``Code.Location`` is ``https://awslambda-{region}-tasks.s3...``,
      which nothing serves; Lambda's is a presigned URL, valid ten minutes, to the version's
      zip. The answer is passed through with the location replaced by this emulator's
      ``/_rehearsal/lambda-code/{region}/{name}/{version}``, which serves that version's bytes.
    """

    def __init__(self) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID

        self.account = DEFAULT_ACCOUNT_ID

    def backend(self, region: str) -> Any:
        # The backend moto's own Lambda routes use (the "simple" one without Docker).
        from moto.awslambda.utils import get_backend

        return get_backend(self.account, region)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        path = unquote(environ.get("PATH_INFO", ""))
        match = re.fullmatch(r"/2021-10-31/functions/([^/]+)/urls", path)
        if match and environ["REQUEST_METHOD"] == "GET":
            name = (
                match.group(1).rsplit(":", 1)[-1]
                if match.group(1).startswith("arn:")
                else match.group(1)
            )
            try:
                function = self.backend(_region(environ)).get_function(name)
            except Exception:  # moto's UnknownFunctionException
                return _not_found(start_response, f"Function not found: {name}")
            configs = [function.url_config.to_dict()] if function.url_config else []
            return _json_answer(start_response, "200 OK", {"FunctionUrlConfigs": configs})
        match = re.fullmatch(r"/_rehearsal/lambda-code/([^/]+)/([^/]+)/([^/]+)", path)
        if match:
            region, name, version = match.groups()
            function = self.backend(region).get_function(
                name, None if version == "$LATEST" else version
            )
            start_response("200 OK", [("Content-Type", "application/zip")])
            return [function.code_bytes]
        return None

    def code_location(self, environ: dict[str, Any], answer: bytes) -> bytes:
        """A GetFunction answer with ``Code.Location`` pointing at this emulator."""
        try:
            data = json.loads(answer)
        except ValueError:
            return answer
        if "Code" not in data or "Configuration" not in data:
            return answer
        configuration = data["Configuration"]
        host = environ.get("HTTP_HOST", "127.0.0.1")
        region = configuration["FunctionArn"].split(":")[3]
        data["Code"]["Location"] = (
            f"http://{host}/_rehearsal/lambda-code/{region}/{configuration['FunctionName']}/"
            f"{configuration['Version']}"
        )
        return json.dumps(data).encode()


class BackupExtras:
    """AWS Backup's selections and region settings, which moto 5.2 lacks (404), on top of
    moto's plans: a selection is kept per plan (create, get, list, delete), and creating one for
    a plan moto does not hold is a 404, as AWS answers."""

    def __init__(self) -> None:
        from moto.backup.models import backup_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        self.backends = backup_backends
        self.account = DEFAULT_ACCOUNT_ID
        self.selections: dict[str, dict[str, dict[str, Any]]] = {}
        self.settings: dict[str, Any] = {}
        self.reset()

    def reset(self) -> None:
        self.selections = {}
        self.settings = {"ResourceTypeOptInPreference": {}, "ResourceTypeManagementPreference": {}}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        path = unquote(environ.get("PATH_INFO", ""))
        method = environ["REQUEST_METHOD"]
        if path == "/account-settings":
            if method == "PUT":
                body = json.loads(
                    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}"
                )
                for key in self.settings:
                    self.settings[key].update(body.get(key, {}))
                start_response("200 OK", [("Content-Type", "application/json")])
                return [b""]
            return _json_answer(start_response, "200 OK", self.settings)
        match = re.fullmatch(r"/backup/plans/([^/]+)/selections/?([^/]*)/?", path)
        if not match:
            return None
        plan_id, selection_id = match.groups()
        plans = self.backends[self.account][_region(environ)].plans
        if plan_id not in plans:
            return _not_found(start_response, f"Backup plan {plan_id} not found")
        selections = self.selections.setdefault(plan_id, {})
        if method == "PUT" and not selection_id:
            body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
            selection_id = str(uuid.uuid4())
            created = datetime.now(UTC).timestamp()
            selections[selection_id] = {
                "BackupSelection": body["BackupSelection"],
                "SelectionId": selection_id,
                "BackupPlanId": plan_id,
                "CreationDate": created,
                "CreatorRequestId": body.get("CreatorRequestId"),
            }
            return _json_answer(start_response, "200 OK", {
                "SelectionId": selection_id, "BackupPlanId": plan_id, "CreationDate": created})  # fmt: skip
        if method == "GET" and not selection_id:
            listed = [
                {"SelectionId": s["SelectionId"], "SelectionName": s["BackupSelection"]["SelectionName"],
                 "BackupPlanId": plan_id, "CreationDate": s["CreationDate"],
                 "IamRoleArn": s["BackupSelection"]["IamRoleArn"]}
                for s in selections.values()
            ]  # fmt: skip
            return _json_answer(start_response, "200 OK", {"BackupSelectionsList": listed})
        if selection_id not in selections:
            return _not_found(start_response, f"Selection {selection_id} not found")
        if method == "GET":
            return _json_answer(start_response, "200 OK", selections[selection_id])
        if method == "DELETE":
            del selections[selection_id]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b""]
        return None

    def plan_selections(self) -> list[dict[str, Any]]:
        return [s for plan in self.selections.values() for s in plan.values()]


class RehearsalAWS:
    def __init__(self, moto: Any) -> None:
        self.moto = moto
        self.policies = CloudFrontPolicies()
        self.recorder = Recorder()
        self.lambda_extras = LambdaExtras()
        self.backup = BackupExtras()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        for handler in (self.recorder, self.policies, self.lambda_extras, self.backup):
            answer = handler(environ, start_response)
            if answer is not None:
                return answer
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        if environ["REQUEST_METHOD"] == "PUT" and "policy" in parse_qs(
            environ.get("QUERY_STRING", ""), keep_blank_values=True
        ):
            body = bucket_policy_for_moto(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        entry = self.recorder.record(environ, body)
        if environ.get("PATH_INFO") == "/moto-api/reset":
            self.policies.reset()
            self.backup.reset()

        def start(status: str, headers: Any, *args: Any) -> Any:
            if entry is not None:
                entry["status"] = int(status.split()[0])
            return start_response(status, headers, *args)

        if environ["REQUEST_METHOD"] == "GET" and re.fullmatch(
            r"/2015-03-31/functions/[^/]+", environ.get("PATH_INFO", "")
        ):
            # GetFunction: the code's location served here (LambdaExtras); the answer is held
            # until rewritten, so its Content-Length is the new body's.
            held: list[Any] = []

            def hold(status: str, headers: Any, *args: Any) -> Any:
                held[:] = [status, headers]
                if entry is not None:
                    entry["status"] = int(status.split()[0])
                return lambda data: None

            body = self.lambda_extras.code_location(environ, b"".join(self.moto(environ, hold)))
            status, headers = held
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*headers, ("Content-Length", str(len(body)))])
            return [body]
        answer = self.moto(environ, start)
        if entry is not None and entry.get("status") == 403:
            entry["error"] = b"".join(answer)[:600].decode(errors="replace")
        return answer


def signature_over_query_requests_fixed() -> None:
    """moto 5.2 checks a request's signature over a payload made of its query parameters when
    the body is empty (``data=self._body or self._data``), so every signed GET with a query
    string fails with SignatureDoesNotMatch under enforcement (``GetRestApis?limit=500``,
    ``GetFunction?Qualifier=2``), where AWS signs an empty payload. The check is made over the
    request as sent: the body, empty or not, and the query in the URL."""
    from botocore.awsrequest import AWSRequest
    from moto.iam.access_control import IAMRequestBase

    def _create_aws_request(self: Any) -> AWSRequest:
        signed = self._get_string_between(
            "SignedHeaders=", ",", self._headers["Authorization"]
        ).split(";")
        headers = self._create_headers_for_aws_request(signed, self._headers)
        body = self._body if self._body or self._method in {"GET", "HEAD", "DELETE"} else self._data
        request = AWSRequest(method=self._method, url=self._path, data=body, headers=headers)
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    IAMRequestBase._create_aws_request = _create_aws_request


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signature_over_query_requests_fixed()
    app = RehearsalAWS(_Serialised(DomainDispatcherApplication(create_backend_app)))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
