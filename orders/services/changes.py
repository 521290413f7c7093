"""One order change and its audit entry: the write every order service that changes state
goes through (transitions, fulfillment).

``order_change`` runs a conditional UpdateItem of the order and the put of its audit entry
(``core.audit``) in one transaction, so a change is never left unrecorded and a repeated
event whose condition fails records nothing. Another transaction on the same order at the
same moment (DynamoDB's ``TransactionConflict``) is retried with jittered backoff.

``order_change(..., audit_after=True)`` is for fulfillment attempts only: the conditional
UpdateItem alone, then the entry's put. The attempt itself (time, outcome, the vendor's
answer) is recorded on the order by that same UpdateItem, so the audit entry is its copy for
the order's story, and a crash between the two writes loses nothing the order does not hold.
Attempts come in bulk (a backlog draining), where a transaction per attempt would double the
write cost and, on the local emulator, copy every table the transaction touches (moto's
rollback), which made draining 1,000 orders time out.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from core.audit import AUDIT_NEW, audit_entry_build, audit_entry_save
from core.dynamodb import cancellation_codes, transaction, utc_now_iso
from orders.models import Order

logger = logging.getLogger(__name__)

TRANSACTION_ATTEMPTS = 6


def conditional_failure(error: Exception) -> bool:
    """True when a write (or a transaction) failed on its condition: someone else got there
    first."""
    code = getattr(error, "cause_response_code", None)
    if code == "ConditionalCheckFailedException":
        return True
    if isinstance(error, TransactWriteError) and code == "TransactionCanceledException":
        return any(
            reason is not None and reason.code == "ConditionalCheckFailed"
            for reason in error.cancellation_reasons
        )
    return False


def transact(write: Callable[[TransactWrite], None]) -> bool:
    """Run ``write`` in one transaction; False when a condition failed."""
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            with transaction() as writes:
                write(writes)
            return True
        except TransactWriteError as error:
            if conditional_failure(error):
                return False
            if "TransactionConflict" in cancellation_codes(error) and (
                attempt + 1 < TRANSACTION_ATTEMPTS
            ):
                time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter
                continue
            raise
    raise AssertionError("unreachable")


def order_audit_entry(
    order: Order,
    *,
    actor: str,
    action: str,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str = "",
    at: str | None = None,
) -> Any:
    """The audit entry of one change of ``order`` (not written yet)."""
    return audit_entry_build(
        actor=actor,
        object_type="orders.order",
        object_id=order.order_id,
        object_repr=order.order_id,
        action=action,
        summary=summary,
        reason=reason,
        before=before,
        after=after,
        at=at,
    )


def order_change(
    order: Order,
    *,
    actions: list[Any],
    condition: Condition | None,
    actor: str,
    action: str,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str = "",
    extra: Callable[[TransactWrite], None] | None = None,
    audit_after: bool = False,
) -> bool:
    """``actions`` on ``order`` if ``condition`` holds (the version is bumped, never checked),
    with its audit entry, in one transaction; ``extra`` adds other writes to it (seats).
    False when the condition failed: nothing was written. ``order`` itself is not refreshed
    beyond its version. ``audit_after``: see the module's docstring (no ``extra`` then)."""
    now = utc_now_iso()
    entry = order_audit_entry(
        order,
        actor=actor,
        action=action,
        summary=summary,
        reason=reason,
        before=before,
        after=after,
        at=now,
    )
    if audit_after:
        assert extra is None, "extra writes need the transaction"
        try:
            order.update(
                actions=[*actions, Order.updated_at.set(now)],
                condition=condition,
                add_version_condition=False,
            )
        except UpdateError as error:
            if conditional_failure(error):
                return False
            raise
        try:
            audit_entry_save(entry)
        except PynamoDBException:
            logger.exception("audit entry not written; the order holds the change itself")
        return True

    def write(writes: TransactWrite) -> None:
        writes.update(
            order,
            actions=[*actions, Order.updated_at.set(now)],
            condition=condition,
            add_version_condition=False,
        )
        if extra is not None:
            extra(writes)
        writes.save(entry, condition=AUDIT_NEW)

    if not transact(write):
        return False
    order.updated_at = now
    return True
