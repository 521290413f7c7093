"""The back-office table: staff accounts, sessions, audit entries, idempotency records,
processed webhook events, uniqueness claims and rate-limit counters, in one table.

One table because each of these is small, keyed by an id we already know, and several must
change together in one transaction (a customer and the claim on its email, an order and its
idempotency record). Items are told apart by their key prefixes, and **this module is the one
place a prefix is written**: each kind of item is a ``Key`` in ``KEYS`` below (its prefix, its
sort key, what it is, the module that owns it); the models and services build their keys by
calling it (``EMAIL_CLAIM.pk(email)``). ``tests/core/test_backoffice_keys.py`` fails when a
prefix is written anywhere else, or when two kinds' keys could collide.

``gsi1`` (``gsi1pk``/``gsi1sk``) serves the secondary access patterns (e.g. a staff member's
sessions, to revoke them all; the Stripe event inbox by outcome). ``gsi2`` (``gsi2pk``/
``gsi2sk``) serves a second one on the same item (the inbox by event type and outcome).
``expires_at`` is the TTL attribute: DynamoDB deletes expired items within a day or two, so
readers must also check it themselves.

Feature modules read and write their items through their own PynamoDB models on this same
table (declaring the attributes they use); only ``core.models.BackOfficeRecord`` describes
the table for creation, so it carries every key and index attribute.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.dynamodb import BaseMeta, table_name


class BackOfficeMeta(BaseMeta):
    table_name = table_name("backoffice")


@dataclass(frozen=True)
class Key:
    """One kind of item in the back-office table (or of one of its indexes, ``index``).

    ``prefix``: the partition key's start, ending in ``#`` and followed by the parts ``pk()``
    joins with ``#``; or, with ``exact``, the whole partition key. ``sk``: a fixed sort key,
    a sort-key prefix ending in ``#`` (``sk_of()`` appends the parts), or ``{...}`` for one
    the owner forms freely (a time). ``what`` it is and the module that ``owner``s it."""

    prefix: str
    sk: str
    what: str
    owner: str
    exact: bool = False
    index: bool = False

    def pk(self, *parts: object) -> str:
        """The partition key: ``prefix`` and the parts joined with ``#`` (none when exact)."""
        if self.exact and parts:
            raise ValueError(f"{self.prefix} is a whole key: it takes no parts")
        return self.prefix + "#".join(str(part) for part in parts)

    def sk_of(self, *parts: object) -> str:
        """The sort key: the fixed one, or the sort-key prefix and the parts."""
        if not self.sk.endswith("#"):
            if parts:
                raise ValueError(f"{self.prefix}'s sort key {self.sk} takes no parts")
            return self.sk
        return self.sk + "#".join(str(part) for part in parts)

    def strip(self, pk: str) -> str:
        """What follows the prefix in a partition key of this kind (``EVENT#evt_1`` ->
        ``evt_1``)."""
        return pk.removeprefix(self.prefix)


# --- Every kind of item: buyers' side, payments, staff, plumbing ----------------------------

