"""The payments app's sources of a customer's personal data (``orders.personal_data``'s
registry; registered from ``PaymentsConfig.ready``): the payments of their orders, our
metadata on their PaymentIntents in Stripe, and the Stripe event inbox.

Payments keep ids, amounts and states, which stay; what may name the person is free text
(a refund's note in staff's words, a failure message), scrubbed. Stripe's metadata on our
PaymentIntents holds only ``order_id`` today; any key an older version or a colleague in
Stripe's dashboard put there that names the person (or is a personal key: ``email``,
``name``...) is removed. The inbox keeps ids and outcomes, never payloads; its error texts
and the audit lines of its events are scrubbed.

Every read is by key or one index partition (``order-id-index``; the inbox's events are
found from the order's audit lines, which name each event that touched it). Must not log a
subject's values.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pynamodb.exceptions import PutError

from core.audit import audit_entries_of, audit_entries_rewrite
from core.config import parameters_get
from core.dynamodb import condition_failed
from core.exceptions import Conflict
from integrations import stripe_client
from integrations.stripe_client import PaymentProviderNotFound
from orders.personal_data import (
    PERSONAL_KEYS,
    PersonalDataSource,
    Subject,
    text_scrub,
)
from orders.services.notes import ORDER_TYPE
from orders.services.personal_data import audit_scrub
from payments.models import Payment, WebhookEvent
from payments.selectors import payment_get, payments_for_order
from payments.services.events import EVENT_OBJECT_TYPE

REFUNDS_IN_FLIGHT = {"reserved", "pending", "requires_action"}
SAVE_ATTEMPTS = 5


def _payments(subject: Subject) -> list[Payment]:
    return [p for o in subject.orders for p in payments_for_order(order_id=o.order_id)]


def _payment_row(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id,
        "order_id": payment.order_id,
        "created_at": payment.created_at,
        "status": payment.status,
        "amount": int(payment.amount),
        "currency": payment.currency,
        "amount_refunded": int(payment.amount_refunded or 0),
        "charge_id": payment.charge_id,
        "disputed": bool(payment.disputed),
        "attempts": [
            {"at": a.at, "status": a.status, "failure_code": a.failure_code,
             "failure_message": a.failure_message}
            for a in payment.attempts or []
        ],
        "refunds": [
            {"refund_id": r.refund_id, "amount": int(r.amount), "status": r.status,
             "created_at": r.created_at, "reason": r.reason, "note": r.note}
            for r in payment.refunds or []
        ],
    }  # fmt: skip


def _payments_export(subject: Subject) -> list[dict[str, Any]]:
    return [_payment_row(p) for p in _payments(subject)]


def _payments_in_flight(subject: Subject) -> list[str]:
    return [
        f"a refund of order {p.order_id} is not settled in Stripe yet ({r.status})"
        for p in _payments(subject)
        for r in p.refunds or []
        if r.status in REFUNDS_IN_FLIGHT
    ]


def _payment_scrub(payment: Payment, subject: Subject) -> bool:
    changed = False
    for refund in payment.refunds or []:
        for name in ("note", "failure_reason"):
            value = getattr(refund, name)
            if value and text_scrub(value, subject) != value:
                setattr(refund, name, text_scrub(value, subject))
                changed = True
    for attempt in payment.attempts or []:
        value = attempt.failure_message
        if value and text_scrub(value, subject) != value:
            attempt.failure_message = text_scrub(value, subject)
            changed = True
    return changed


def _payments_erase(subject: Subject) -> int:
    """Free text on the payments scrubbed; each written with its version as the condition,
    re-read and redone if a webhook moved it meanwhile."""
    changed = 0
    for listed in _payments(subject):
        for _ in range(SAVE_ATTEMPTS):
            payment = payment_get(payment_intent_id=listed.payment_id)
            if payment is None or not _payment_scrub(payment, subject):
                break
            try:
                payment.save()  # conditioned on the version read (its VersionAttribute)
            except PutError as error:
                if not condition_failed(error):
                    raise
                continue  # a webhook moved it meanwhile: read it again
            changed += 1
            break
        else:
            raise Conflict(f"The payment of order {listed.order_id} kept changing; try again.")
    return changed


def _stripe_keys_to_unset(metadata: dict[str, str], subject: Subject) -> list[str]:
    return sorted(
        key
        for key, value in metadata.items()
        if value and (key.lower() in PERSONAL_KEYS or text_scrub(value, subject) != value)
    )


def _stripe_erase(subject: Subject) -> int:
    """Our metadata on the person's PaymentIntents, without their data: read each intent, and
    remove the keys that name them (an idempotent update; none when there are none)."""
    changed = 0
    for intent_id in subject.payment_intent_ids:
        try:
            intent = stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)
        except PaymentProviderNotFound:
            continue  # Stripe has no such intent: nothing of ours there
        keys = _stripe_keys_to_unset(intent.metadata, subject)
        if not keys:
            continue
        digest = hashlib.sha256(",".join(keys).encode()).hexdigest()[:16]
        stripe_client.payment_intent_metadata_unset(
            payment_intent_id=intent_id, keys=keys, idempotency_key=f"erasure:{intent_id}:{digest}"
        )
        changed += 1
    return changed


def _stripe_export(subject: Subject) -> list[dict[str, Any]]:
    """What we put in Stripe about the person's payments: the metadata of each intent."""
    rows = []
    for intent_id in subject.payment_intent_ids:
        try:
            intent = stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)
        except PaymentProviderNotFound:
            continue
        rows.append({"payment_intent_id": intent_id, "metadata": dict(intent.metadata)})
    return rows


