"""Point localstripe's webhooks at a running back office.

localstripe keeps a list of webhook endpoints (``POST /_config/webhooks/{id}`` with ``url``,
``secret`` and optionally ``events``) and sends each event to them about a second after the
change that caused it, signed with Stripe's scheme and that secret: the same deliveries Stripe
makes, for the flows localstripe has (a PaymentIntent succeeding or failing; not cancellations,
refunds or disputes). It cannot forget an endpoint, so "unregister" narrows it to no events.
"""

from __future__ import annotations

import json
import urllib.request

HANDLED_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")


def stripe_webhook_register(
    *,
    stripe_url: str,
    endpoint_id: str,
    url: str,
    secret: str,
    events: tuple[str, ...] | None = HANDLED_EVENTS,
) -> None:
    body: dict[str, object] = {"url": url, "secret": secret}
    if events is not None:
        body["events"] = list(events)
    request = urllib.request.Request(
        f"{stripe_url}/_config/webhooks/{endpoint_id}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def stripe_webhook_unregister(*, stripe_url: str, endpoint_id: str) -> None:
    stripe_webhook_register(
        stripe_url=stripe_url,
        endpoint_id=endpoint_id,
        url="http://127.0.0.1:9/unused",
        secret="unused",  # not a secret: this endpoint receives nothing
        events=("none.none",),
    )