EMAIL_CLAIM = Key("EMAIL#", "CLAIM", "the customer that owns an e-mail address", "orders.models")
TICKET_CODE = Key("TICKET#", "ORDER", "the order a ticket code belongs to", "orders.models")
SEAT_SHARD = Key("SEATS#", "SHARD", "seats left in shard n of a hot ticket type", "orders.models")
LINE = Key(
    "LINE#", "STATE", "an on-sale's line: start, hold, admission cursor, counts",
    "orders.services.line",
)  # fmt: skip
LINE_ARRIVALS = Key(
    "LINE#", "ARRIVALS#", "arrivals in an on-sale's line: ARRIVALS#{second}#{shard} (TTL)",
    "orders.services.line",
)  # fmt: skip
LINE_LIST = Key(
    "LINES", "{sku}", "every on-sale's line, for the dashboard (gsi1pk)", "orders.models",
    exact=True, index=True,
)  # fmt: skip
VENDOR_CIRCUIT = Key(
    "CIRCUIT#", "STATE", "a partner's circuit breaker (vendor)", "orders.services.fulfillment"
)
LIST_BOUND = Key(
    "BOUND#", "FIRST_DAY", "where a day-by-day admin list stops (customers)", "orders.models"
)
BUYER_EMAIL = Key(
    "MAIL#", "{kind}", "one e-mail to an order's buyer (confirmation, tickets, refund#n...)",
    "orders.models",
)  # fmt: skip
DAILY_TOTALS = Key(
    "DAILYTOTALS#", "{day}", "one shard of the dashboard's counters of a day", "orders.models"
)
STRIPE_EVENT = Key("EVENT#", "RECORD", "a Stripe event in the inbox (TTL 30 days)", "payments")
STRIPE_INBOX = Key(
    "STRIPEEVENT", "{outcome or type}", "the Stripe event inbox's lists (gsi1pk, gsi2pk)",
    "payments.models", exact=True, index=True,
)  # fmt: skip
STRIPE_BUDGET = Key(
    "STRIPEBUDGET#", "GCRA", "Stripe's request budget: one bucket per endpoint, one the account's",
    "integrations.stripe_budget",
)  # fmt: skip
HEALTH = Key("HEALTH", "{integration}", "an integration-health marker", "payments", exact=True)
EVENT_CANCEL = Key(
    "EVENTCANCEL#", "RECORD", "an event's cancellation (per ticket type): its progress",
    "payments.services.event_cancellation",
)  # fmt: skip
EVENT_CANCELS_RUNNING = Key(
    "EVENTCANCELRUNNING", "{started_at}", "the event cancellations not done yet (gsi1pk)",
    "payments.services.event_cancellation", exact=True, index=True,
)  # fmt: skip
EVENT_CANCEL_ORDER = Key(
    "EVENTCANCEL#", "ORDER#", "what an event's cancellation did to one order",
    "payments.services.event_cancellation",
)  # fmt: skip
STAFF = Key("STAFF#", "ACCOUNT", "a staff account", "staff.models")
STAFF_FACTOR = Key(
    "STAFF#", "FACTOR#", "a second factor of the account: TOTP, KEY#{credential}, RECOVERY",
    "staff.factors",
)  # fmt: skip
STAFF_LIST = Key(
    "STAFFLIST", "{username}", "every account (gsi1pk)", "staff.models", exact=True, index=True
)
SESSION = Key("SESSION#", "RECORD", "a server-side session (TTL)", "staff.sessions")
SESSION_MESSAGES = Key(
    "SESSION#", "MESSAGES#",
    "admin messages for the session's next page: MESSAGES#{time}#{random} (TTL)",
    "staff.sessions",
)  # fmt: skip
STAFF_SESSIONS = Key(
    "STAFF#", "SESSION#", "a member's sessions, to revoke them all (gsi1)", "staff.sessions",
    index=True,
)  # fmt: skip
SIGNIN_ADDRESS = Key("SIGNIN#ADDR#", "COUNTER", "failed sign-ins of an address (TTL)", "staff")
SIGNIN_NAME = Key("SIGNIN#NAME#", "COUNTER", "failed sign-ins of a username (TTL)", "staff")
SIGNIN_DEVICE = Key(
    "SIGNIN#DEV#", "DEV#", "failed sign-ins of a member's known device (TTL)", "staff"
)
SIGNIN_UNLOCK = Key("SIGNIN#UNLOCK#", "GRANT", "an admin's one-time unlock link (TTL)", "staff")
AUDIT = Key("AUDIT#", "{time}#{n}", "one change of an object", "core.audit")
AUDIT_BY = Key("AUDITBY#", "{time}", "a staff member's changes (gsi1)", "core.audit", index=True)
IDEMPOTENCY = Key(
    "IDEMPOTENCY#", "RECORD", "a replayable API answer: scope, client hash, key (TTL)",
    "core.idempotency",
)  # fmt: skip
RATE = Key("RATE#", "COUNTER", "a rate-limit window (TTL)", "core.ratelimit")
ONCE = Key("ONCE#", "{type}#{id}", "one submit of one admin form (TTL)", "core.submissions")
ONCE_OF = Key(
    "ONCEOF#", "{time}", "an object's submits, for an erasure (gsi1)", "core.submissions",
    index=True,
)  # fmt: skip
ERASURE = Key(
    "ERASURE#", "RECORD", "one customer's erasure (claim, outcome)",
    "orders.services.personal_data",
)  # fmt: skip
ERASURES = Key(
    "ERASURES", "{time}#{customer}", "every erasure by time (gsi1)",
    "orders.services.personal_data",
    exact=True, index=True,
)  # fmt: skip
RETENTION_CURSOR = Key(
    "RETENTION", "CURSOR", "the first day the retention job has not finished",
    "orders.services.retention", exact=True,
)  # fmt: skip
RETENTION_HELD = Key(
    "RETENTION", "HELD#", "a customer due for erasure, refused or failed: tried again",
    "orders.services.retention", exact=True,
)  # fmt: skip
ACTIONS = Key("ACTIONS#", "SEQ", "how many staff actions an object has had", "core.submissions")

KEYS: tuple[Key, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Key))


def _overlap(a: str, a_whole: bool, b: str, b_whole: bool) -> bool:
    """Whether a key formed from ``a`` could equal one formed from ``b`` (each a whole key or
    a prefix)."""
    if a_whole and b_whole:
        return a == b
    if a_whole:
        return a.startswith(b)
    if b_whole:
        return b.startswith(a)
    return a.startswith(b) or b.startswith(a)


def _sk_overlap(a: str, b: str) -> bool:
    if a.startswith("{") or b.startswith("{"):
        return True  # formed freely: could be anything
    return _overlap(a, not a.endswith("#"), b, not b.endswith("#"))


def keys_colliding(keys: tuple[Key, ...] = KEYS) -> list[str]:
    """Pairs of kinds (in the table, or in its indexes) whose keys could be the same item's:
    partition keys that could be equal (``AUDIT#`` and ``AUDIT#X#`` could; ``AUDIT#`` and
    ``AUDITBY#`` cannot) and sort keys that could be too. Empty when every key has one owner."""
    found = []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            if a.index != b.index:
                continue
            if _overlap(a.prefix, a.exact, b.prefix, b.exact) and _sk_overlap(a.sk, b.sk):
                found.append(f"{a.prefix} {a.sk} ({a.owner}) and {b.prefix} {b.sk} ({b.owner})")
    return found
