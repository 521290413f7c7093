"""``Idempotency-Key`` records (``core.idempotency``), called directly: claim, complete,
replay, release, take over and expiry. The key rules need no server; the records are in the
emulator. The same through ``POST /orders`` is in ``tests/orders/test_apis.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    idempotency_claim,
    idempotency_complete,
    idempotency_pk,
    idempotency_release,
    payload_hash,
)
from core.models import IdempotencyRecord

BODY = {"items": [{"sku": "ga", "quantity": 2}], "customer": {"email": "a@example.com"}}


def claim(key: str = "k-1", payload=BODY, subject_id: str = "ord_first"):
    return idempotency_claim(scope="orders", key=key, payload=payload, subject_id=subject_id)


def record(key: str = "k-1") -> IdempotencyRecord:
    return IdempotencyRecord.get(
        idempotency_pk(scope="orders", key=key), "RECORD", consistent_read=True
    )


# --- Pure: keys and bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["", "x" * (MAX_KEY_LENGTH + 1), "has space", "tab\tkey", "ключ", "line\nbreak"]
)
def test_a_key_that_is_empty_too_long_or_not_visible_ascii_is_refused(key):
    with pytest.raises(InvalidIdempotencyKey):
        claim(key=key)


def test_the_same_body_hashes_the_same_whatever_the_order_of_its_fields():
    reordered = {"customer": {"email": "a@example.com"}, "items": [{"quantity": 2, "sku": "ga"}]}

    assert payload_hash(reordered) == payload_hash(BODY)
    assert payload_hash({**BODY, "items": [{"sku": "ga", "quantity": 3}]}) != payload_hash(BODY)


# --- Records in the emulator -------------------------------------------------------------------


def test_a_completed_request_is_replayed_with_its_first_answer_and_subject(aws):
    first = claim()
    idempotency_complete(claim=first, status=201, body={"order_id": "ord_first"})

    again = claim(subject_id="ord_second")

    assert first.replay is None and first.taken_over is False
    assert again.replay == (201, {"order_id": "ord_first"})
    assert again.subject_id == "ord_first"


def test_the_longest_allowed_key_works(aws):
    key = "k" * MAX_KEY_LENGTH

    assert claim(key=key).pk == idempotency_pk(scope="orders", key=key)


def test_keys_of_different_scopes_do_not_meet(aws):
    claim()

    other = idempotency_claim(scope="refunds", key="k-1", payload=BODY, subject_id="re_1")

    assert other.replay is None and other.subject_id == "re_1"


def test_the_same_key_with_another_body_is_refused_even_after_completion(aws):
    idempotency_complete(claim=claim(), status=201, body={})

    with pytest.raises(IdempotencyKeyReused):
        claim(payload={**BODY, "items": []})


def test_a_key_whose_request_still_runs_is_refused_for_now(aws):
    claim()

    with pytest.raises(IdempotencyInProgress):
        claim(subject_id="ord_second")
    assert record().subject_id == "ord_first"


def test_a_request_that_died_is_taken_over_once_its_lease_ran_out_keeping_its_subject(aws):
    claim()
    record().update(actions=[IdempotencyRecord.lease_until.set(0)])

    taken = claim(subject_id="ord_second")

    assert (taken.taken_over, taken.subject_id, taken.replay) == (True, "ord_first", None)
    assert record().lease_until > datetime.now(UTC).timestamp()
    with pytest.raises(IdempotencyInProgress):  # the new lease holds off a third attempt
        claim(subject_id="ord_third")


def test_a_released_key_is_free_for_a_fresh_attempt(aws):
    idempotency_release(claim=claim())

    retry = claim(subject_id="ord_second")

    assert (retry.subject_id, retry.taken_over, retry.replay) == ("ord_second", False, None)


def test_release_never_deletes_a_completed_answer(aws):
    first = claim()
    idempotency_complete(claim=first, status=201, body={"order_id": "ord_first"})

    idempotency_release(claim=first)

    assert claim().replay == (201, {"order_id": "ord_first"})


def test_a_record_past_its_expiry_is_claimed_anew_even_before_the_ttl_deletes_it(aws):
    idempotency_complete(claim=claim(), status=201, body={"order_id": "ord_first"})
    record().update(
        actions=[IdempotencyRecord.expires_at.set(datetime.now(UTC) - timedelta(minutes=1))]
    )

    fresh = claim(payload={"another": "body"}, subject_id="ord_second")

    assert (fresh.subject_id, fresh.replay) == ("ord_second", None)
    assert record().status == "IN_PROGRESS"


def test_a_run_slower_than_its_lease_finishes_after_its_retry_without_an_error(aws):
    """The first run outlived its lease; its retry took over and answered first. The slow run
    answers too (the same subject: a take-over resumes it) and the stored answer stays."""
    slow = claim()
    record().update(actions=[IdempotencyRecord.lease_until.set(0)])
    retry = claim(subject_id="ord_second")
    idempotency_complete(claim=retry, status=201, body={"order_id": "ord_first", "by": "retry"})

    idempotency_complete(claim=slow, status=201, body={"order_id": "ord_first", "by": "slow"})

    assert claim().replay == (201, {"order_id": "ord_first", "by": "retry"})
