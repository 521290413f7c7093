"""``Idempotency-Key`` for API requests: the same key and body replays the first answer.

A record per (scope, key) in the back-office table, after the design of AWS Lambda
Powertools' idempotency utility:

- ``idempotency_claim`` writes ``IN_PROGRESS`` with a hash of the request body, under the
  condition that no live record exists. It is the only way in: two concurrent requests with
  one key cannot both pass.
- If a record exists: a different body hash answers ``422``; ``COMPLETED`` replays the stored
  answer; ``IN_PROGRESS`` answers ``409``, unless its lease ran out (the Lambda died halfway),
  in which case the claim is taken over and the request runs again. Everything the request
  does is itself idempotent on our side (the order id is fixed by the record), so running it
  again is safe.
- ``idempotency_complete`` stores the answer; ``idempotency_release`` deletes the record after
  a failure, so the client may retry with the same key.

Records expire after 24 hours (TTL), as Stripe's own keys do.

**Scoped to the client** (issue 29, F2). Stripe scopes a key to the API key that sent it; this
API has no account to scope by, so a record is keyed by the key *and* the client that sent it
(``client``: the caller's address as ``core.client_identity`` sees it, also behind
CloudFront, hashed with the app's secret key so the table holds no addresses). Another client
sending the same key (a guessed, reused or leaked one) gets its own claim, never the first
client's answer (which carries the PaymentIntent's ``client_secret``). The cost, accepted: a
buyer whose address changes between a request and its retry (a phone moving from Wi-Fi to
mobile data) is a new client, so the retry makes a second order; that order is never paid
(its client secret went to the retry only if the retry was answered) and expires like any
unpaid cart. A shared address (a NAT) still needs the same key, which the storefront makes
random (``crypto.randomUUID()``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from pynamodb.exceptions import DeleteError, PutError, UpdateError

from core.backoffice import IDEMPOTENCY
from core.dynamodb import condition_failed
from core.exceptions import ApplicationError, Conflict
from core.models import IdempotencyRecord

RECORD_TTL = timedelta(hours=24)
# Longer than the Lambda's timeout: a record still IN_PROGRESS after this is abandoned.
LEASE_SECONDS = 60
MAX_KEY_LENGTH = 255


class IdempotencyKeyReused(ApplicationError):
    status_code = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request body."


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    message = "A request with this Idempotency-Key is still being processed; retry shortly."


class InvalidIdempotencyKey(ApplicationError):
    code = "invalid_idempotency_key"
    message = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters."


@dataclass(frozen=True)
class Claim:
    """A claimed key: ``subject_id`` is stable across a takeover, so a re-run makes the same
    order. ``replay`` is set instead when the first answer is to be returned again."""

    pk: str
    subject_id: str
    replay: tuple[int, dict[str, Any]] | None = None
    taken_over: bool = False  # an earlier run of this request died halfway


def payload_hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validate_key(key: str) -> None:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not all(33 <= ord(c) <= 126 for c in key):
        raise InvalidIdempotencyKey()


def _client_digest(client: str) -> str:
    secret = hashlib.sha256(f"{settings.SECRET_KEY}:idempotency-client".encode()).digest()
    return hmac.new(secret, client.encode(), hashlib.sha256).hexdigest()[:32]


def idempotency_pk(*, scope: str, key: str, client: str = "") -> str:
    """The record's key: the scope, the client's digest and the key."""
    return IDEMPOTENCY.pk(scope, _client_digest(client), key)


def idempotency_claim(
    *, scope: str, key: str, payload: Any, subject_id: str, client: str = ""
) -> Claim:
    """Claim ``key`` of ``client`` for this request, or explain why not (see the module
    docstring). ``client`` identifies the caller (its address); records of one client are
    invisible to another."""
    _validate_key(key)
    pk = idempotency_pk(scope=scope, key=key, client=client)
    digest = payload_hash(payload)
    now = time.time()
    record = IdempotencyRecord(
        pk=pk,
        sk=IDEMPOTENCY.sk,
        status="IN_PROGRESS",
        payload_hash=digest,
        lease_until=int(now) + LEASE_SECONDS,
        subject_id=subject_id,
        expires_at=datetime.now(UTC) + RECORD_TTL,
    )
    try:
        record.save(
            condition=IdempotencyRecord.pk.does_not_exist()
            | (IdempotencyRecord.expires_at < datetime.fromtimestamp(now, UTC))
        )
        return Claim(pk=pk, subject_id=subject_id)
    except PutError as error:
        if not condition_failed(error):  # a timeout too: no answer, no code (a 503)
            raise
    existing = IdempotencyRecord.get(pk, IDEMPOTENCY.sk, consistent_read=True)
    if existing.payload_hash != digest:
        raise IdempotencyKeyReused()
    if existing.status == "COMPLETED" and existing.response_status is not None:
        return Claim(
            pk=pk,
            subject_id=existing.subject_id,
            replay=(int(existing.response_status), json.loads(existing.response_body or "{}")),
        )
    if existing.lease_until > now:
        raise IdempotencyInProgress()
    # The first attempt died halfway: take it over, keeping its subject id.
    try:
        existing.update(
            actions=[IdempotencyRecord.lease_until.set(int(now) + LEASE_SECONDS)],
            condition=(IdempotencyRecord.status == "IN_PROGRESS")
            & (IdempotencyRecord.lease_until == existing.lease_until),
        )
    except UpdateError as error:
        if condition_failed(error):
            raise IdempotencyInProgress() from None
        raise
    return Claim(pk=pk, subject_id=existing.subject_id, taken_over=True)


def idempotency_complete(*, claim: Claim, status: int, body: dict[str, Any]) -> None:
    """Store the answer. When the record is no longer in progress, a retry took over after
    this run's lease ran out (a slow run) and completed it: its answer stands (the same
    subject: a take-over resumes, never repeats) and this one is answered as it is."""
    try:
        IdempotencyRecord(pk=claim.pk, sk=IDEMPOTENCY.sk).update(
            actions=[
                IdempotencyRecord.status.set("COMPLETED"),
                IdempotencyRecord.response_status.set(status),
                IdempotencyRecord.response_body.set(json.dumps(body)),
            ],
            condition=IdempotencyRecord.status == "IN_PROGRESS",
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise


def idempotency_release(*, claim: Claim) -> None:
    """Forget the key after a failure, so the client can retry with it. Best effort: if this
    fails, the lease runs out and the key is taken over anyway."""
    try:
        IdempotencyRecord(pk=claim.pk, sk=IDEMPOTENCY.sk).delete(
            condition=IdempotencyRecord.status == "IN_PROGRESS"
        )
    except DeleteError:
        pass
