"""Crash consistency: every money flow with a fault at every request, and the invariants after
recovery. Prints, per flow and fault kind, the failure points tried and the violations found.

For each flow (``FLOWS``) a clean run first counts its requests on the wire (DynamoDB, Stripe,
the vendor, numbered in the order they are sent, retries included). Then, for each fault kind
of ``bench.faults_proxy`` and every N from 1 to that count, a fresh run (its own ticket type,
customer and order) is set up with no fault, the flow's entry point runs with request N
failing, and the system recovers the way production does, with no fault:

- the client again: the storefront presses on with the same Idempotency-Key (after a 503, a
  409 or a lost answer), Stripe redelivers the same event (re-signed, as each delivery is)
  until it gets a 2xx, staff look at the order page and repeat an action that did not happen;
- the scheduled jobs: the order expiry (``orders.jobs.orders_expire``), the fulfillment sweep
  (``orders.jobs`` ``fulfillment_sweep``'s service, with its clock moved past each backoff),
  the payment reconciliation (``payments.services.reconcile.payments_reconcile``);
- leases running out: an hour passes for the leases of this run (idempotency records, webhook
  event claims, fulfillment leases, refund reservations) by moving their times back in
  DynamoDB, as if the clock had moved on; nothing in our code is patched.

The order expiry time is set to 0 minutes (SSM ``order_expiry_minutes``), so the expiry job
cancels every unpaid order of the run when recovery runs it.

Then ``invariants`` checks: seats sold + held + left = capacity, exactly; one customer per
e-mail; every PaymentIntent Stripe took money on belongs to exactly one order, which is paid
(or later) or visibly needs attention, and no order has two; nothing is ``pending_payment``
that Stripe says succeeded; every paid order ends fulfilled once (tickets, the vendor's
fulfillment) or ``fulfillment_failed``; refunds agree between the order, the payment and
Stripe, never exceed the charge, and a repeated staff refund never refunds twice; no
idempotency record or webhook claim is left in progress; the audit trail has each change once.

The staff flows also meet faults of people (``HUMAN_KINDS``): ``twice``, the same form sent
twice at the same moment (a double click, a resubmitting browser, two tabs of one page), and
``two_staff``, two colleagues confirming the same action on the same object at once; the same
recovery and invariants then say whether anything happened twice.

Run: ``.venv/bin/python bench/faults.py`` (the full matrix; ``--flows`` and ``--kinds`` to
narrow it, ``--every K`` to try every Kth point only). tests/faults/ runs a bounded part of it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
import time
import traceback
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.faults_proxy import (  # noqa: E402
    FAULTS,
    FaultProxies,
    SimulatedCrash,
    WireRequest,
    applicable,
)

PRICE = 5000
CAPACITY = 10
QUANTITY = 2
REFUND = 2500


# --- The harness ---------------------------------------------------------------------------


class Harness:
    """The app pointed at the fault proxies in front of a running local stack."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.proxies = FaultProxies.start(
            aws_url=stack.aws_url, stripe_url=stack.stripe_url, vendor_url=stack.vendor_url
        )
        self.plan = self.proxies.plan
        self._saved: dict[str, str | None] = {}
        self.staff: dict[str, Any] = {}
        self.totp_secrets: dict[str, str] = {}  # username -> its authenticator app secret
        self.totp_steps: dict[str, int] = {}  # username -> the last time step whose code it used
        self.password = secrets.token_urlsafe(16)

    def attach(self) -> None:
        """Every request of the app through the proxies; the parameters of this harness."""
        from core.config import config_cache_clear
        from core.dynamodb import connections_reset

        for name, value in {
            "AWS_ENDPOINT_URL": self.proxies.aws.url,
            "STRIPE_API_BASE": self.proxies.stripe.url,
            "CONFIG_CACHE_SECONDS": "86400",  # one config read per run of the matrix
        }.items():
            self._saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        self.stack.provision_config(
            {
                "vendor_endpoint": self.proxies.vendor.url,
                "order_expiry_minutes": "0",
                "orders_rate_limit_per_minute": "1000000",
                "fulfillment_max_attempts": "5",
            }
        )
        connections_reset()
        config_cache_clear()
        from core.config import parameters_get, secrets_get

        secrets_get(), parameters_get()  # read once now, so runs count only their own requests

    def detach(self) -> None:
        from core.config import config_cache_clear
        from core.dynamodb import connections_reset

        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()
        self.stack.provision_config()
        connections_reset()
        config_cache_clear()
        self.proxies.stop()

    def cold_start(self) -> None:
        """After a crash, the next invocation runs in a new container: none of the dead
        process's connections (one may have been cut mid-answer) or clients is reused."""
        import threading

        from core.dynamodb import connections_reset
        from integrations import stripe_client, vendor_client

        connections_reset()
        stripe_client._client = None
        vendor_client._local = threading.local()

    def staff_client(self, role: str, who: str = "") -> Any:
        """A signed-in admin browser for ``role`` (signed in once, without faults); ``who``
        names a colleague with the same role (a second staff member)."""
        username = f"faults-{role}" + (f"-{who}" if who else "")
        if username not in self.staff:
            from staff.services import staff_create

            staff_create(
                username=username,
                email=f"{username}@staff.example",
                role=role,
                password=self.password,
            )
            self.staff[username] = self.staff_session(username)
        return self.staff[username]

    def staff_session(self, username: str) -> Any:
        """``username`` signed in once more (another window of the same staff member), with
        the second factor finance and admin sign in with: an authenticator app's code, set
        up at the first sign-in as a person would, then a code not used before."""
        import re

        import pyotp
        from django.test import Client

        browser = Client(raise_request_exception=False)
        response = browser.post(
            "/admin/login/?next=/admin/", {"username": username, "password": self.password}
        )
        assert response.status_code == 302, response.status_code
        step_page = response["Location"]
        if step_page == "/admin/login/enroll/":
            page = browser.get(step_page).content.decode()
            secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
            self.totp_secrets[username] = secret
        if step_page in {"/admin/login/enroll/", "/admin/login/factor/"}:
            if step_page.endswith("factor/"):
                browser.get(step_page)
            totp = pyotp.TOTP(self.totp_secrets[username])
            step = max(int(time.time() // totp.interval), self.totp_steps.get(username, -1) + 1)
            while step > int(time.time() // totp.interval) + 1:  # a code counts once: wait
                time.sleep(1)
            self.totp_steps[username] = step
            answer = browser.post(step_page, {"code": totp.at(step * totp.interval)})
            assert answer.status_code in (200, 302), answer.status_code
        return browser


@dataclass
class Run:
    """One try of a flow: its own ticket type, buyer and records."""

    harness: Harness
    sku: str = field(default_factory=lambda: f"f{secrets.token_hex(5)}")
    email: str = field(default_factory=lambda: f"buyer-{secrets.token_hex(5)}@example.com")
    key: str = field(default_factory=lambda: f"key-{secrets.token_hex(8)}")
    address: str = field(
        default_factory=lambda: (
            f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
        )
    )
    intents_from: int = 0
    order_id: str | None = None
    event: dict[str, Any] | None = None
    events: list[str] = field(default_factory=list)
    seat_shards: int = 1
    refund_wanted: int = 0
    capacity_wanted: int | None = None
    answers: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    name: str = "Buyer"
    customer_id: str | None = None  # the buyer, once known (an erasure changes the e-mail)
    snapshot: dict[str, Any] = field(default_factory=dict)  # what must not change (totals)
    now: Any = None  # the clock a job of the run reads (the retention flow)
    headers: dict[str, str] = field(default_factory=dict)  # the storefront's (API version...)
    line_token: str | None = None  # the buyer's place in the on-sale's line
    started: float = field(default_factory=time.time)

    @property
    def stack(self) -> Any:
        return self.harness.stack

    def client(self) -> Any:
        from django.test import Client

        return Client(raise_request_exception=False, REMOTE_ADDR=self.address)


# --- Steps shared by the flows ---------------------------------------------------------------


def _ticket_type(run: Run, capacity: int = CAPACITY) -> None:
    from orders.services.ticket_types import ticket_type_create

    ticket_type_create(
        sku=run.sku,
        name=f"Fault {run.sku}",
        unit_amount=PRICE,
        currency="usd",
        capacity=capacity,
        active=True,
        seat_shards=run.seat_shards,
    )


def _order_body(run: Run) -> dict[str, Any]:
    return {
        "customer": {"email": run.email, "name": run.name},
        "items": [{"sku": run.sku, "quantity": QUANTITY}],
    }


def _order_post(run: Run, *, key: bool = True) -> Any:
    headers = {**run.headers, **({"HTTP_IDEMPOTENCY_KEY": run.key} if key else {})}
    if run.line_token:
        headers["HTTP_LINE_TOKEN"] = run.line_token
    response = run.client().post(
        "/orders", json.dumps(_order_body(run)), content_type="application/json", **headers
    )
    run.answers.append(response.status_code)
    if response.status_code == 201:
        run.order_id = response.json()["order_id"]
    return response


def _order_place(run: Run) -> str:
    """Set-up: an order as the storefront places it."""
    response = _order_post(run)
    assert response.status_code == 201, response.content[:300]
    return response.json()["order_id"]


def _intent_of(order_id: str) -> str:
    from orders.selectors import order_get

    order = order_get(order_id=order_id)
    assert order is not None and order.payment_intent_id
    return order.payment_intent_id


def _pay_in_stripe(run: Run, order_id: str) -> dict[str, Any]:
    """What the buyer's browser does with Stripe.js (straight to Stripe, not through us)."""
    from tests.factories import intent_pay

    return intent_pay(run.stack, _intent_of(order_id))


def _charge_of(run: Run, payment_intent_id: str) -> dict[str, Any]:
    """The intent's latest charge as Stripe has it ({} before any)."""
    charge = _stripe(run, "GET", f"/v1/payment_intents/{payment_intent_id}").get("latest_charge")
    if isinstance(charge, dict):
        charge = charge.get("id")
    return _stripe(run, "GET", f"/v1/charges/{charge}") if charge else {}


def _stripe(run: Run, method: str, path: str) -> dict[str, Any]:
    from tests.factories import stripe_request

    return stripe_request(run.stack, method, path)


def _deliver(run: Run, event: dict[str, Any]) -> int:
    """One delivery of ``event`` to our webhook endpoint, signed now as Stripe signs each."""
    from tests.factories import event_body, signature_header

    body = event_body(event)
    header = signature_header(run.stack.secrets.stripe_webhook_secret, body)
    response = run.client().post(
        "/webhooks/stripe", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )
    if event["id"] not in run.events:
        run.events.append(event["id"])
    return response.status_code


def _deliver_until_ok(run: Run, event: dict[str, Any], tries: int = 4) -> None:
    """Stripe's retries: the same event until a 2xx; between tries time passes (claims of a
    delivery that died run out)."""
    for _ in range(tries):
        if 200 <= _deliver(run, event) < 300:
            return
        _time_passes(run)
    run.notes.append(f"event {event['type']} never answered 2xx")


def _succeeded_event(run: Run, order_id: str) -> dict[str, Any]:
    from tests.factories import event_build

    intent = _stripe(run, "GET", f"/v1/payment_intents/{_intent_of(order_id)}")
    return event_build("payment_intent.succeeded", intent)


def _paid_order(run: Run, *, fulfilled: bool = True) -> str:
    """Set-up: an order placed, paid in Stripe and its webhook applied (fulfilled inline)."""
    order_id = _order_place(run)
    _pay_in_stripe(run, order_id)
    if not fulfilled:
        _vendor_control(run, {"mode": "unavailable", "times": 1})
    _deliver_until_ok(run, _succeeded_event(run, order_id))
    return order_id


def _vendor_control(run: Run, control: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{run.stack.vendor_url}/_control",
        data=json.dumps(control).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=5).close()


def _vendor_requests(run: Run) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{run.stack.vendor_url}/_requests", timeout=5) as response:
        return json.load(response)


def _vendor_reset(run: Run) -> None:
    request = urllib.request.Request(f"{run.stack.vendor_url}/_requests", method="DELETE")
    urllib.request.urlopen(request, timeout=5).close()


def _run_orders(run: Run) -> list[Any]:
    """Every order of the run's buyer, read by key (the customer index is eventually
    consistent)."""
    from orders.models import Customer, Order
    from orders.selectors import order_get

    customer_ids = {c.customer_id for c in Customer.email_index.query(run.email)}
    customer_ids |= {run.customer_id} if run.customer_id else set()
    orders = [o for cid in sorted(customer_ids) for o in Order.customer_index.query(cid)]
    return [order_get(order_id=o.order_id) or o for o in orders]


def _time_passes(run: Run, seconds: int = 3600) -> None:
    """Leases of this run run out: their times are moved back by ``seconds`` in DynamoDB (the
    clock moving on, for them alone); refund reservations get older the same way."""
    from datetime import datetime, timedelta

    from core.dynamodb import iso_utc
    from core.idempotency import idempotency_pk
    from core.models import IdempotencyRecord
    from orders.models import Order
    from payments.models import WebhookEvent
    from payments.selectors import payment_get

    try:
        record = IdempotencyRecord.get(
            idempotency_pk(scope="orders", key=run.key, client=run.address), "RECORD"
        )
        if record.status == "IN_PROGRESS":
            record.update(
                actions=[IdempotencyRecord.lease_until.set(int(record.lease_until) - seconds)]
            )
    except IdempotencyRecord.DoesNotExist:
        pass
    for event_id in run.events:
        try:
            event = WebhookEvent.get(WebhookEvent.key_for(event_id), "RECORD")
        except WebhookEvent.DoesNotExist:
            continue
        if event.lease_until:
            event.update(actions=[WebhookEvent.lease_until.set(int(event.lease_until) - seconds)])
    from orders.models import BuyerEmail
    from payments.services.event_cancellation import event_cancellation_get

    cancellation = event_cancellation_get(sku=run.sku)  # a run of the job that died
    if cancellation is not None and cancellation.lease_until:
        cancellation.update(
            actions=[type(cancellation).lease_until.set(int(cancellation.lease_until) - seconds)]
        )
    if run.customer_id:  # an erasure claimed by a run that died
        from orders.models import ErasureRecord

        try:
            erasure = ErasureRecord.get(ErasureRecord.key_for(run.customer_id), "RECORD")
            if erasure.status == "in_progress" and erasure.lease_until:
                erasure.update(
                    actions=[ErasureRecord.lease_until.set(int(erasure.lease_until) - seconds)]
                )
        except ErasureRecord.DoesNotExist:
            pass
    for order in _run_orders(run):
        if order.fulfillment_lease_until:
            order.update(
                actions=[
                    Order.fulfillment_lease_until.set(int(order.fulfillment_lease_until) - seconds)
                ],
                add_version_condition=False,
            )
        if order.void_lease_until:
            order.update(
                actions=[Order.void_lease_until.set(int(order.void_lease_until) - seconds)],
                add_version_condition=False,
            )
        for mail in BuyerEmail.query(BuyerEmail.key_for(order.order_id)):
            if mail.lease_until:
                mail.update(actions=[BuyerEmail.lease_until.set(int(mail.lease_until) - seconds)])
        payment = (
            payment_get(payment_intent_id=order.payment_intent_id)
            if order.payment_intent_id
            else None
        )
        if payment is not None and any(r.status == "reserved" for r in payment.refunds):
            for refund in payment.refunds:
                if refund.status == "reserved":
                    at = datetime.fromisoformat(refund.created_at.replace("Z", "+00:00"))
                    refund.created_at = iso_utc(at - timedelta(seconds=seconds))
            payment.save()


def _jobs(run: Run) -> None:
    """The scheduled jobs, as the scheduler runs them, a few rounds (each with the clock past
    every backoff of the last)."""
    from datetime import UTC, datetime, timedelta

    from orders.jobs import orders_expire
    from orders.services.buyer_mail import buyer_emails_sweep
    from orders.services.fulfillment.sweeper import fulfillment_sweep
    from orders.services.voids import voids_sweep

    for round_ in range(1, 3):
        _reconcile(run)
        orders_expire()
        later = datetime.now(UTC) + timedelta(hours=2 * round_)
        fulfillment_sweep(now=later)
        voids_sweep(now=later)
        buyer_emails_sweep(now=later)
        _time_passes(run)


def _buyer_retries(run: Run, *, key: bool) -> None:
    """The storefront: the same body (and key) again until an answer settles it, as the buyer
    presses the button again after an error; then the buyer pays the order it got."""
    for _ in range(6):
        if run.order_id is not None:
            break
        response = _order_post(run, key=key)
        if response.status_code in {400, 409, 422} and (
            response.json().get("error", {}).get("code") != "idempotency_in_progress"
        ):
            break
        _time_passes(run)
    if run.order_id is None:
        run.notes.append(f"no order after retries: {run.answers}")
        return
    if run.headers.get("HTTP_API_VERSION") == DEFERRED and not _payment_opened(run):
        return
    _pay_in_stripe(run, run.order_id)
    _deliver_until_ok(run, _succeeded_event(run, run.order_id))


# --- The deferred payment and the line (API-Version 2026-12-07) --------------------------------

DEFERRED = "2026-12-07"


def _payment_post(run: Run) -> Any:
    """The buyer presses "Pay": ``POST /orders/{id}/payment`` (the PaymentIntent is made now)."""
    response = run.client().post(
        f"/orders/{run.order_id}/payment", "{}", content_type="application/json", **run.headers
    )
    run.answers.append(response.status_code)
    return response


def _payment_opened(run: Run) -> bool:
    """ "Pay" again until the order has its PaymentIntent, as the checkout does after an error
    (and after ``Retry-After`` while Stripe's budget is busy)."""
    from orders.selectors import order_get

    for _ in range(6):
        order = order_get(order_id=run.order_id)
        if order is not None and order.payment_intent_id:
            return True
        response = _payment_post(run)
        if response.status_code == 200:
            return True
        if response.status_code in {404, 409}:
            break
        _time_passes(run)
    run.notes.append(f"no PaymentIntent after pressing Pay: {run.answers}")
    return False


def _setup_deferred_catalog(run: Run) -> None:
    run.headers = {"HTTP_API_VERSION": DEFERRED}
    _ticket_type(run)


def _setup_deferred_order(run: Run) -> None:
    _setup_deferred_catalog(run)
    run.order_id = _order_place(run)


def _goal_deferred_created(run: Run) -> list[str]:
    """The order is placed without a Stripe call: waiting for payment, no PaymentIntent yet,
    its seats held."""
    from orders.models import OrderStatus
    from orders.selectors import order_get, ticket_type_get

    if run.order_id is None:
        return [f"no order created (answers {run.answers})"]
    order = order_get(order_id=run.order_id)
    problems = []
    if order is None or order.status != OrderStatus.PENDING_PAYMENT or order.payment_intent_id:
        problems.append(f"the order is {order.status if order else 'missing'}, intent "
                        f"{order.payment_intent_id if order else None}")  # fmt: skip
    left = ticket_type_get(sku=run.sku).available
    if left != CAPACITY - QUANTITY:
        problems.append(f"{left} seats left, not {CAPACITY - QUANTITY}: the order holds none")
    return problems


def _pay_pressed(run: Run) -> None:
    _payment_post(run)


def _goal_payment_opened(run: Run) -> list[str]:
    """The buyer got the order's PaymentIntent to confirm, recorded on the order."""
    from orders.selectors import order_get

    order = order_get(order_id=run.order_id)
    if order is None or not order.payment_intent_id:
        return [f"no PaymentIntent on the order (answers {run.answers})"]
    intent = _stripe(run, "GET", f"/v1/payment_intents/{order.payment_intent_id}")
    if intent.get("status") in (None, "canceled"):
        return [f"the order's intent is {intent.get('status')} in Stripe"]
    return []


def _pay_recover(run: Run) -> None:
    if _payment_opened(run):
        _pay_in_stripe(run, run.order_id)
        _deliver_until_ok(run, _succeeded_event(run, run.order_id))
    _jobs(run)


def _setup_line(run: Run) -> None:
    """An on-sale open since a moment ago, admitting far faster than this buyer arrives."""
    from datetime import UTC, datetime, timedelta

    from orders.services.line import onsale_open

    _setup_deferred_catalog(run)
    onsale_open(sku=run.sku, start=datetime.now(UTC) - timedelta(seconds=5), hold_minutes=15,
                admit_per_second=1000)  # fmt: skip


def _line_admitted(run: Run) -> bool:
    """The checkout: join the line (once: the token is the place), poll until admitted."""
    client = run.client()
    for _ in range(8):
        if run.line_token is None:
            response = client.post(f"/onsales/{run.sku}/line")
            run.answers.append(response.status_code)
            if response.status_code == 200 or response.status_code == 201:
                run.line_token = response.json()["token"]
            continue
        response = client.get(f"/onsales/{run.sku}/line", HTTP_LINE_TOKEN=run.line_token)
        run.answers.append(response.status_code)
        if response.status_code == 200 and response.json()["status"] == "admitted":
            return True
        time.sleep(0.3)
    run.notes.append(f"not admitted: {run.answers}")
    return False


def _line_order(run: Run) -> None:
    if _line_admitted(run):
        _order_post(run, key=True)


def _line_recover(run: Run) -> None:
    if run.order_id is None and not _line_admitted(run):
        return
    _buyer_retries(run, key=True)
    _jobs(run)


# --- The flows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flow:
    name: str
    setup: Callable[[Run], None]
    action: Callable[[Run], Any]
    recover: Callable[[Run], None]
    expect: Callable[[Run], list[str]] = lambda run: []
    # What the entry point is for, in words when it is not reached. The clean run checks it
    # does not hold before the entry point and holds right after it, with no recovery: a flow
    # that silently stops short (a confirmation page, a refused form) would otherwise pass
    # every point, since nothing happening breaks no invariant.
    goal: Callable[[Run], list[str]] = lambda run: ["no goal"]
    seat_shards: int = 1  # > 1: the run's ticket type keeps its seats in that many shards
    # A staff flow: the role that acts and how its browser fills the form in (the page read,
    # its one-time token kept): (url, data). The human kinds (HUMAN_KINDS) send it twice.
    form: Callable[[Run, Any], tuple[str, dict[str, Any]]] | None = None
    role: str = ""


def _setup_catalog(run: Run) -> None:
    _ticket_type(run)


def _create_with_key(run: Run) -> None:
    _order_post(run, key=True)


def _create_without_key(run: Run) -> None:
    _order_post(run, key=False)


def _expect_one_paid_order(run: Run) -> list[str]:
    from orders.models import OrderStatus

    live = [o for o in _run_orders(run) if o.status != OrderStatus.CANCELED]
    if run.order_id is None:
        return ["the buyer never got an order"]
    if len(live) != 1 or live[0].order_id != run.order_id:
        return [f"{len(live)} live orders for one buyer's order: {[o.status for o in live]}"]
    return []


def _goal_order_created(run: Run) -> list[str]:
    """The storefront got its order: 201, the order waiting for payment with its
    PaymentIntent, its seats held."""
    from orders.models import OrderStatus
    from orders.selectors import order_get, ticket_type_get

    if run.order_id is None:
        return [f"no order created (answers {run.answers})"]
    order = order_get(order_id=run.order_id)
    problems = []
    if order is None or order.status != OrderStatus.PENDING_PAYMENT or not order.payment_intent_id:
        problems.append(f"the order is {order.status if order else 'missing'} without an intent")
    left = ticket_type_get(sku=run.sku).available
    if left != CAPACITY - QUANTITY:
        problems.append(f"{left} seats left, not {CAPACITY - QUANTITY}: the order holds none")
    return problems


def _recover_with_key(run: Run) -> None:
    _buyer_retries(run, key=True)
    _jobs(run)


def _recover_without_key(run: Run) -> None:
    _buyer_retries(run, key=False)
    _jobs(run)


def _setup_paid_in_stripe(run: Run) -> None:
    _ticket_type(run)
    run.order_id = _order_place(run)
    _pay_in_stripe(run, run.order_id)
    run.event = _succeeded_event(run, run.order_id)


def _webhook_action(run: Run) -> None:
    assert run.event is not None
    _deliver(run, run.event)


def _webhook_recover(run: Run) -> None:
    assert run.event is not None
    _deliver_until_ok(run, run.event)
    _jobs(run)


def _expect_fulfilled(run: Run) -> list[str]:
    from orders.models import OrderStatus
    from orders.selectors import order_get

    order = order_get(order_id=run.order_id)
    if order is None or order.status != OrderStatus.FULFILLED:
        return [f"the paid order ends {order.status if order else 'missing'}, not fulfilled"]
    return []


def _goal_paid(run: Run) -> list[str]:
    from orders.models import OrderStatus
    from orders.selectors import order_get

    order = order_get(order_id=run.order_id)
    if order is None or order.status not in {OrderStatus.PAID, OrderStatus.FULFILLED}:
        return [f"the order is {order.status if order else 'missing'}, not paid"]
    return []


def _setup_fulfillment_due(run: Run) -> None:
    _ticket_type(run)
    run.order_id = _paid_order(run, fulfilled=False)  # the first attempt got a 503


def _sweep_action(run: Run) -> None:
    from datetime import UTC, datetime, timedelta

    from orders.services.fulfillment.sweeper import fulfillment_sweep

    fulfillment_sweep(now=datetime.now(UTC) + timedelta(hours=2))


def _jobs_recover(run: Run) -> None:
    _jobs(run)


def _setup_paid(run: Run) -> None:
    _ticket_type(run)
    run.order_id = _paid_order(run)
    run.harness.staff_client("finance")
    run.refund_wanted = REFUND


def _refund_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The order page's Refund with an amount, then the confirmation's "Yes" with a reason."""
    from tests.admin_forms import confirmation_form

    url = f"/admin/orders/order/{run.order_id}/"
    form = confirmation_form(browser, url, "refund", {"amount": f"{REFUND / 100:.2f}"})
    answers = {"reason": "requested_by_customer", "note": "fault run"}
    return f"{url}action/refund/", {**form, **answers}


def _refund_post(run: Run) -> Any:
    return _form_post(run, _refund_form, "finance")


def _form_post(run: Run, form: Callable[[Run, Any], tuple[str, dict[str, Any]]], role: str) -> Any:
    """Staff open the page, fill the form in and send it (no fault while the page is read)."""
    browser = run.harness.staff_client(role)
    plan = run.harness.plan
    armed = plan.pause()
    try:
        url, data = form(run, browser)
    finally:
        plan.resume(armed)
    return browser.post(url, data)


def _refund_webhook(run: Run) -> None:
    """Stripe's ``charge.refunded`` once it has made a refund (it sends one per refund)."""
    from tests.factories import event_build

    charge = _charge_of(run, _intent_of(run.order_id))
    if charge.get("amount_refunded"):
        _deliver_until_ok(run, event_build("charge.refunded", charge))


def _refund_recover(run: Run) -> None:
    """Stripe's webhook for a refund it made; staff look at the order a while later and, if
    the refund is not there, refund again (and Stripe's webhook for that one follows)."""
    from orders.selectors import order_get

    _refund_webhook(run)
    _time_passes(run)
    order = order_get(order_id=run.order_id)
    if int(order.refunded_amount or 0) < REFUND:
        run.notes.append("staff refunded again")
        _refund_post(run)
        _refund_webhook(run)
    _jobs(run)


def _expect_refunded(run: Run) -> list[str]:
    """The refund staff asked for is made, once, and shown on the order."""
    from orders.selectors import order_get

    order = order_get(order_id=run.order_id)
    stripe_refunded = int(_charge_of(run, _intent_of(run.order_id)).get("amount_refunded") or 0)
    ours = int(order.refunded_amount or 0)
    if stripe_refunded != REFUND or ours != REFUND:
        return [
            f"staff refunded {REFUND}: Stripe refunded {stripe_refunded}, the order shows {ours}"
        ]
    return []


def _setup_pending(run: Run) -> None:
    _ticket_type(run)
    run.order_id = _order_place(run)
    run.harness.staff_client("support")


def _cancel_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The order page's Cancel, then the confirmation's "Yes" with a reason and words."""
    from tests.admin_forms import confirmation_form

    url = f"/admin/orders/order/{run.order_id}/"
    form = confirmation_form(browser, url, "cancel")
    answers = {"reason": "requested_by_customer", "note": "fault run"}
    return f"{url}action/cancel/", {**form, **answers}


def _cancel_post(run: Run) -> Any:
    return _form_post(run, _cancel_form, "support")


def _cancel_recover(run: Run) -> None:
    from orders.models import OrderStatus
    from orders.selectors import order_get

    if order_get(order_id=run.order_id).status == OrderStatus.PENDING_PAYMENT:
        run.notes.append("staff canceled again")
        _cancel_post(run)
    _jobs(run)


def _expect_canceled(run: Run) -> list[str]:
    from orders.models import OrderStatus
    from orders.selectors import order_get, ticket_type_get

    order = order_get(order_id=run.order_id)
    intent = _stripe(run, "GET", f"/v1/payment_intents/{order.payment_intent_id}")
    problems = []
    if order.status != OrderStatus.CANCELED:
        problems.append(f"the canceled order ends {order.status}")
    left = ticket_type_get(sku=run.sku).available
    if left != CAPACITY:
        problems.append(f"{left} seats left of {CAPACITY}: the canceled order's not released")
    if intent.get("status") != "canceled":
        problems.append(f"its PaymentIntent is {intent.get('status')}, not canceled")
    return problems


def _expire_action(run: Run) -> None:
    from orders.jobs import orders_expire

    orders_expire()


def _setup_reconcile(run: Run) -> None:
    _ticket_type(run)
    run.order_id = _order_place(run)
    _pay_in_stripe(run, run.order_id)  # and its webhook never comes


def _reconcile_action(run: Run) -> None:
    _reconcile(run)


def _reconcile(run: Run) -> None:
    """The reconciliation job, over what Stripe made since this run started: its windows
    (days) would take in every earlier point's refunds and intents, read again at each
    point."""
    from datetime import timedelta

    from payments.services.reconcile import payments_reconcile

    window = timedelta(seconds=time.time() - run.started + 60)
    payments_reconcile(
        older_than_minutes=0,
        refunds_window=window,
        disputes_window=window,
        orphans_window=window,
    )


def _setup_capacity(run: Run) -> None:
    _ticket_type(run)
    _paid_order(run)  # 2 sold
    run.key = f"key-{secrets.token_hex(8)}"
    run.order_id = _order_place(run)  # 2 held
    run.harness.staff_client("finance")
    run.capacity_wanted = CAPACITY + 5


def _capacity_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The ticket type's page, its capacity typed in, saved."""
    from orders.models import TicketType
    from tests.admin_forms import edit_form

    ticket_type = TicketType.get(run.sku, consistent_read=True)
    url = f"/admin/orders/tickettype/{run.sku}/"
    return f"{url}change/", {
        **edit_form(browser, url),
        "name": ticket_type.name,
        "description": ticket_type.description or "",
        "unit_amount": f"{int(ticket_type.unit_amount) / 100:.2f}",  # major units (USD)
        "capacity": run.capacity_wanted,
        "active": "on",
    }


def _capacity_post(run: Run) -> Any:
    return _form_post(run, _capacity_form, "finance")


def _capacity_recover(run: Run) -> None:
    from orders.models import TicketType

    if int(TicketType.get(run.sku, consistent_read=True).capacity) != run.capacity_wanted:
        run.notes.append("staff saved the capacity again")
        _capacity_post(run)
    _jobs(run)


def _expect_capacity(run: Run) -> list[str]:
    from orders.models import TicketType

    capacity = int(TicketType.get(run.sku, consistent_read=True).capacity)
    if capacity != run.capacity_wanted:
        return [f"capacity {capacity}, staff set {run.capacity_wanted}"]
    return []


def _goal_capacity(run: Run) -> list[str]:
    """The capacity staff set, and the seats left follow it (one order paid, one held)."""
    from orders.selectors import ticket_type_get

    left = ticket_type_get(sku=run.sku).available
    wanted = (run.capacity_wanted or 0) - 2 * QUANTITY
    if left != wanted:
        return [*_expect_capacity(run), f"{left} seats left after the edit, not {wanted}"]
    return _expect_capacity(run)


def _full_refund_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The order page's Refund with no amount (all of it), confirmed with a reason: its
    tickets are voided at the vendor first."""
    from tests.admin_forms import confirmation_form

    url = f"/admin/orders/order/{run.order_id}/"
    form = confirmation_form(browser, url, "refund", {"amount": ""})
    answers = {"reason": "requested_by_customer", "note": "fault run"}
    return f"{url}action/refund/", {**form, **answers}


def _setup_paid_full_refund(run: Run) -> None:
    _setup_paid(run)
    run.refund_wanted = PRICE * QUANTITY


def _full_refund_post(run: Run) -> Any:
    return _form_post(run, _full_refund_form, "finance")


def _full_refund_recover(run: Run) -> None:
    """Stripe's webhook; staff look at the order later and refund again if it is not
    refunded; the jobs retry what is left (the void, the e-mails)."""
    from orders.selectors import order_get

    _refund_webhook(run)
    _time_passes(run)
    if order_get(order_id=run.order_id).status != "refunded":
        run.notes.append("staff refunded again")
        _full_refund_post(run)
        _refund_webhook(run)
    _jobs(run)


def _vendor_tickets(run: Run) -> dict[str, str]:
    with urllib.request.urlopen(f"{run.stack.vendor_url}/_tickets", timeout=5) as response:
        return json.load(response)


def _expect_voided(run: Run) -> list[str]:
    """The order refunded in full and every ticket of it void, at the vendor and on the
    order (the goal, and what recovery must reach)."""
    from orders.selectors import order_get

    order = order_get(order_id=run.order_id)
    problems = [] if order.status == "refunded" else [f"the order is {order.status}"]
    at_vendor = _vendor_tickets(run)
    for ticket in order.tickets or []:
        if at_vendor.get(ticket.ticket_id) != "void" or ticket.current_state != "void":
            problems.append(
                f"ticket {ticket.ticket_id}: vendor {at_vendor.get(ticket.ticket_id)}, "
                f"order {ticket.current_state}"
            )
    return problems


def _event_cancel_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The ticket type's "Cancel the event", confirmed after its dry run with a note."""
    from tests.admin_forms import confirmation_form

    url = f"/admin/orders/tickettype/{run.sku}/"
    form = confirmation_form(browser, url, "cancel_event")
    return f"{url}action/cancel_event/", {**form, "note": "fault run: the event is canceled"}


def _event_cancel_post(run: Run) -> Any:
    return _form_post(run, _event_cancel_form, "finance")


def _event_cancel_recover(run: Run) -> None:
    """Staff look at the page and cancel again if it shows no cancellation; the every-minute
    job runs (a died run's lease past); Stripe's webhook; the other jobs."""
    from payments.services.event_cancellation import (
        event_cancellation_get,
        event_cancellations_continue,
    )

    if event_cancellation_get(sku=run.sku) is None:
        run.notes.append("staff canceled the event again")
        _event_cancel_post(run)
    for _ in range(3):
        _time_passes(run)
        event_cancellations_continue()
    _refund_webhook(run)
    _jobs(run)


def _expect_event_canceled(run: Run) -> list[str]:
    """The event's cancellation done, its order refunded in full and its tickets void."""
    from payments.services.event_cancellation import event_cancellation_get

    record = event_cancellation_get(sku=run.sku)
    problems = [] if record and record.status == "done" else ["the cancellation is not done"]
    return problems + _expect_voided(run)


def _setup_void_due(run: Run) -> None:
    """A fulfilled order refunded in full whose void met a 503 (queued for the sweeper)."""
    from payments.services.refunds import refund_create

    _setup_paid(run)
    run.refund_wanted = PRICE * QUANTITY
    _vendor_control(run, {"mode": "unavailable", "times": 1})
    refund_create(order_id=run.order_id, amount=None, staff="faults-finance")
    _refund_webhook(run)


def _void_sweep_action(run: Run) -> None:
    from datetime import UTC, datetime, timedelta

    from orders.services.voids import voids_sweep

    voids_sweep(now=datetime.now(UTC) + timedelta(hours=2))


def _setup_resend(run: Run) -> None:
    _ticket_type(run)
    run.order_id = _paid_order(run)
    run.harness.staff_client("support")


def _resend_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The order page's "Resend confirmation" (a one-time form, no confirmation page)."""
    from tests.admin_forms import action_form

    url = f"/admin/orders/order/{run.order_id}/"
    return f"{url}action/resend_confirmation/", action_form(browser, url, "resend_confirmation")


def _resend_post(run: Run) -> Any:
    return _form_post(run, _resend_form, "support")


def _resend_recover(run: Run) -> None:
    """Staff look at the order's e-mails later and resend if no resend is listed; the
    sweeper sends what is queued."""
    from orders.services.buyer_mail import buyer_emails_of

    _time_passes(run)
    if not any(m.requested_by for m in buyer_emails_of(order_id=run.order_id)):
        run.notes.append("staff resent again")
        _resend_post(run)
    _jobs(run)


def _expect_resent(run: Run) -> list[str]:
    """The confirmation was sent again: one more message, marked as resent (a second copy
    only when the fault hit the send itself, as ``_mail_and_ticket_invariants`` allows: SES
    has no idempotency key, docs/architecture.md)."""
    resent = [
        m
        for m in _messages_to(run)
        if m["subject"].endswith("is confirmed") and "Sent again at your request" in m["text"]
    ]
    if len(resent) == 1 or (len(resent) == 2 and _send_hit(run)):
        return []
    return [f"{len(resent)} resent confirmations reached the buyer"]


def _send_hit(run: Run) -> bool:
    """The fault of this point hit SES's send: its answer lost, or the process dead after SES
    took the message."""
    fired = run.harness.plan.fired
    return (
        fired is not None
        and "outbound-emails" in fired.operation
        and fired.fault in ("lose", "crash")
    )


# --- Personal data: erasure by staff, and the retention job ----------------------------------


def _setup_personal_data(run: Run) -> None:
    """A buyer with a name to look for, a fulfilled order, a note naming them, their e-mail in
    our metadata on the intent (an older integration's), and the totals to keep."""
    from orders.models import Customer
    from orders.services.notes import customer_note_add

    run.name = f"Ada Fault{secrets.token_hex(3)}"
    _ticket_type(run)
    run.order_id = _paid_order(run)
    order = _run_orders(run)[0]
    run.customer_id = order.customer_id
    customer_note_add(customer=Customer.get(run.customer_id), staff="sam",
                      text=f"{run.name} called, write to {run.email}")  # fmt: skip
    _stripe_post(run, f"/v1/payment_intents/{order.payment_intent_id}",
                 {"metadata[customer_email]": run.email})  # fmt: skip
    run.snapshot = _money_of(run)


def _stripe_post(run: Run, path: str, data: dict[str, str]) -> None:
    from tests.factories import stripe_request

    stripe_request(run.stack, "POST", path, data)


def _money_of(run: Run) -> dict[str, Any]:
    from payments.selectors import payment_get

    found = {}
    for order in _run_orders(run):
        payment = payment_get(payment_intent_id=order.payment_intent_id)
        found[order.order_id] = (order.status, int(order.total_amount),
                                 int(order.refunded_amount or 0),
                                 int(payment.amount_refunded or 0) if payment else None)  # fmt: skip
    return found


def _erase_form(run: Run, browser: Any) -> tuple[str, dict[str, Any]]:
    """The customer page's "Erase personal data", then the confirmation's "Yes" with a
    reason."""
    from tests.admin_forms import confirmation_form

    url = f"/admin/orders/customer/{run.customer_id}/"
    form = confirmation_form(browser, url, "erase")
    return f"{url}action/erase/", {**form, "reason": "requested_by_customer"}


def _erase_post(run: Run) -> Any:
    return _form_post(run, _erase_form, "finance")


def _setup_erasure(run: Run) -> None:
    _setup_personal_data(run)
    run.harness.staff_client("finance")


def _erase_recover(run: Run) -> None:
    """Staff look at the customer a while later and, if not erased, erase again."""
    from orders.models import Customer

    _time_passes(run)
    if not Customer.get(run.customer_id, consistent_read=True).erased_at:
        run.notes.append("staff erased again")
        _erase_post(run)
    _jobs(run)


_retention_runs = iter(range(10**6))


def _setup_retention(run: Run) -> None:
    """The buyer's order, placed (as if) on a day long ago of its own, and the job's cursor
    on that day: the job's walk is the same few days in every run of the matrix."""
    from datetime import UTC, date, datetime, timedelta

    from orders.models import Order, RetentionCursor

    _setup_personal_data(run)
    day = date(2001, 1, 1) + timedelta(days=40 * next(_retention_runs))
    order = _run_orders(run)[0]
    aged = Order.from_raw_data(order.serialize())
    aged.created_at = f"{day.isoformat()}T12:00:00.000000Z"
    aged.save(add_version_condition=False)
    Order(order_id=order.order_id, created_at=order.created_at).delete(add_version_condition=False)
    RetentionCursor(day=day.isoformat()).save()
    # The policy's default: 24 months. The job runs 24 months and a day after that day, so
    # its walk is that one day (the dry run's and the run's).
    run.now = datetime(day.year + 2, day.month, day.day, 6, tzinfo=UTC) + timedelta(days=1)
    run.snapshot = _money_of(run)


def _retention_action(run: Run) -> None:
    from orders.services.retention import retention_job

    retention_job(now=run.now)


def _retention_recover(run: Run) -> None:
    """The next day's run of the job (leases of a run that died have run out)."""
    from orders.services.retention import retention_job

    _time_passes(run)
    retention_job(now=run.now)
    _jobs(run)


def _expect_erased(run: Run) -> list[str]:
    """Erased once, nothing of the person left where we keep it, every amount unchanged."""
    from core.audit import audit_entries_of
    from orders.models import Customer
    from payments.selectors import payment_get

    problems = []
    customer = Customer.get(run.customer_id, consistent_read=True)
    if not customer.erased_at:
        return [f"the customer is not erased ({run.notes})"]
    erasures = [
        e
        for e in audit_entries_of(object_type="orders.customer", object_id=run.customer_id)
        if e.action == "erase"
    ]
    if len(erasures) != 1:
        problems.append(f"{len(erasures)} erase audit entries, not 1")
    looked_at: list[Any] = [customer.attribute_values]
    for order in _run_orders(run):
        looked_at.append(order.attribute_values)
        looked_at += [vars(e) for e in audit_entries_of(object_type="orders.order",
                                                         object_id=order.order_id)]  # fmt: skip
        payment = payment_get(payment_intent_id=order.payment_intent_id)
        looked_at.append(payment.attribute_values if payment else {})
        intent = _stripe(run, "GET", f"/v1/payment_intents/{order.payment_intent_id}")
        looked_at.append(intent.get("metadata"))
    looked_at += [vars(e) for e in audit_entries_of(object_type="orders.customer",
                                                     object_id=run.customer_id)]  # fmt: skip
    looked_at += [r for r in _vendor_requests(run) if r.get("idempotency_key") == run.order_id]
    text = json.dumps(looked_at, default=str).lower()
    for value in (run.name, run.email, run.email.split("@")[0]):
        if value.lower() in text:
            problems.append(f"the buyer's {value!r} is still kept")
    if _money_of(run) != run.snapshot:
        problems.append(f"amounts changed: {run.snapshot} -> {_money_of(run)}")
    return problems


FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in [
        Flow("order_create_key", _setup_catalog, _create_with_key, _recover_with_key,
             _expect_one_paid_order, _goal_order_created),
        Flow("order_create_nokey", _setup_catalog, _create_without_key, _recover_without_key,
             goal=_goal_order_created),
        Flow("payment_webhook", _setup_paid_in_stripe, _webhook_action, _webhook_recover,
             _expect_fulfilled, _expect_fulfilled),
        Flow("fulfillment_attempt", _setup_fulfillment_due, _sweep_action, _jobs_recover,
             _expect_fulfilled, _expect_fulfilled),
        Flow("staff_refund", _setup_paid, _refund_post, _refund_recover, _expect_refunded,
             _expect_refunded, form=_refund_form, role="finance"),
        Flow("staff_cancel", _setup_pending, _cancel_post, _cancel_recover, _expect_canceled,
             _expect_canceled, form=_cancel_form, role="support"),
        Flow("expiry", _setup_pending, _expire_action, _jobs_recover, _expect_canceled,
             _expect_canceled),
        Flow("reconciliation", _setup_reconcile, _reconcile_action, _jobs_recover,
             _expect_fulfilled, _goal_paid),
        Flow("capacity_edit", _setup_capacity, _capacity_post, _capacity_recover,
             _expect_capacity, _goal_capacity, form=_capacity_form, role="finance"),
        # The same with the ticket type's seats over 4 shards (orders.services.seats).
        Flow("order_create_key_sharded", _setup_catalog, _create_with_key, _recover_with_key,
             _expect_one_paid_order, _goal_order_created, seat_shards=4),
        Flow("staff_cancel_sharded", _setup_pending, _cancel_post, _cancel_recover,
             _expect_canceled, _expect_canceled, seat_shards=4, form=_cancel_form,
             role="support"),
        Flow("capacity_edit_sharded", _setup_capacity, _capacity_post, _capacity_recover,
             _expect_capacity, _goal_capacity, seat_shards=4, form=_capacity_form,
             role="finance"),
        # The deferred PaymentIntent (API-Version 2026-12-07): the order placed without a
        # Stripe call, then "Pay"; and an order placed through an on-sale's line.
        Flow("order_create_deferred", _setup_deferred_catalog, _create_with_key,
             _recover_with_key, _expect_one_paid_order, _goal_deferred_created),
        Flow("payment_open", _setup_deferred_order, _pay_pressed, _pay_recover,
             _expect_one_paid_order, _goal_payment_opened),
        Flow("line_order", _setup_line, _line_order, _line_recover, _expect_one_paid_order,
             _goal_deferred_created),
        # After the money (issue 25): tickets voided on a full refund, a void retried by the
        # sweeper, an e-mail resent by staff (every flow above also sends e-mails).
        Flow("void_on_refund", _setup_paid_full_refund, _full_refund_post, _full_refund_recover,
             _expect_voided, _expect_voided, form=_full_refund_form, role="finance"),
        Flow("event_cancel", _setup_paid_full_refund, _event_cancel_post, _event_cancel_recover,
             _expect_event_canceled, _expect_event_canceled, form=_event_cancel_form,
             role="finance"),
        Flow("void_sweep", _setup_void_due, _void_sweep_action, _jobs_recover, _expect_voided,
             _expect_voided),
        Flow("email_resend", _setup_resend, _resend_post, _resend_recover, _expect_resent,
             _expect_resent, form=_resend_form, role="support"),
        # A customer's personal data: erased by staff, and by the retention job.
        Flow("erasure", _setup_erasure, _erase_post, _erase_recover, _expect_erased,
             _expect_erased, form=_erase_form, role="finance"),
        Flow("retention", _setup_retention, _retention_action, _retention_recover,
             _expect_erased, _expect_erased),
    ]
}  # fmt: skip


# --- The invariants --------------------------------------------------------------------------


def invariants(run: Run) -> list[str]:
    """What must hold after recovery, whatever failed; each broken one in words."""
    from core.idempotency import idempotency_pk
    from core.models import IdempotencyRecord
    from orders.models import Customer, OrderStatus, TicketType
    from orders.selectors import ticket_type_get
    from payments.models import WebhookEventStatus
    from payments.selectors import payment_get, webhook_event_get

    problems: list[str] = []
    orders = _run_orders(run)
    by_id = {o.order_id: o for o in orders}

    # Seats: sold + held + left = capacity, exactly.
    ticket_type = TicketType.get(run.sku, consistent_read=True)
    left = ticket_type_get(sku=run.sku).available
    in_orders = sum(
        int(i.quantity)
        for o in orders
        if o.status != OrderStatus.CANCELED
        for i in o.items
        if i.sku == run.sku
    )
    if left is None or left < 0 or in_orders + left != int(ticket_type.capacity):
        problems.append(f"seats: {in_orders} in orders + {left} left != {ticket_type.capacity}")
    for o in orders:
        if o.status == OrderStatus.CANCELED and o.seats_held:
            problems.append(f"{o.order_id}: canceled but still holding seats")

    customers = list(Customer.email_index.query(run.email))
    if len(customers) > 1:
        problems.append(f"{len(customers)} customers for one e-mail")

    # Money: every PaymentIntent of this run that Stripe took money on.
    paid_or_later = {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.FULFILLMENT_FAILED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }
    succeeded_per_order: Counter[str] = Counter()
    for intent_id in run.harness.plan.intents[run.intents_from :]:
        intent = _stripe(run, "GET", f"/v1/payment_intents/{intent_id}")
        if intent.get("status") != "succeeded":
            continue
        order_id = (intent.get("metadata") or {}).get("order_id")
        order = by_id.get(order_id)
        if order is None:
            problems.append(f"money taken on {intent_id} and no order of ours has it")
            continue
        succeeded_per_order[order_id] += 1
        if order.payment_intent_id != intent_id:
            problems.append(f"{order_id}: money taken on {intent_id}, not the order's intent")
        payment = payment_get(payment_intent_id=intent_id)
        if payment is None or payment.status != "succeeded":
            problems.append(f"{order_id}: Stripe took the money, the payment item says "
                            f"{payment.status if payment else 'nothing'}")  # fmt: skip
        if order.status not in paid_or_later and order.status != OrderStatus.CANCELED:
            problems.append(f"{order_id}: Stripe took the money, the order is {order.status}")
    for order_id, count in succeeded_per_order.items():
        if count > 1:
            problems.append(f"{order_id}: paid {count} times")

    for o in orders:
        problems += [f"{o.order_id}: {p}" for p in _order_invariants(run, o)]

    # Nothing left in progress.
    try:
        record = IdempotencyRecord.get(
            idempotency_pk(scope="orders", key=run.key, client=run.address), "RECORD"
        )
        if record.status == "IN_PROGRESS":
            problems.append("idempotency record stuck IN_PROGRESS")
    except IdempotencyRecord.DoesNotExist:
        pass
    for event_id in run.events:
        event = webhook_event_get(event_id=event_id)
        if event is not None and event.status == WebhookEventStatus.IN_PROGRESS:
            problems.append(f"webhook event {event_id} stuck in progress")
    return problems


def _order_invariants(run: Run, order: Any) -> list[str]:
    from core.audit import audit_entries_of
    from orders.models import FulfillmentStatus, OrderStatus
    from payments.selectors import payment_get

    problems = []
    entries = audit_entries_of(object_type="orders.order", object_id=order.order_id)
    actions = Counter(e.action for e in entries)
    payment = (
        payment_get(payment_intent_id=order.payment_intent_id) if order.payment_intent_id else None
    )
    paid = order.status in {
        OrderStatus.PAID,
        OrderStatus.FULFILLED,
        OrderStatus.FULFILLMENT_FAILED,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }
    if order.status == OrderStatus.PENDING_PAYMENT:
        problems.append("still pending_payment after the expiry job")
    if paid and actions["paid"] != 1:
        problems.append(f"paid, with {actions['paid']} 'paid' audit entries")
    if order.status == OrderStatus.CANCELED:
        if actions["cancel"] + actions["expire"] != 1:
            problems.append(
                f"canceled, with {actions['cancel'] + actions['expire']} cancel/expire entries"
            )
        if payment is not None and payment.status == "succeeded":
            problems.append("canceled, but its payment succeeded (money on a canceled order)")
    if paid and order.status != OrderStatus.REFUNDED:
        fulfilled = order.fulfillment_status == FulfillmentStatus.FULFILLED
        failed = order.status == OrderStatus.FULFILLMENT_FAILED
        if not fulfilled and not failed:
            problems.append(
                f"paid, fulfillment {order.fulfillment_status}: neither done nor failed"
            )
        if fulfilled:
            keys = {
                r["idempotency_key"] for r in _vendor_requests(run) if r.get("answer") in (200, 201)
            }
            if order.order_id not in keys or not order.tickets or not order.fulfillment_id:
                problems.append("fulfilled without the vendor's fulfillment and tickets")
            if not any(a.outcome == "success" for a in order.fulfillment_attempts or []):
                problems.append("fulfilled without a successful attempt on record")
    problems += _mail_and_ticket_invariants(run, order, paid=paid)
    if order.payment_intent_id and paid:
        charge = _charge_of(run, order.payment_intent_id)
        stripe_refunded = int(charge.get("amount_refunded") or 0)
        ours = int(order.refunded_amount or 0)
        recorded = int(payment.amount_refunded or 0) if payment else 0
        if not (stripe_refunded == ours == recorded):
            problems.append(f"refunded: Stripe {stripe_refunded}, order {ours}, payment {recorded}")
        if stripe_refunded > int(order.total_amount):
            problems.append(f"refunded {stripe_refunded} of a {order.total_amount} charge")
        if run.refund_wanted and stripe_refunded not in (0, run.refund_wanted):
            problems.append(
                f"staff refunded {run.refund_wanted}, Stripe refunded {stripe_refunded}"
            )
        if payment is not None and any(r.status == "reserved" for r in payment.refunds):
            problems.append("a refund reservation left unresolved")
        if ours and not actions["refunded"]:
            problems.append("refund recorded without its audit entry")
    return problems


def _messages_to(run: Run) -> list[dict[str, Any]]:
    """The messages the emulator's SES accepted for the run's buyer."""
    from devstack.stack import sent_emails_read

    return [m for m in sent_emails_read(run.stack.aws_url) if run.email in " ".join(m["to"])]


def _mail_and_ticket_invariants(run: Run, order: Any, *, paid: bool) -> list[str]:
    """The buyer heard what they must, once (SES has no idempotency key: a second copy is
    allowed only when the fault hit the send itself, an answer lost or the process dead
    after SES took it); every e-mail record settled; tickets agree with the vendor."""
    from orders.models import BuyerEmailStatus, OrderStatus, TicketState
    from orders.services.buyer_mail import buyer_emails_of

    problems = []
    records = {r.sk: r for r in buyer_emails_of(order_id=order.order_id)}
    for sk, record in records.items():
        if record.status == BuyerEmailStatus.QUEUED:
            problems.append(f"e-mail {sk} still queued after the jobs ran")
    send_hit = _send_hit(run)
    messages = _messages_to(run)
    due = []
    if paid:
        due.append(("confirmation", f"Your order {order.order_id} is confirmed"))
    if order.tickets:
        due.append(("tickets", f"Your tickets for order {order.order_id}"))
    if order.status == OrderStatus.CANCELED and records.get("cancellation"):
        due.append(("cancellation", f"Your order {order.order_id} is canceled"))
    for sk, subject in due:
        record = records.get(sk)
        if record is None or record.status != BuyerEmailStatus.SENT:
            problems.append(f"{sk} e-mail: {record.status if record else 'never queued'}")
        sent = sum(
            1
            for m in messages
            if m["subject"] == subject and "Sent again at your request" not in m["text"]
        )
        if sent == 0 or (sent > 1 and not send_hit):
            problems.append(f"{sk} e-mail reached the buyer {sent} times")
    at_vendor = _vendor_tickets(run)
    for ticket in order.tickets or []:
        theirs = at_vendor.get(ticket.ticket_id)
        ours = ticket.current_state
        if theirs == "void" and ours not in (TicketState.VOID, TicketState.VOID_PENDING):
            problems.append(f"ticket {ticket.ticket_id} void at the vendor, {ours} here")
        if ours == TicketState.VOID and theirs != "void":
            problems.append(f"ticket {ticket.ticket_id} void here, {theirs} at the vendor")
    if order.status == OrderStatus.REFUNDED and order.void_queue != "failed":
        valid = [t.ticket_id for t in order.tickets or [] if t.current_state != TicketState.VOID]
        if valid:
            problems.append(f"refunded in full, tickets not void and not in the queue: {valid}")
    return problems


# --- Running the matrix ----------------------------------------------------------------------


@dataclass
class PointResult:
    flow: str
    kind: str | None
    at: int
    fired: WireRequest | None
    requests: int
    violations: list[str]
    notes: list[str]
    sent: list[WireRequest] = field(default_factory=list)


def run_point(harness: Harness, flow: Flow, kind: str | None, at: int) -> PointResult:
    """One try: set up, the entry point with request ``at`` failing as ``kind``, recover,
    check."""
    run = Run(harness, seat_shards=flow.seat_shards)
    _vendor_reset(run)
    run.intents_from = len(harness.plan.intents)
    try:
        flow.setup(run)
    except Exception:  # no fault was armed: reported, the matrix goes on
        failure = "set-up failed without a fault: " + traceback.format_exc(limit=6)
        return PointResult(flow.name, kind, at, None, 0, [failure], run.notes)
    goal_missed: list[str] = []
    if kind is None and not flow.goal(run):
        goal_missed.append(f"HARNESS: {flow.name}'s goal holds before its entry point runs")
    harness.plan.arm(kind, at)
    try:
        flow.action(run)
    except SimulatedCrash:
        run.notes.append("crashed")
    except Exception as error:
        run.notes.append(f"entry point raised {type(error).__name__}")
    finally:
        sent = harness.plan.disarm()
        _settle()
    if harness.plan.crashed:
        harness.cold_start()
    fired = harness.plan.fired
    try:
        if kind is None:
            goal_missed += [f"HARNESS: {flow.name}'s clean run: {p}" for p in flow.goal(run)]
        flow.recover(run)
        violations = goal_missed + invariants(run) + flow.expect(run)
    except (Exception, SimulatedCrash):  # a crash delivered late (a loaded machine) is reported
        violations = ["recovery or check failed: " + traceback.format_exc(limit=4)]
    return PointResult(flow.name, kind, at, fired, len(sent), violations, run.notes, sent)


# Faults of people rather than wires, for the staff flows (those with a ``form``): "twice", one
# form sent twice at the same moment (a double click, a browser that resubmits, two tabs of
# one page); "two_staff", two colleagues each confirming the same action on the same object at
# the same moment. One point each per flow: recovery and the invariants then say whether
# anything happened twice (a refund, seats given back, an audit entry).
HUMAN_KINDS = ("twice", "two_staff")


def _send_together(sends: list[tuple[Any, str, dict[str, Any]]]) -> None:
    """Each (browser, url, data) posted from its own thread, released at the same moment."""
    start = threading.Barrier(len(sends))

    def send(browser: Any, url: str, data: dict[str, Any]) -> None:
        start.wait()
        browser.post(url, data)

    threads = [threading.Thread(target=send, args=item) for item in sends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def run_human(harness: Harness, flow: Flow, kind: str) -> PointResult:
    """One try of a human fault (``HUMAN_KINDS``) on a staff flow: set up, the form(s) read,
    sent together, recover, check."""
    assert flow.form is not None and flow.role
    run = Run(harness, seat_shards=flow.seat_shards)
    _vendor_reset(run)
    run.intents_from = len(harness.plan.intents)
    try:
        flow.setup(run)
        first = harness.staff_client(flow.role)
        if kind == "twice":
            url, data = flow.form(run, first)
            window = harness.staff_session(f"faults-{flow.role}")
            sends = [(first, url, data), (window, url, data)]
        else:
            colleague = harness.staff_client(flow.role, "colleague")
            sends = [(first, *flow.form(run, first)), (colleague, *flow.form(run, colleague))]
    except Exception:
        failure = "set-up failed without a fault: " + traceback.format_exc(limit=6)
        return PointResult(flow.name, kind, 0, None, 0, [failure], run.notes)
    harness.plan.arm(None, 0)  # counts what the two submits send; no wire fault
    try:
        _send_together(sends)
    finally:
        sent = harness.plan.disarm()
    fired = WireRequest(0, "staff", kind, kind)
    try:
        flow.recover(run)
        violations = invariants(run) + flow.expect(run)
    except Exception:
        violations = ["recovery or check failed: " + traceback.format_exc(limit=4)]
    return PointResult(flow.name, kind, 0, fired, len(sent), violations, run.notes, sent)


def goal_missed(result: PointResult) -> list[str]:
    """What a clean run says about the harness itself: its flow did not do what it is for."""
    return [v for v in result.violations if v.startswith("HARNESS")]


def _settle() -> None:
    """Let a crash's asynchronous exception land before recovery starts (it is raised in the
    threads of the code under test; one that is idle takes it at its next step)."""
    try:
        time.sleep(0.01)
    except SimulatedCrash:
        pass


def flow_count(harness: Harness, flow: Flow) -> PointResult:
    """The clean run: how many requests the flow sends, and its invariants without a fault."""
    return run_point(harness, flow, None, 0)


def run_matrix(
    harness: Harness,
    flows: list[str],
    kinds: list[str],
    *,
    every: int = 1,
    report: Callable[[str], None] = print,
) -> list[PointResult]:
    results: list[PointResult] = []
    if flows:  # warm up: the config cache filled, the staff signed in, before anything counts
        run_point(harness, FLOWS[flows[0]], None, 0)
    for name in flows:
        flow = FLOWS[name]
        clean = flow_count(harness, flow)
        results.append(clean)
        report(
            f"{name}: {clean.requests} requests in a clean run"
            + (f"; VIOLATIONS {clean.violations}" if clean.violations else "")
        )
        if goal_missed(clean):
            report(
                f"  HARNESS FAILURE: {name}'s clean run does not reach its goal, so its failure"
                f" points would test nothing; skipped. {goal_missed(clean)} {clean.notes}"
            )
            continue
        for kind in kinds:
            started = time.monotonic()
            tried = 0
            broken: list[PointResult] = []
            if kind in HUMAN_KINDS:
                if flow.form is None:
                    continue  # not a staff flow: no person submits anything
                result = run_human(harness, flow, kind)
                results.append(result)
                tried, broken = 1, [result] if result.violations else []
                report(f"  {kind:9} {tried:3} failure points tried, {len(broken)} with violations"
                       f" ({time.monotonic() - started:.0f} s)")  # fmt: skip
                for result in broken:
                    report(f"    {kind}: {result.violations} {result.notes}")
                continue
            for at in range(1, clean.requests + 1, every):
                if not applicable(kind, clean.sent[at - 1].service, clean.sent[at - 1].operation):
                    continue  # e.g. a TransactionConflict on a read
                result = run_point(harness, flow, kind, at)
                results.append(result)
                if result.fired is None:
                    continue
                tried += 1
                if result.violations:
                    broken.append(result)
            report(
                f"  {kind:9} {tried:3} failure points tried, {len(broken)} with violations"
                f" ({time.monotonic() - started:.0f} s)"
            )
            for result in broken:
                report(f"    at {result.fired}: {result.violations} {result.notes}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", nargs="*", default=list(FLOWS))
    parser.add_argument("--kinds", nargs="*", default=[*FAULTS, *HUMAN_KINDS])
    parser.add_argument("--every", type=int, default=1)
    args = parser.parse_args()

    from devstack.stack import stack_start

    stack = stack_start()
    os.environ.update(stack.environment())
    os.environ["LOG_LEVEL"] = "ERROR"  # on stderr; the faults make the app log errors, as it should
    stack.provision_config()
    import django

    django.setup()
    from core.dynamodb import tables_ensure

    tables_ensure()
    harness = Harness(stack)
    harness.attach()
    started = time.monotonic()
    out = sys.stdout

    def report(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    sys.stdout = open(os.devnull, "w")
    try:
        results = run_matrix(harness, args.flows, args.kinds, every=args.every, report=report)
    finally:
        sys.stdout.close()
        sys.stdout = out
        harness.detach()
        stack.stop()
    tried = [r for r in results if r.fired is not None]
    broken = [r for r in results if r.violations]
    by_kind = defaultdict(int)
    for r in tried:
        by_kind[r.kind] += 1
    print(
        f"\n{len(tried)} failure points tried ({dict(by_kind)}) in {len(args.flows)} flows, "
        f"{len(broken)} runs with invariant violations, {time.monotonic() - started:.0f} s"
    )
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
