"""The back-office table: staff accounts, sessions, audit entries, idempotency records,
processed webhook events, uniqueness claims and rate-limit counters, in one table.

One table because each of these is small, keyed by an id we already know, and several must
change together in one transaction (a customer and the claim on its email, an order and its
idempotency record). Items are told apart by their key prefixes::

    pk                          sk                 what
    EMAIL#{normalised email}    CLAIM              the customer that owns the email
    IDEMPOTENCY#{scope}#{client hash}#{key}  RECORD  a replayable API answer (TTL)
    EVENT#{stripe event id}     RECORD             a Stripe event in the inbox (TTL 30 days)
    HEALTH                      {condition}        an integration-health marker
    STAFF#{username}            ACCOUNT            a staff account
    STAFF#{username}            FACTOR#{kind}...   its second factors (TOTP, passkeys, recovery)
    SIGNIN#{ADDR|NAME}#{hash}   COUNTER            failed sign-ins of an address or a username (TTL)
    SIGNIN#DEV#{name hash}      DEV#{device hash}  failed sign-ins of a member's known device (TTL)
    SIGNIN#UNLOCK#{token hash}  GRANT              an admin's one-time unlock link (TTL)
    SESSION#{session key}       RECORD             a server-side session (TTL)
    AUDIT#{object type}#{id}    {time}#{n}         one staff change
    RATE#{client}#{window}      COUNTER            a rate-limit window (TTL)
    SEATS#{sku}#{n}             SHARD              seats left in shard n of a hot ticket type
    ONCE#{nonce}                {type}#{id}        one submit of one admin form (TTL)
    ACTIONS#{type}#{id}         SEQ                how many staff actions an object has had

``gsi1`` (``gsi1pk``/``gsi1sk``) serves the secondary access patterns (e.g. a staff member's
sessions, to revoke them all; the Stripe event inbox by outcome). ``gsi2`` (``gsi2pk``/
``gsi2sk``) serves a second one on the same item (the inbox by event type and outcome). ``expires_at`` is the TTL attribute: DynamoDB deletes expired
items within a day or two, so readers must also check it themselves.

Feature modules read and write their items through their own PynamoDB models on this same
table (declaring the attributes they use); only ``core.models.BackOfficeRecord`` describes
the table for creation, so it carries every key and index attribute.
"""

from __future__ import annotations

from core.dynamodb import BaseMeta, table_name


class BackOfficeMeta(BaseMeta):
    table_name = table_name("backoffice")
