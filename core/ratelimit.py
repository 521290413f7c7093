"""Per-client rate limiting that holds across Lambda containers: the counters are in DynamoDB.

A fixed one-minute window per client: one ``UpdateItem`` (``ADD hits 1``) per request on the
item ``RATE#{scope}#{client}#{window}``, which expires by TTL shortly after its window. Fixed
windows allow up to twice the limit across a window boundary; for a storefront's order form
that is fine and costs one write instead of a sliding log's several. Used through
``core.api_throttle.DynamoDBRateThrottle`` (a DRF throttle: apart, so that what counts here
without DRF, the buyers' e-mails, does not import DRF into the back office).

The client is the caller's address (``core.client_identity``): the viewer's address from
CloudFront when the request proves it came through our distribution, else API Gateway's
``sourceIp``; ``X-Forwarded-For`` is never trusted since a caller can write anything in it.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

from core.backoffice import RATE
from core.models import RateCounter

WINDOW_SECONDS = 60


def rate_hit(*, scope: str, client: str, now: float | None = None) -> tuple[int, float]:
    """Count one request; return the hits in this window so far and the seconds it has left."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    # Hashed: the table holds no raw addresses.
    client_hash = hashlib.sha256(client.encode()).hexdigest()[:32]
    counter = RateCounter(pk=RATE.pk(scope, client_hash, window), sk=RATE.sk)
    counter.update(
        actions=[
            RateCounter.hits.add(1),
            RateCounter.expires_at.set(
                datetime.fromtimestamp((window + 2) * WINDOW_SECONDS, UTC) + timedelta(minutes=1)
            ),
        ]
    )
    return int(counter.hits), (window + 1) * WINDOW_SECONDS - now
