"""The project's own PynamoDB models (shared plumbing, no app's business), all in the
back-office table: the table's description for creation, the audit log, Idempotency-Key
records, rate-limit counters and Stripe's request budget.

Each is written only by its own module (``core.audit``, ``core.idempotency``,
``core.ratelimit``); nothing else touches them.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from core.backoffice import ONCE_OF, BackOfficeMeta
from core.dynamodb import Model, register


class Gsi1Index(GlobalSecondaryIndex["BackOfficeRecord"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2Index(GlobalSecondaryIndex["BackOfficeRecord"]):
    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class MailQueueIndex(GlobalSecondaryIndex["BackOfficeRecord"]):
    """Sparse: only the buyers' e-mails waiting to be sent carry ``mail_queue``
    (``orders.models.BuyerEmail``). An index of its own, not a ``gsi1`` partition, so the public
    function's role is granted this queue and nothing else of the table's lists."""

    class Meta:
        index_name = "mail-queue-index"
        projection = AllProjection()

    mail_queue = UnicodeAttribute(hash_key=True)
    mail_next_at = UnicodeAttribute(range_key=True)


@register
class BackOfficeRecord(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    mail_queue = UnicodeAttribute(null=True)
    mail_next_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    gsi1 = Gsi1Index()
    gsi2 = Gsi2Index()
    mail_queue_index = MailQueueIndex()


class IdempotencyRecord(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="idempotency")
    status = UnicodeAttribute()
    payload_hash = UnicodeAttribute()
    lease_until = NumberAttribute()
    subject_id = UnicodeAttribute()  # e.g. the order id this request creates
    response_status = NumberAttribute(null=True)
    response_body = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class RateCounter(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class StripeBudgetBucket(Model):
    """One of Stripe's limits as a GCRA bucket: ``STRIPEBUDGET#{endpoint or account}`` /
    ``GCRA``, ``tat`` in microseconds. Written only by ``integrations.stripe_budget``."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="stripe_budget")
    tat = NumberAttribute(null=True)


class _AuditGsi1(GlobalSecondaryIndex["AuditEntry"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class AuditEntry(Model):
    """One thing that happened to one object: ``AUDIT#{object type}#{object id}`` /
    ``{time}#{random}``, with who did it (a staff username, or ``system#{what}`` for Stripe,
    the scheduler, fulfillment), what (an action name and a one-line summary), the reason,
    and the object's fields before and after.

    Staff entries are also in ``gsi1`` (``AUDITBY#{username}`` / time: "Recent actions");
    system entries leave ``gsi1pk`` unset so they stay out of that sparse index.
    """

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="audit")
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    staff = UnicodeAttribute()  # the actor: a username, or "system#stripe" and the like
    action = UnicodeAttribute()  # "add", "change", "cancel", "paid", "refunded", ...
    object_type = UnicodeAttribute()  # "{app_label}.{model_name}", e.g. "orders.order"
    object_id = UnicodeAttribute()
    object_repr = UnicodeAttribute()
    summary = UnicodeAttribute(default="")
    reason = UnicodeAttribute(default="")
    before = UnicodeAttribute(default="{}")  # JSON
    after = UnicodeAttribute(default="{}")  # JSON
    # Set only when the customer the entry is about is erased: the retention policy's end of
    # the accounting record (the table's TTL then deletes it). Absent: kept.
    expires_at = TTLAttribute(null=True)

    gsi1 = _AuditGsi1()


class _SubmissionGsi1(GlobalSecondaryIndex["SubmissionRecord"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class SubmissionRecord(Model):
    """One submit of one admin form for one object: ``ONCE#{nonce}`` / ``{object type}#{id}``
    (a bulk action's one form claims one item per selected object). Written only by
    ``core.submissions``: claimed ``in_progress`` with a lease, then ``done`` or
    ``failed`` with what happened, which a second submit of the same form is told.

    Also in ``gsi1`` under ``ONCEOF#{object type}#{id}`` (by claim time): an object's submits
    are one Query, so a customer's erasure finds the outcomes that name them."""

    class Meta(BackOfficeMeta):
        pass

    PER_OBJECT = ONCE_OF.prefix

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="submission")
    status = UnicodeAttribute()  # in_progress | done | failed
    action = UnicodeAttribute()
    user = UnicodeAttribute()
    claimed_at = UnicodeAttribute()
    lease_until = NumberAttribute()
    done_at = UnicodeAttribute(null=True)
    summary = UnicodeAttribute(default="")
    expires_at = TTLAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)

    by_object = _SubmissionGsi1()


class ActionSequence(Model):
    """How many staff actions an object has had: ``ACTIONS#{object type}#{id}`` / ``SEQ``.
    A form carries the number it was rendered at; claiming a submit moves it on in the same
    transaction, so of two colleagues acting on what they both saw, the second is told what
    the first did. Written only by ``core.submissions``."""

    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute(default="action_sequence")
    seq = NumberAttribute(default=0)
    last_nonce = UnicodeAttribute(null=True)
    last_action = UnicodeAttribute(null=True)
    last_user = UnicodeAttribute(null=True)
    last_at = UnicodeAttribute(null=True)
    last_summary = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
