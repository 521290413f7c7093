"""Run localstripe without its on-disk store, and with a Payment Element for Stripe.js.

localstripe pickles its whole store to the hard-coded ``/tmp/localstripe.pickle`` on every
write: two instances (the dev stack and a test run) would share that file, and the cost of each
write grows with the store. Our stacks are throw-away like the AWS emulator's, so we keep it in
memory only.

localstripe's own Stripe.js stand-in (``/js.stripe.com/v3/``) has only the old Card Element
and no ``confirmPayment``; the storefront uses the Payment Element, as Stripe recommends. So
this also serves ``devstack/stripe_js_payment_element.js`` at ``/js.stripe.com/v3/payment-element/``
(the storefront's ``stripeJsUrl`` locally) and the one call it makes, the browser-side
confirmation of a PaymentIntent with the publishable key and the client secret, as Stripe.js
does. This patches and extends the stand-in, never our own code.

localstripe ignores ``Idempotency-Key``; Stripe does not, and our retries rely on it (a
PaymentIntent or a refund created twice because an answer was lost would be a bug of the
stand-in, not ours). So ``idempotency`` below does what Stripe documents: a POST with a key
seen before (same account) answers the first result again, with ``Idempotent-Replayed: true``;
the same key with other parameters answers ``400 idempotency_error``; a key whose first
request is still running answers ``409``. 429s are not stored (Stripe lets them be retried).
Keys are kept for the server's life (Stripe: 24 hours).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError, json_response

STRIPE_JS = Path(__file__).with_name("stripe_js_payment_element.js")


def stripe_js(request: web.Request) -> web.Response:
    return web.Response(
        text=STRIPE_JS.read_text(),
        content_type="application/javascript",
        headers={"Cache-Control": "no-store"},
    )


async def payment_intent_confirm(request: web.Request) -> web.Response:
    """``stripe.confirmPayment``: the card typed in the Payment Element pays the intent.

    Like Stripe, only the intent's client secret (and a publishable key) authorise it; a new
    attempt after a declined one is allowed (localstripe itself would refuse it).
    """
    form = await request.post()
    try:
        intent = resources.PaymentIntent._api_retrieve(request.match_info["id"])
        if not str(form.get("key", "")).startswith("pk_") or form.get("client_secret") != getattr(
            intent, "client_secret", None
        ):
            raise UserError(401, "Invalid publishable key or client secret.")
        if intent.status not in ("requires_payment_method", "requires_confirmation"):
            raise UserError(400, f"This PaymentIntent is {intent.status}.")
        card = {
            "number": str(form.get("card[number]", "")).replace(" ", ""),
            "exp_month": str(form.get("card[exp_month]", "")),
            "exp_year": str(form.get("card[exp_year]", "")),
            "cvc": str(form.get("card[cvc]", "")),
        }
        try:
            method = resources.PaymentMethod._api_create(type="card", card=card)
        except UserError:
            raise UserError(
                402,
                "Your card details are incomplete or invalid.",
                {"code": "incorrect_number", "type": "card_error"},
            ) from None
        intent.payment_method = method.id
        intent.latest_charge = None  # a new attempt (Stripe keeps the failed charge's history)
        intent._confirm(on_failure_now=intent._report_failure)
        return json_response(intent._export())
    except UserError as error:
        if error.code == 402:
            error.body["error"].setdefault("code", "card_declined")
            error.body["error"]["type"] = "card_error"
        return error.to_response()


REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _refund_with_reason(original: Any) -> Any:
    """localstripe's Refund refuses Stripe's ``reason`` parameter; accept it as Stripe does
    (one of three values, else a 400) and keep it on the refund."""

    def init(self: Any, *args: Any, reason: str | None = None, **kwargs: Any) -> None:
        if reason is not None and reason not in REFUND_REASONS:
            raise UserError(400, f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}")
        original(self, *args, **kwargs)
        self.reason = reason

    return init


_replies: dict[tuple[str, str], tuple[str, int, bytes, str] | None] = {}


def _stripe_error(status: int, kind: str, message: str) -> web.Response:
    return json_response({"error": {"type": kind, "message": message}}, status=status)


@web.middleware
async def idempotency(request: web.Request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    body = await request.read()  # aiohttp keeps it for the handler
    digest = hashlib.sha256(request.path.encode() + b"?" + body).hexdigest()
    slot = (request.headers.get("Authorization", ""), key)
    if slot in _replies:
        first = _replies[slot]
        if first is None:
            return _stripe_error(409, "idempotency_error", "A request with this key is running.")
        if first[0] != digest:
            return _stripe_error(
                400,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they "
                "were first used with.",
            )
        return web.Response(
            status=first[1],
            body=first[2],
            content_type=first[3],
            headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
        )
    _replies[slot] = None
    try:
        response = await handler(request)
    except (Exception, asyncio.CancelledError):
        del _replies[slot]
        raise
    if response.status == 429 or not isinstance(response, web.Response):
        del _replies[slot]
    else:
        _replies[slot] = (digest, response.status, response.body or b"", response.content_type)
    return response


async def stack_id(request: web.Request) -> web.Response:
    """Which local stack this localstripe belongs to (``devstack.stack``'s start-up check)."""
    return web.Response(text=os.environ.get("DEVSTACK_ID", ""))


def main() -> None:
    resources.Refund.__init__ = _refund_with_reason(resources.Refund.__init__)  # type: ignore[method-assign]
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    # Under /js.stripe.com/, which localstripe serves without a secret key (as Stripe.js is).
    server.app.router.add_get("/js.stripe.com/v3/payment-element/", stripe_js)
    server.app.router.add_get("/_config/devstack-id", stack_id)
    server.app.router.add_post(
        "/js.stripe.com/v3/payment_intents/{id}/confirm", payment_intent_confirm
    )
    server.app.middlewares.insert(0, idempotency)  # outermost: refusals are replayed too
    sys.argv = [sys.argv[0], *sys.argv[1:], "--from-scratch"]
    server.start()


if __name__ == "__main__":
    main()
