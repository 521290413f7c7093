"""The storefront's DRF throttle over the DynamoDB rate counter (``core.ratelimit``). Apart from
the counter so that code counting without DRF (the buyers' e-mails, which the back office sends
too) does not import DRF: the back office has no DRF view, and DRF with its optional imports
cost its login page about 40 ms of cold start (docs/benchmarks.md)."""

from __future__ import annotations

import logging

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.client_identity import client_address
from core.config import parameters_get
from core.ratelimit import WINDOW_SECONDS, rate_hit

logger = logging.getLogger(__name__)


class DynamoDBRateThrottle(BaseThrottle):
    """DRF throttle: at most ``orders_rate_limit_per_minute`` (SSM) requests per client."""

    scope = "orders"

    def allow_request(self, request: Request, view: APIView) -> bool:
        limit = parameters_get().orders_rate_limit_per_minute
        hits, self._wait = rate_hit(scope=self.scope, client=self.get_ident(request))
        if hits > limit:
            logger.info("rate limit reached", extra={"scope": self.scope, "hits": hits})
            return False
        return True

    def get_ident(self, request: Request) -> str:
        return client_address(request)

    def wait(self) -> float:
        return max(1.0, getattr(self, "_wait", WINDOW_SECONDS))
