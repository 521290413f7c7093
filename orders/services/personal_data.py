"""A customer's personal data on request: exported (GDPR articles 15 and 20) and erased
(article 17), and the orders app's own sources of it (``orders.personal_data``'s registry).

**Export** (``customer_data_export``): one JSON-ready document of every record that names the
person, one section per registered source (the customer, their orders, notes, audit lines;
the payments app adds payments and Stripe events). Every read is a key lookup or a Query of
one index partition (the customer, ``customer-id-index``, each order's audit partition),
never a Scan. The export itself is audited on the customer, with counts only.

**Erasure** (``customer_erase``): the name, e-mail and phone, the text of notes and the
e-mail claim are replaced by the customer's pseudonym (``orders.personal_data.Pseudonym``,
stable: derived from the customer id) in every source, while ids, amounts, dates and states
stay, so revenue, refunds, the dashboard and the CSV still add up. Steps:

1. refused, with the reasons, while money or tickets are in flight (each source's
   ``in_flight``: unpaid, paid but not fulfilled, a refund pending, a dispute open);
2. claimed (``ErasureRecord``, a conditional put: absent, or in progress with its lease run
   out), so two staff, a double click and the retention job erase once;
3. every source erased, in order (the vendor and Stripe first, then the tables); each finds
   what an earlier, interrupted run already did, so a crash anywhere is resumed by running
   again: the customer record keeps the person's data until the last step, so every later
   run still knows what to look for;
4. one transaction: the customer record pseudonymised, the e-mail claim moved to the
   pseudonym's address, the record marked done and the audit entry written (its summary
   counts what was erased and names none of it; its reason is a choice, not free text).

This module must not log a subject's values (only ids and counts).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from core.audit import (
    AUDIT_NEW,
    audit_entries_of,
    audit_entries_rewrite,
    audit_entry_build,
    audit_record,
)
from core.config import parameters_get
from core.dynamodb import condition_failed, transaction, utc_now_iso
from core.exceptions import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from integrations import vendor_client
from orders.models import (
    ATTENTION_FLAGGED,
    ERASURES_PARTITION,
    Customer,
    CustomerEmailClaim,
    ErasureRecord,
    ErasureStatus,
    Order,
    OrderStatus,
)
from orders.personal_data import (
    NOTE_ERASED,
    PersonalDataSource,
    Subject,
    json_scrub,
    personal_data_sources,
    personal_values_in,
    text_scrub,
)
from orders.services.notes import CUSTOMER_TYPE, NOTE_ACTION, ORDER_TYPE

logger = logging.getLogger(__name__)

ERASE_ACTION = "erase"
EXPORT_ACTION = "export_personal_data"
ERASURE_LEASE_SECONDS = 300  # a run that dies holds the erasure this long, then it resumes

# Why a customer is erased: a choice, never free text (which could name them again).
ERASURE_REASONS = {
    "requested_by_customer": "Requested by the customer (GDPR article 17)",
    "retention_policy": "Retention policy: personal data kept past its time",
}


class ErasureRefused(ValidationFailed):
    """Money or tickets are in flight: the reasons say which orders and what to do first."""

    code = "erasure_refused"


class ErasureInterrupted(ServiceUnavailable):
    """An outside system (the vendor, Stripe) could not be told now; nothing is lost: the
    erasure resumes from where it stopped when it is run again."""

    code = "erasure_interrupted"


@dataclass(frozen=True)
class ErasureOutcome:
    customer_id: str
    already: bool  # erased before: nothing was done now
    counts: dict[str, int]
    resumed: bool = False

    @property
    def summary(self) -> str:
        if self.already:
            return "Personal data was already erased."
        changed = ", ".join(f"{section} {n}" for section, n in self.counts.items() if n)
        return "Personal data erased" + (f" (records changed: {changed})" if changed else "") + "."


# --- The person ---------------------------------------------------------------------------------


def _orders_of(customer_id: str) -> list[Order]:
    """Every order of the customer (``customer-id-index``, paged), each read again by key so
    the states the erasure decides on are current."""
    from orders.selectors import order_get

    found = [o.order_id for o in Order.customer_index.query(customer_id, page_size=100)]
    orders = [order_get(order_id=order_id) for order_id in found]
    return [o for o in orders if o is not None]


def subject_load(*, customer_id: str) -> tuple[Customer, Subject]:
    """The customer (strongly consistent) and the person as the sources are asked about them.
    ``NotFound`` for an unknown id."""
    try:
        customer = Customer.get(customer_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound("No such customer.") from None
    subject = Subject(
        customer_id=customer.customer_id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        orders=_orders_of(customer.customer_id),
    )
    return customer, subject


# --- Export ---------------------------------------------------------------------------------


def customer_data_export(*, customer_id: str, staff: str) -> dict[str, Any]:
    """Every record that names the customer, one section per source, as one JSON-ready
    document; audited on the customer (who, when, how many records; none of the data)."""
    customer, subject = subject_load(customer_id=customer_id)
    sources = sorted(personal_data_sources(), key=lambda s: s.section != "customer")
    sections = {s.section: s.export(subject) for s in sources if s.export is not None}
    document = {
        "format": "ticketstoheaven.personal-data/1",
        "customer_id": customer.customer_id,
        "exported_at": utc_now_iso(),
        "exported_by": staff,
        "erased": bool(customer.erased_at),
        **sections,
    }
    counts = {section: len(rows) for section, rows in sections.items()}
    audit_record(
        staff=staff,
        object_type=CUSTOMER_TYPE,
        object_id=customer.customer_id,
        object_repr=customer.customer_id,
        action=EXPORT_ACTION,
        summary=f"Personal data exported ({sum(counts.values())} records)",
        after={"records": counts},
    )
    logger.info("personal data exported", extra={"customer_id": customer_id, "counts": counts})
    return document


# --- Erasure ------------------------------------------------------------------------------------


def _claim(*, customer_id: str, actor: str, reason: str) -> tuple[ErasureRecord, bool]:
    """Take the customer's erasure (``ErasureRecord``): absent, or in progress with its lease
    run out (a run that died: resumed). Returns the record and whether it resumes one.
    ``Conflict`` while another run holds it."""
    now = int(time.time())
    token = secrets.token_hex(8)
    key = ErasureRecord.key_for(customer_id)
    try:
        existing: ErasureRecord | None = ErasureRecord.get(key, "RECORD", consistent_read=True)
    except DoesNotExist:
        existing = None
    if existing is not None and existing.status == ErasureStatus.DONE:
        return existing, False
    record = ErasureRecord(
        pk=key,
        customer_id=customer_id,
        status=ErasureStatus.IN_PROGRESS.value,
        actor=actor,
        reason=reason,
        claim_token=token,
        lease_until=now + ERASURE_LEASE_SECONDS,
        started_at=existing.started_at if existing else utc_now_iso(),
        runs=int(existing.runs or 0) + 1 if existing else 1,
    )
    record.gsi1sk = f"{record.started_at}#{customer_id}"
    condition = ErasureRecord.pk.does_not_exist()
    if existing is not None:
        condition = (ErasureRecord.status == ErasureStatus.IN_PROGRESS.value) & (
            ErasureRecord.lease_until < now
        ) & (ErasureRecord.claim_token == existing.claim_token)  # fmt: skip
    try:
        record.save(condition=condition)
    except PutError as error:
        if not condition_failed(error):
            raise
        raise Conflict(
            "An erasure of this customer is running right now; it finishes on its own, or "
            f"can be resumed after {ERASURE_LEASE_SECONDS // 60} minutes."
        ) from None
    return record, existing is not None


def _release(record: ErasureRecord) -> None:
    """Give the claim up at once (the run failed: the next one resumes now). Best effort:
    if even this write fails, the lease runs out on its own."""
    try:
        record.update(
            actions=[ErasureRecord.lease_until.set(0)],
            condition=(ErasureRecord.claim_token == record.claim_token)
            & (ErasureRecord.status == ErasureStatus.IN_PROGRESS.value),
        )
    except UpdateError:
        logger.warning("erasure claim not released", extra={"customer_id": record.customer_id})


def erasures_since(*, since: str) -> list[ErasureRecord]:
    """The erasures started at or after ``since`` (ISO), oldest first: one Query of ``gsi1``."""
    return list(
        ErasureRecord.by_time.query(
            ERASURES_PARTITION, ErasureRecord.gsi1sk >= since, scan_index_forward=True
        )
    )


def erasure_refusals(subject: Subject) -> list[str]:
    """Why the person cannot be erased now (each source's ``in_flight``), or nothing."""
    return [reason for source in personal_data_sources() for reason in source.in_flight(subject)]


def customer_erase(*, customer_id: str, actor: str, reason: str) -> ErasureOutcome:
    """Erase the customer's personal data everywhere (see the module's docstring). Exactly
    once: a second call answers ``already``; a call while another runs gets ``Conflict``.
    ``ErasureRefused`` while money or tickets are in flight; ``ErasureInterrupted`` when an
    outside system cannot be told now (run it again: it resumes)."""
    if reason not in ERASURE_REASONS:
        raise ValidationFailed("Choose why the personal data is erased.")
    customer, subject = subject_load(customer_id=customer_id)
    if customer.erased_at:
        return ErasureOutcome(customer_id=customer_id, already=True, counts={})
    refusals = erasure_refusals(subject)
    if refusals:
        raise ErasureRefused("Not erased: " + "; ".join(refusals) + ".")
    record, resumed = _claim(customer_id=customer_id, actor=actor, reason=reason)
    if record.status == ErasureStatus.DONE:
        return ErasureOutcome(customer_id=customer_id, already=True, counts={})
    counts: dict[str, int] = {}
    try:
        for source in personal_data_sources():
            counts[source.section] = source.erase(subject)
        _finish(customer=customer, subject=subject, record=record, counts=counts)
    except Exception:
        # Stopped by a failure it could report (the vendor, Stripe or DynamoDB unreachable):
        # the next run resumes at once. A run that dies instead holds the lease until then.
        _release(record)
        raise
    logger.info(
        "personal data erased",
        extra={"customer_id": customer_id, "counts": counts, "resumed": resumed},
    )
    return ErasureOutcome(customer_id=customer_id, already=False, counts=counts, resumed=resumed)


def _finish(
    *, customer: Customer, subject: Subject, record: ErasureRecord, counts: dict[str, int]
) -> None:
    """The last step, one transaction: the customer pseudonymised, the e-mail claim moved,
    the erasure done, the audit entry. Its conditions (the claim still ours, the customer
    not erased) make it happen once."""
    pseudonym = subject.pseudonym
    now = utc_now_iso()
    summary = ErasureOutcome(customer_id=customer.customer_id, already=False, counts=counts)
    actions = [
        Customer.name.set(pseudonym.name),
        Customer.email.set(pseudonym.email),
        Customer.phone.remove(),
        Customer.erased_at.set(now),
        Customer.updated_at.set(now),
    ]
    for attribute, value in Customer.search_attributes(
        customer_id=customer.customer_id, name=pseudonym.name, email=pseudonym.email
    ).items():
        field = getattr(Customer, attribute)
        actions.append(field.set(value) if value else field.remove())
    entry = audit_entry_build(
        actor=record.actor,
        object_type=CUSTOMER_TYPE,
        object_id=customer.customer_id,
        object_repr=f"{pseudonym.name} ({customer.customer_id})",
        action=ERASE_ACTION,
        summary=summary.summary,
        reason=ERASURE_REASONS[record.reason],
        after={"erased": ["name", "email", "phone", "notes"], "records": counts},
        at=now,
    )
    old_claim = CustomerEmailClaim(pk=CustomerEmailClaim.key_for(customer.email), sk="CLAIM")
    new_claim = CustomerEmailClaim(
        pk=CustomerEmailClaim.key_for(pseudonym.email), customer_id=customer.customer_id
    )
    with transaction() as writes:
        writes.update(
            customer,  # its version moves on: a page read before the erasure cannot save
            actions=actions,
            condition=Customer.erased_at.does_not_exist(),
            add_version_condition=False,
        )
        writes.delete(
            old_claim,
            condition=(CustomerEmailClaim.customer_id == customer.customer_id)
            | CustomerEmailClaim.pk.does_not_exist(),
        )
        writes.save(
            new_claim,
            condition=CustomerEmailClaim.pk.does_not_exist()
            | (CustomerEmailClaim.customer_id == customer.customer_id),
        )
        writes.update(
            record,
            actions=[
                ErasureRecord.status.set(ErasureStatus.DONE.value),
                ErasureRecord.done_at.set(now),
                ErasureRecord.summary.set(summary.summary),
                ErasureRecord.lease_until.set(0),
            ],
            condition=ErasureRecord.claim_token == record.claim_token,
        )
        writes.save(entry, condition=AUDIT_NEW)


# --- The orders app's sources -------------------------------------------------------------------


def _customer_export(subject: Subject) -> list[dict[str, Any]]:
    customer = Customer.get(subject.customer_id, consistent_read=True)
    return [
        {
            "customer_id": customer.customer_id,
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "created_at": customer.created_at,
            "updated_at": customer.updated_at,
            "erased_at": customer.erased_at,
        }
    ]


def _order_row(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "created_at": order.created_at,
        "status": order.status,
        "currency": order.currency,
        "total_amount": int(order.total_amount),
        "refunded_amount": int(order.refunded_amount or 0),
        "customer_email_masked": order.customer_email_masked,
        "items": [
            {"sku": i.sku, "name": i.name, "quantity": int(i.quantity), "amount": int(i.amount)}
            for i in order.items
        ],
        "payment_intent_id": order.payment_intent_id,
        "fulfillment_status": order.fulfillment_status,
        "tickets": [
            {"ticket_id": t.ticket_id, "sku": t.sku, "code": t.code} for t in order.tickets
        ],
        "disputed": bool(order.disputed),
    }


def _orders_export(subject: Subject) -> list[dict[str, Any]]:
    return [_order_row(o) for o in subject.orders]


def _orders_in_flight(subject: Subject) -> list[str]:
    reasons = []
    for order in subject.orders:
        status = order.status
        if status == OrderStatus.PENDING_PAYMENT:
            reasons.append(f"order {order.order_id} is unpaid (cancel it or let it expire first)")
        elif status == OrderStatus.PAID:
            reasons.append(f"order {order.order_id} is paid and its tickets are not issued yet")
        elif status == OrderStatus.FULFILLMENT_FAILED:
            reasons.append(
                f"order {order.order_id} is paid and its tickets failed to issue "
                "(retry fulfillment or refund it first)"
            )
        if order.disputed and order.dispute_flag:
            reasons.append(f"order {order.order_id} has an open dispute")
        if order.attention in ATTENTION_FLAGGED:
            reasons.append(
                f"order {order.order_id} needs attention ({str(order.attention).replace('_', ' ')})"
            )
    return reasons


def _orders_erase(subject: Subject) -> int:
    """The orders keep only a masked e-mail: it becomes the pseudonym's."""
    masked = subject.pseudonym.email_masked
    changed = 0
    for order in subject.orders:
        if order.customer_email_masked == masked:
            continue
        order.update(actions=[Order.customer_email_masked.set(masked)], add_version_condition=False)
        changed += 1
    return changed


def _emails_export(subject: Subject) -> list[dict[str, Any]]:
    """The e-mails sent (or to be sent) to the person about their orders: what, when, where."""
    from orders.services.buyer_mail import buyer_emails_of

    return [
        {
            "order_id": record.order_id,
            "kind": record.mail_kind,
            "status": record.status,
            "sent_to": record.sent_to_masked,
            "sent_at": record.sent_at,
        }
        for order in subject.orders
        for record in buyer_emails_of(order_id=order.order_id)
    ]


def _emails_erase(subject: Subject) -> int:
    """An e-mail record keeps only a masked address: it becomes the pseudonym's. One still
    waiting is not sent (its address is gone): it ends ``suppressed``, out of the queue."""
    from orders.models import BuyerEmail, BuyerEmailStatus
    from orders.services.buyer_mail import buyer_emails_of

    masked = subject.pseudonym.email_masked
    changed = 0
    for order in subject.orders:
        for record in buyer_emails_of(order_id=order.order_id):
            actions = []
            if record.sent_to_masked and record.sent_to_masked != masked:
                actions.append(BuyerEmail.sent_to_masked.set(masked))
            if record.status == BuyerEmailStatus.QUEUED:
                actions += [
                    BuyerEmail.status.set(BuyerEmailStatus.SUPPRESSED.value),
                    BuyerEmail.mail_queue.remove(),
                    BuyerEmail.mail_next_at.remove(),
                ]
            if actions:
                record.update(actions=actions)
                changed += 1
    return changed


def _audit_objects(subject: Subject) -> list[tuple[str, str]]:
    return [(CUSTOMER_TYPE, subject.customer_id)] + [
        (ORDER_TYPE, o.order_id) for o in subject.orders
    ]


def _audit_row(record: Any) -> dict[str, Any]:
    return {
        "at": record.at.isoformat().replace("+00:00", "Z"),
        "by": record.actor,
        "on": f"{record.object_type}:{record.object_id}",
        "action": record.action,
        "summary": record.summary,
        "reason": record.reason,
        "before": record.before,
        "after": record.after,
    }


def _audit_records(subject: Subject) -> list[Any]:
    return [
        record
        for object_type, object_id in _audit_objects(subject)
        for record in audit_entries_of(object_type=object_type, object_id=object_id)
    ]


def _notes_export(subject: Subject) -> list[dict[str, Any]]:
    return [
        {
            "at": r.at.isoformat().replace("+00:00", "Z"),
            "by": r.actor,
            "on": f"{r.object_type}:{r.object_id}",
            "text": r.after.get("text") or r.summary.removeprefix("Note: "),
        }
        for r in _audit_records(subject)
        if r.action == NOTE_ACTION
    ]


def _audit_export(subject: Subject) -> list[dict[str, Any]]:
    return [_audit_row(r) for r in _audit_records(subject) if r.action != NOTE_ACTION]


def audit_scrub(action: str, fields: dict[str, str], subject: Subject) -> dict[str, str]:
    """An audit entry's text with the person replaced: a note's summary whole, the rest by
    ``orders.personal_data``'s rules."""
    scrubbed = {
        "object_repr": text_scrub(fields["object_repr"], subject) or "",
        "summary": text_scrub(fields["summary"], subject) or "",
        "reason": text_scrub(fields["reason"], subject) or "",
        "before": json_scrub(fields["before"], subject) or "{}",
        "after": json_scrub(fields["after"], subject) or "{}",
    }
    if action == NOTE_ACTION:
        scrubbed["summary"] = f"Note: {NOTE_ERASED}"
    return scrubbed


def _audit_erase(subject: Subject) -> int:
    """Notes' text and the person's data in every audit line about the customer and their
    orders; the lines get the retention policy's TTL (the accounting record's end)."""
    keep_years = parameters_get().retention_audit_years
    # A name or phone a staff edit replaced is in the customer's history: look for it too.
    for record in audit_entries_of(object_type=CUSTOMER_TYPE, object_id=subject.customer_id):
        for values in (record.before, record.after):
            subject.earlier |= personal_values_in(json.dumps(values, default=str))
    subject.earlier -= {NOTE_ERASED, subject.pseudonym.name, subject.pseudonym.email, ""}
    return sum(
        audit_entries_rewrite(
            object_type=object_type,
            object_id=object_id,
            rewrite=lambda action, fields: audit_scrub(action, fields, subject),
            keep_years=keep_years,
        )
        for object_type, object_id in _audit_objects(subject)
    )


def _submissions_erase(subject: Subject) -> int:
    """The outcomes of staff's forms on the customer and their orders ("Changed “Ada…”"),
    kept so a second submit is told what the first did."""
    from core.submissions import submissions_rewrite

    return sum(
        submissions_rewrite(
            object_type=object_type,
            object_id=object_id,
            rewrite=lambda text: text_scrub(text, subject) or "",
        )
        for object_type, object_id in _audit_objects(subject)
    )


def _vendor_erase(subject: Subject) -> int:
    """The vendor forgets the buyer of every order it may have been sent (a fulfillment
    requested): one idempotent ``erasure_request`` each."""
    told = 0
    pseudonym = subject.pseudonym
    for order in subject.orders:
        if not (order.fulfillment_id or int(order.fulfillment_attempt_count or 0)):
            continue
        outcome = vendor_client.erasure_request(
            order_id=order.order_id,
            pseudonym_email=pseudonym.email,
            pseudonym_name=pseudonym.name,
        )
        if isinstance(outcome, vendor_client.Retryable):
            raise ErasureInterrupted(
                f"The ticket vendor could not be told for order {order.order_id} "
                f"({outcome.summary}); run the erasure again to resume it."
            )
        if isinstance(outcome, vendor_client.Permanent):
            raise ErasureInterrupted(
                f"The ticket vendor refused the erasure for order {order.order_id}: "
                f"{vendor_client.answer_in_words(outcome.summary)}. Ask the vendor, then run "
                "the erasure again to resume it."
            )
        told += 1
    return told


def _vendor_export(subject: Subject) -> list[dict[str, Any]]:
    """What the vendor was sent about the person: each fulfilled order's buyer (the customer
    section holds the values)."""
    return [
        {"order_id": o.order_id, "fulfillment_id": o.fulfillment_id, "sent": ["email", "name"]}
        for o in subject.orders
        if o.fulfillment_id or int(o.fulfillment_attempt_count or 0)
    ]


# Registered by the app's ready() (``orders.personal_data.personal_data_module_register``).
PERSONAL_DATA_SOURCES = [
    PersonalDataSource("vendor", _vendor_export, _vendor_erase, order=10),
    PersonalDataSource(
        "orders", _orders_export, _orders_erase, in_flight=_orders_in_flight, order=60
    ),
    PersonalDataSource("emails", _emails_export, _emails_erase, order=65),
    PersonalDataSource("notes", _notes_export, order=70),
    PersonalDataSource("audit", _audit_export, _audit_erase, order=70),
    # Not exported: outcome lines of staff's forms, the same facts as the audit lines.
    PersonalDataSource("submissions", None, _submissions_erase, order=75),
    # The customer record and the e-mail claim are erased last, by ``_finish``.
    PersonalDataSource("customer", _customer_export, order=100),
]