def _event_ids(subject: Subject) -> list[str]:
    """The Stripe events that touched the person's orders, from the orders' audit lines."""
    ids = {
        str(r.after.get("event_id"))
        for o in subject.orders
        for r in audit_entries_of(object_type=ORDER_TYPE, object_id=o.order_id)
        if r.action == "stripe_event" and r.after.get("event_id")
    }
    return sorted(ids)


def _events(subject: Subject) -> list[WebhookEvent]:
    found = []
    for event_id in _event_ids(subject):
        try:
            found.append(WebhookEvent.get(WebhookEvent.key_for(event_id), "RECORD"))
        except WebhookEvent.DoesNotExist:
            continue  # past its 30 days (TTL)
    return found


def _events_export(subject: Subject) -> list[dict[str, Any]]:
    return [
        {"event_id": e.stripe_event_id, "type": e.event_type, "outcome": e.outcome,
         "order_id": e.order_id, "payment_intent_id": e.payment_intent_id,
         "received_at": e.received_at, "error": e.error}
        for e in _events(subject)
    ]  # fmt: skip


def _events_erase(subject: Subject) -> int:
    """An event's error text and the audit lines of its replays, scrubbed."""
    changed = 0
    keep_years = parameters_get().retention_audit_years
    for event in _events(subject):
        scrubbed = text_scrub(event.error, subject)
        if scrubbed != event.error:
            event.update(actions=[WebhookEvent.error.set(scrubbed)])
            changed += 1
        changed += audit_entries_rewrite(
            object_type=EVENT_OBJECT_TYPE,
            object_id=event.stripe_event_id,
            rewrite=lambda action, fields: audit_scrub(action, fields, subject),
            keep_years=keep_years,
        )
    return changed


# Registered by the app's ready() (``orders.personal_data.personal_data_module_register``).
PERSONAL_DATA_SOURCES = [
    PersonalDataSource("stripe", _stripe_export, _stripe_erase, order=20),
    PersonalDataSource(
        "payments", _payments_export, _payments_erase, in_flight=_payments_in_flight, order=60
    ),
    PersonalDataSource("stripe_events", _events_export, _events_erase, order=80),
]
