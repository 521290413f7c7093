"""The admin's needs-attention queue: every order whose money and state disagree, grouped by
reason, each row with the one action that resolves it (``/admin/attention/``).

| reason | read from | action |
| --- | --- | --- |
| paid, not fulfilled after ``PAID_NOT_FULFILLED_AFTER`` | ``order-status-index`` (paid, created before the threshold) | Retry fulfillment (bulk) |
| fulfillment failed | ``order-status-index`` | Retry fulfillment (bulk) |
| paid in Stripe after it was canceled | ``order-attention-index`` | Reinstate (seats free) or refund |
| refund not confirmed by Stripe | ``order-attention-index`` | Sync with Stripe (bulk) |
| dispute open | ``order-dispute-index`` | Answer it in Stripe (before the evidence due date); Sync |
| pending, but the payment succeeded | ``order-attention-index`` | Sync with Stripe (bulk) |
| tickets not voided (vendor refused, or kept failing) | ``void-queue-index`` (``failed``) | Retry the void (bulk); on the order page, "Leave the tickets valid" |

Each reason is one Query of one index partition (``orders.selectors.orders_needing_attention``,
oldest first, at most ``SHOWN``): no Scan, a fixed cost whatever the tables hold. An action
calls the same service as everywhere else (``payment_sync``, ``orders.actions``'s
``fulfillment_retry`` and ``order_reinstate``, ``refund_create``), which records its audit entry, and the write that
resolves the state takes the order out of its partition. Each section's form is a one-time form
(``dynamo_admin.once``): sent twice it acts once, and an order a colleague acted on since the
page was rendered is left alone, with what they did. It lives in the payments app because
its actions reach both apps (payments -> orders, never back); the dashboard (orders) links its
counts by URL name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.dynamodb import iso_utc, utc_now
from core.exceptions import ApplicationError
from core.formatting import label, money_format, when
from dynamo_admin import once
from integrations.vendor_client import answer_in_words
from orders import actions as order_actions
from orders import selectors as order_selectors
from orders.models import AttentionReason, Order
from payments import selectors
from payments.services.refunds import refund_create
from payments.services.sync import payment_sync

SHOWN = 100  # rows per reason; the page says "100+" beyond
# A paid order normally has its tickets within a minute; past this it waits on a long backoff
# or its attempt was lost.
PAID_NOT_FULFILLED_AFTER = timedelta(minutes=30)
STRIPE_DISPUTE_URL = "https://dashboard.stripe.com/disputes/{}"


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    permission: str
    # (request, order, the submit's id: a refund's Stripe idempotency key derives from it)
    run: Callable[[HttpRequest, Order, str], str]
    bulk: bool = False


@dataclass(frozen=True)
class Reason:
    reason: AttentionReason
    title: str
    explanation: str
    detail: Callable[[Order], str]
    action: Action


def _retry(request: HttpRequest, order: Order, submission_id: str) -> str:
    order_actions.fulfillment_retry(order_id=order.order_id, staff=request.user.get_username())
    return f"Fulfillment of order {order.order_id} was started again."


def _sync(request: HttpRequest, order: Order, submission_id: str) -> str:
    if not order.payment_intent_id:
        raise ApplicationError("This order has no payment to sync.")
    result = payment_sync(
        payment_intent_id=order.payment_intent_id, actor=request.user.get_username()
    )
    return f"Synced with Stripe. {result.describe()}"


def _reinstate_or_refund(request: HttpRequest, order: Order, submission_id: str) -> str:
    staff = request.user.get_username()
    if order_actions.order_reinstate(order_id=order.order_id, staff=staff):
        return f"Order {order.order_id} was reinstated: paid, its seats taken, tickets on the way."
    outcome = refund_create(
        order_id=order.order_id,
        amount=None,
        staff=staff,
        idempotency_key=f"refund:{order.order_id}:{submission_id}",
    )
    return (
        f"The seats of order {order.order_id} are gone, so its payment was refunded: "
        f"{money_format(outcome.amount, order.currency)} ({outcome.status})."
    )


def _refund_detail(order: Order) -> str:
    payment = (
        selectors.payment_get(payment_intent_id=order.payment_intent_id)
        if order.payment_intent_id
        else None
    )
    waiting = [r for r in (payment.refunds if payment else []) if r.status == "reserved"]
    asked = sum(int(r.amount) for r in waiting)
    return (
        f"Refunded {money_format(int(order.refunded_amount or 0), order.currency)}; "
        f"{money_format(asked, order.currency)} asked for here has no answer from Stripe"
    )


def _dispute_detail(order: Order) -> str:
    due = when(order.dispute_evidence_due_by) if order.dispute_evidence_due_by else "unknown"
    status = (order.dispute_status or "open").replace("_", " ")
    return f"{status}; evidence due {due}"


def _paid_detail(order: Order) -> str:
    return (
        f"Fulfillment {label(order.fulfillment_status)}, "
        f"{int(order.fulfillment_attempt_count or 0)} attempt(s)"
    )


def _void_retry(request: HttpRequest, order: Order, submission_id: str) -> str:
    order_actions.void_retry(order_id=order.order_id, staff=request.user.get_username())
    return f"The void of the tickets of order {order.order_id} was asked again."


RETRY = Action("retry", "Retry fulfillment", "orders.retry_fulfillment_order", _retry, bulk=True)
SYNC = Action("sync", "Sync with Stripe", "orders.sync_payment_order", _sync, bulk=True)

REASONS = [
    Reason(
        AttentionReason.PAID_NOT_FULFILLED,
        "Paid, not fulfilled",
        f"Paid more than {int(PAID_NOT_FULFILLED_AFTER.total_seconds() // 60)} minutes after "
        "it was placed and still without tickets.",
        _paid_detail,
        RETRY,
    ),
    Reason(
        AttentionReason.FULFILLMENT_FAILED,
        "Fulfillment failed",
        "The ticket vendor refused, or every retry failed.",
        lambda o: answer_in_words(o.fulfillment_failure_reason),
        RETRY,
    ),
    Reason(
        AttentionReason.PAID_CANCELED,
        "Paid after it was canceled",
        "Stripe took the money after the order expired or was canceled. Reinstating takes its "
        "seats again if they are still free; otherwise the payment is refunded in full.",
        lambda o: f"{money_format(int(o.total_amount), o.currency)} taken",
        Action(
            "reinstate_or_refund",
            "Reinstate (seats free) or refund",
            "orders.refund_order",
            _reinstate_or_refund,
        ),
    ),
    Reason(
        AttentionReason.REFUND_MISMATCH,
        "Refund not confirmed by Stripe",
        "A refund asked for here has no answer from Stripe recorded (Stripe could not be "
        "reached). Syncing records what Stripe did with it.",
        _refund_detail,
        SYNC,
    ),
    Reason(
        AttentionReason.DISPUTE_OPEN,
        "Dispute open",
        "The buyer disputed the charge: answer it in Stripe before the evidence is due. "
        "Syncing picks up Stripe's decision.",
        _dispute_detail,
        SYNC,
    ),
    Reason(
        AttentionReason.PENDING_SUCCEEDED,
        "Awaiting payment, but the payment succeeded",
        "Stripe says the payment succeeded and the order was not paid here. Syncing pays it "
        "and starts fulfillment.",
        lambda o: f"{money_format(int(o.total_amount), o.currency)} paid in Stripe",
        SYNC,
    ),
    Reason(
        AttentionReason.VOID_FAILED,
        "Tickets not voided",
        "Money went back but the vendor did not void the tickets: it refused (a ticket already "
        "scanned at the gate) or every retry failed. Retry once the vendor answers again; a "
        "refusal stands: open the order and leave its tickets valid.",
        lambda o: o.void_failure_reason or "",
        Action(
            "void_retry", "Retry the void", "orders.retry_fulfillment_order", _void_retry, bulk=True
        ),
    ),
]
BY_NAME = {r.reason.value: r for r in REASONS}


OBJECT_TYPE = "orders.order"  # the one-time forms' object type: the order admin's


def _section_token(request: HttpRequest, action: Action, orders: list[Order]) -> str:
    """The section form's one-time token, carrying each row's action sequence."""
    keys = [o.order_id for o in orders]
    return once.token_issue(
        request,
        object_type=OBJECT_TYPE,
        action=action.name,
        sequences=once.submissions().sequences(object_type=OBJECT_TYPE, keys=keys),
    )


def attention_sections(*, limit: int = SHOWN) -> list[tuple[Reason, list[Order]]]:
    """Each reason with its orders, oldest first (one Query each)."""
    paid_before = iso_utc(utc_now() - PAID_NOT_FULFILLED_AFTER)
    return [
        (
            r,
            order_selectors.orders_needing_attention(
                reason=r.reason, limit=limit, paid_before=paid_before
            ),
        )
        for r in REASONS
    ]


def _row(reason: Reason, order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "url": reverse("admin:orders_order_change", args=[order.order_id]),
        "created": when(order.created_at),
        "status": label(order.status),
        "total": money_format(int(order.total_amount), order.currency),
        "detail": reason.detail(order),
        "stripe_url": STRIPE_DISPUTE_URL.format(order.dispute_id)
        if reason.reason == AttentionReason.DISPUTE_OPEN and order.dispute_id
        else None,
    }


def _run(request: HttpRequest) -> HttpResponse:
    reason = BY_NAME.get(request.POST.get("reason", ""))
    if reason is None or request.POST.get("action") != reason.action.name:
        messages.error(request, "Unknown action.")
        return HttpResponseRedirect(request.path)
    if not request.user.has_perm(reason.action.permission):
        raise PermissionDenied
    only = request.POST.get("only")
    order_ids = [only] if only else request.POST.getlist("order_id")
    back = HttpResponseRedirect(f"{request.path}#{reason.reason.value}")
    if not order_ids or (len(order_ids) > 1 and not reason.action.bulk):
        messages.error(request, "Choose one order for this action." if order_ids else
                       "Select at least one order.")  # fmt: skip
        return back
    try:
        token = once.token_read(request, object_type=OBJECT_TYPE, action=reason.action.name)
    except once.StaleForm as stale:
        messages.error(request, f"{stale.message} The page was opened again: choose again.")
        return back
    for order_id in list(dict.fromkeys(order_ids))[:SHOWN]:
        order = order_selectors.order_get(order_id=order_id)
        if order is None:
            messages.error(request, f"No order {order_id}.")
            continue
        _run_once(request, reason.action, order, token)
    return back


def _run_once(request: HttpRequest, action: Action, order: Order, token: once.FormToken) -> None:
    """``action`` on ``order``, once for this submit of the section's form."""
    claim, refusal = once.claim_submit(
        once.submissions(),
        token,
        object_id=order.order_id,
        label=action.label,
        name=order.order_id,
        noun="order",
        user=request.user.get_username(),
    )
    if claim is None:
        messages.add_message(request, refusal.level, refusal.text)
        return
    try:
        done = action.run(request, order, claim.nonce)
    except ApplicationError as error:
        claim.finish(f"Order {order.order_id}: {error.message}", failed=True)
        messages.error(request, f"Order {order.order_id}: {error.message}")
        return
    except BaseException:
        claim.release()  # it raised before saying what it did: the form may be sent again
        raise
    claim.finish(done, failed=False)
    messages.success(request, done)


def attention_view(request: HttpRequest, site: admin.AdminSite) -> HttpResponse:
    if not request.user.has_perm("orders.view_dashboard"):
        raise PermissionDenied
    if request.method == "POST":
        return _run(request)
    sections = []
    for r, orders in attention_sections():
        action = r.action if request.user.has_perm(r.action.permission) else None
        sections.append(
            {
                "reason": r.reason.value,
                "title": r.title,
                "explanation": r.explanation,
                "rows": [_row(r, o) for o in orders],
                "more": len(orders) >= SHOWN,
                "action": action,
                "token": _section_token(request, action, orders) if action and orders else "",
            }
        )
    context = {
        **site.each_context(request),
        "title": "Needs attention",
        "subtitle": None,
        "sections": sections,
        "total": sum(len(s["rows"]) for s in sections),
    }
    return TemplateResponse(request, "admin/backoffice/attention.html", context)


def site_urls(site: admin.AdminSite) -> list[Any]:
    def view(request: HttpRequest) -> HttpResponse:
        return attention_view(request, site)

    return [path("attention/", site.admin_view(view), name="attention")]
