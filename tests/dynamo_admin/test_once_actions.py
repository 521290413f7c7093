"""Every staff action takes effect once: the same form sent twice at once, a stale second tab
sent after the first, and two colleagues confirming at the same moment.

For each action that moves money or state, the form is rendered as a browser renders it and
sent as a browser sends it; the effect is counted where it lands (Stripe's refunds listed for
the PaymentIntent, the stand-in vendor's requests, the order's and the ticket type's items, the
audit log) and what each page said is read back.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from core.audit import SYSTEM_SCHEDULER, audit_entries_of
from orders.models import AttentionReason, TicketType
from orders.services.transitions import order_mark_canceled
from payments.services.sync import payment_sync
from tests.admin_forms import action_form, confirmation_form, edit_form, page_form
from tests.conftest import staff_sign_in
from tests.factories import (
    event_build,
    intent_pay,
    order_create,
    order_get,
    order_paid_in_stripe,
    seats_available,
    stripe_object,
    ticket_type_create,
    webhook_post,
)
from tests.orders.test_attention_queue import QUEUE, section_form
from tests.payments.stripe_down import stripe_unreachable
from tests.vendor import vendor_behave, vendor_requests

pytestmark = pytest.mark.usefixtures("aws")

REPEATED = "This second submit did nothing"
CHANGED = "was changed by someone else since you opened the page"


@dataclass
class Form:
    """A rendered form: where its submit goes and what it sends."""

    url: str
    data: dict[str, Any]


@dataclass
class Target:
    role: str
    render: Callable[[Any], Form]  # a browser opens the page and fills the form in
    effects: Callable[[], int]  # how many times the action landed
    done: str  # what the page says when it did
    objects: int = 1  # rows a bulk form acts on


def _order_url(order_id: str) -> str:
    return f"/admin/orders/order/{order_id}/"


def _paid(aws, client, quantity: int = 2):
    return order_paid_in_stripe(aws, client, items=[("ga", quantity)])


def _audit_count(object_type: str, object_id: str, action: str) -> int:
    entries = audit_entries_of(object_type=object_type, object_id=object_id)
    return sum(1 for e in entries if e.action == action)


def _refund(aws, client) -> Target:
    order = _paid(aws, client)

    def render(browser: Any) -> Form:
        form = confirmation_form(browser, _order_url(order.order_id), "refund", {"amount": "10.00"})
        answers = {"reason": "requested_by_customer", "note": "asked twice"}
        return Form(f"{_order_url(order.order_id)}action/refund/", {**form, **answers})

    def effects() -> int:
        listed = stripe_object(aws, f"/v1/refunds?payment_intent={order.payment_intent_id}")
        return len(listed["data"])

    return Target("finance", render, effects, "Refund of USD 10.00 requested")


def _cancel(aws, client) -> Target:
    order = order_create(items=[("ga", 2)])

    def render(browser: Any) -> Form:
        form = confirmation_form(browser, _order_url(order.order_id), "cancel")
        answers = {"reason": "requested_by_customer", "note": "asked by phone"}
        return Form(f"{_order_url(order.order_id)}action/cancel/", {**form, **answers})

    def effects() -> int:
        assert seats_available("ga") == 10  # given back, once
        return _audit_count("orders.order", order.order_id, "cancel")

    return Target("support", render, effects, "was canceled and its seats released")


def _retry(aws, client) -> Target:
    vendor_behave(aws, "reject", times=1)
    order = _paid(aws, client)
    assert order_get(order.order_id).status == "fulfillment_failed"
    sent_before = len(vendor_requests(aws))

    def render(browser: Any) -> Form:
        form = action_form(browser, _order_url(order.order_id), "retry_fulfillment")
        return Form(f"{_order_url(order.order_id)}action/retry_fulfillment/", form)

    def effects() -> int:
        return len(vendor_requests(aws)) - sent_before

    return Target("support", render, effects, "was started again")


def _sync(aws, client) -> Target:
    order = order_create(items=[("ga", 2)], age_minutes=2)
    intent_pay(aws, order.payment_intent_id)

    def render(browser: Any) -> Form:
        form = action_form(browser, _order_url(order.order_id), "sync_payment")
        return Form(f"{_order_url(order.order_id)}action/sync_payment/", form)

    def effects() -> int:
        assert seats_available("ga") == 8  # sold once
        return _audit_count("orders.order", order.order_id, "paid")

    return Target("support", render, effects, "Synced with Stripe.")


def _bulk_sync(aws, client) -> Target:
    orders = [order_create(items=[("ga", 1)], age_minutes=2) for _ in range(2)]
    for order in orders:
        intent_pay(aws, order.payment_intent_id)

    def render(browser: Any) -> Form:
        html = browser.get("/admin/orders/order/").content.decode()
        hidden = {k: v for k, v in page_form(html, "changelist-form").items() if k == "_once"}
        selected = [o.order_id for o in orders]
        data = {**hidden, "action": "sync_payment", "_selected_action": selected}
        return Form("/admin/orders/order/", data)

    def effects() -> int:
        assert seats_available("ga") == 8
        counts = {_audit_count("orders.order", o.order_id, "paid") for o in orders}
        assert len(counts) == 1, counts
        return counts.pop()

    return Target("support", render, effects, "Synced with Stripe.", objects=2)


def _replay(aws, client, monkeypatch) -> Target:
    order = order_create(items=[("ga", 2)])
    event = event_build("payment_intent.succeeded", intent_pay(aws, order.payment_intent_id))
    with stripe_unreachable(monkeypatch):
        assert webhook_post(client, aws, event).status_code == 503
    url = f"/admin/payments/stripeevent/{event['id']}/"

    def render(browser: Any) -> Form:
        return Form(f"{url}action/replay/", action_form(browser, url, "replay"))

    def effects() -> int:
        return _audit_count("payments.stripeevent", event["id"], "replay")

    return Target("support", render, effects, "Replayed payment_intent.succeeded")


def _capacity(aws, client) -> Target:
    url = "/admin/orders/tickettype/ga/"

    def render(browser: Any) -> Form:
        values = {"name": "GA", "description": "", "unit_amount": "60.00", "capacity": 110}
        return Form(f"{url}change/", {**edit_form(browser, url), **values, "active": "on"})

    def effects() -> int:
        ga = TicketType.get("ga")
        assert (ga.capacity, ga.available, ga.unit_amount) == (110, 110, 6000)
        return _audit_count("orders.tickettype", "ga", "change")

    return Target("finance", render, effects, "was changed successfully")


def _staff_role(aws, client, make_staff) -> Target:
    make_staff("support", "sam")
    url = "/admin/staff/staff/sam/"

    def render(browser: Any) -> Form:
        values = {"email": "sam@staff.example", "role": "finance", "is_active": "on"}
        return Form(f"{url}change/", {**edit_form(browser, url), **values})

    def effects() -> int:
        return _audit_count("staff.staff", "sam", "change")

    return Target("admin", render, effects, "was changed successfully")


def _staff_password(aws, client, make_staff) -> Target:
    make_staff("support", "sam")
    url = "/admin/staff/staff/sam/"

    def render(browser: Any) -> Form:
        form = action_form(browser, url, "set_password")
        return Form(f"{url}action/set_password/", {**form, "new_password": "a fresh long phrase"})

    def effects() -> int:
        return _audit_count("staff.staff", "sam", "set_password")

    return Target("admin", render, effects, "Set a new password for sam")


def _paid_after_cancel(aws) -> Any:
    order = order_create(items=[("ga", 2)], age_minutes=60)
    order_mark_canceled(order_id=order.order_id, reason="expired", actor=SYSTEM_SCHEDULER)
    intent_pay(aws, order.payment_intent_id)
    payment_sync(payment_intent_id=order.payment_intent_id, actor=SYSTEM_SCHEDULER)
    return order_get(order.order_id)


def _queue_form(browser: Any, order_id: str) -> Form:
    form = section_form(browser, AttentionReason.PAID_CANCELED)
    return Form(QUEUE, {**form, "action": "reinstate_or_refund", "only": order_id})


def _reinstate(aws, client) -> Target:
    order = _paid_after_cancel(aws)

    def effects() -> int:
        assert seats_available("ga") == 8  # taken again, once
        return _audit_count("orders.order", order.order_id, "reinstate")

    return Target("finance", lambda b: _queue_form(b, order.order_id), effects, "was reinstated")


def _queue_refund(aws, client) -> Target:
    order = _paid_after_cancel(aws)
    order_create(items=[("ga", 9)])  # the seats are gone: the payment is refunded instead

    def effects() -> int:
        listed = stripe_object(aws, f"/v1/refunds?payment_intent={order.payment_intent_id}")
        return len(listed["data"])

    return Target(
        "finance", lambda b: _queue_form(b, order.order_id), effects, "its payment was refunded"
    )


ACTIONS = {
    "refund": _refund,
    "cancel": _cancel,
    "retry_fulfillment": _retry,
    "sync_with_stripe": _sync,
    "bulk_sync_on_the_list": _bulk_sync,
    "replay_event": _replay,
    "ticket_type_capacity_and_price": _capacity,
    "staff_role": _staff_role,
    "staff_password": _staff_password,
    "reinstate": _reinstate,
    "queue_refund": _queue_refund,
}


@pytest.fixture(params=sorted(ACTIONS))
def target(request, aws, client, make_staff, monkeypatch) -> Target:
    ticket_type_create(sku="ga", unit_amount=5000, available=10)
    build = ACTIONS[request.param]
    extra = {"make_staff": make_staff} if request.param.startswith("staff_") else {}
    if request.param == "replay_event":
        extra = {"monkeypatch": monkeypatch}
    return build(aws, client, **extra)


def _twin(username: str) -> Any:
    """The same staff member signed in a second time (a second window): the form is theirs,
    and each window keeps its own messages (one session's would be shared between threads)."""
    from django.test import Client

    twin = Client(raise_request_exception=False)
    signed_in = staff_sign_in(twin, username)  # with the second factor, for finance and admin
    assert signed_in.status_code == 302
    return twin


def _messages(*pages: str) -> list[tuple[str, str]]:
    """The messages the pages show: (level, text)."""
    return [
        (level, text)
        for page in pages
        for level, text in re.findall(
            r'<li class="(success|warning|error|info)">(.*?)</li>', page, flags=re.S
        )
    ]


def _said(pages: list[str] | str, level: str, text: str) -> int:
    """How many of the pages' messages of ``level`` say ``text``."""
    pages = [pages] if isinstance(pages, str) else pages
    return sum(1 for lvl, said in _messages(*pages) if lvl == level and text in said)


def _send_at_once(sends: list[tuple[Any, Form]]) -> list[str]:
    """Each (browser, form) submitted at the same moment from its own thread; the pages."""
    start = threading.Barrier(len(sends))
    pages: list[str] = [""] * len(sends)

    def send(n: int, browser: Any, form: Form) -> None:
        start.wait()
        pages[n] = browser.post(form.url, form.data, follow=True).content.decode()

    threads = [threading.Thread(target=send, args=(n, b, f)) for n, (b, f) in enumerate(sends)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return pages


def test_one_form_sent_twice_at_once_acts_once_and_the_second_page_says_so(target, staff_client):
    browser = staff_client(target.role, "first")
    form = target.render(browser)

    pages = _send_at_once([(browser, form), (_twin("first"), form)])

    assert target.effects() == 1
    assert _said(pages, "success", target.done) == target.objects, _messages(*pages)
    assert _said(pages, "warning", REPEATED) == target.objects, _messages(*pages)


def test_a_stale_second_tab_sent_after_the_first_does_nothing_and_says_what_happened(
    target, staff_client
):
    browser = staff_client(target.role, "first")
    first_tab = target.render(browser)
    second_tab = target.render(_twin("first"))  # opened before the first was sent

    done = browser.post(first_tab.url, first_tab.data, follow=True).content.decode()
    stale = browser.post(second_tab.url, second_tab.data, follow=True).content.decode()
    again = browser.post(first_tab.url, first_tab.data, follow=True).content.decode()

    assert target.effects() == 1
    assert _said(done, "success", target.done) == target.objects, _messages(done)
    assert _said(stale, "error", CHANGED) == target.objects, _messages(stale)
    assert _said(stale, "error", "first ran") == target.objects  # who did what
    assert _said(stale, "success", "") == 0
    # The first tab sent again (the browser's resubmit): "already done", by whom.
    assert _said(again, "warning", REPEATED) == target.objects, _messages(again)
    assert _said(again, "warning", "by first, ") == target.objects


def test_two_staff_confirming_at_once_act_once_and_the_second_is_told_what_changed(
    target, staff_client
):
    ada = staff_client(target.role, "ada")
    bob = staff_client(target.role, "bob")
    ada_form, bob_form = target.render(ada), target.render(bob)

    pages = _send_at_once([(ada, ada_form), (bob, bob_form)])

    assert target.effects() == 1
    assert _said(pages, "success", target.done) == target.objects, _messages(*pages)
    assert _said(pages, "error", CHANGED) == target.objects, _messages(*pages)
