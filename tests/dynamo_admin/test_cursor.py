"""Page tokens (``dynamo_admin.cursor``), directly: what a token carries back, and that nothing
but a token this site signed for its lists is taken as a cursor. Pure: no server is started."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import override_settings

from dynamo_admin.cursor import CURSOR_SALT, NEXT, PREV, Cursor, cursor_decode, cursor_encode


@pytest.mark.parametrize("direction", [NEXT, PREV])
def test_a_token_gives_back_the_direction_and_the_edge_row(direction):
    token = cursor_encode(direction=direction, sort_value="2026-11-25T10:00:00Z", key="ord_0001")

    cursor = cursor_decode(token)

    assert cursor == Cursor(direction, "2026-11-25T10:00:00Z", "ord_0001")
    assert cursor.going_next is (direction == NEXT)
    assert cursor.position == ("2026-11-25T10:00:00Z", "ord_0001")


def test_no_token_is_no_cursor():
    assert cursor_decode(None) is None
    assert cursor_decode("") is None


def test_a_token_changed_by_hand_is_ignored():
    token = cursor_encode(direction=NEXT, sort_value="2026-11-25", key="ord_0001")
    payload, _, signature = token.rpartition(":")
    forged = signing.dumps({"d": NEXT, "s": "9999", "k": "ord_9999"}, salt=CURSOR_SALT)

    assert cursor_decode(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert cursor_decode(f"{payload}x:{signature}") is None
    assert cursor_decode(forged.rpartition(":")[0] + ":" + signature) is None
    assert cursor_decode("not a token at all") is None


def test_a_value_signed_for_another_purpose_is_not_a_cursor():
    # Same key, another salt: e.g. a signed cookie value pasted into ?cursor=.
    other = signing.dumps({"d": NEXT, "s": "2026-11-25", "k": "ord_0001"}, salt="another.use")

    assert cursor_decode(other) is None


def test_a_token_signed_with_another_secret_key_is_not_a_cursor():
    with override_settings(SECRET_KEY="another deployment's key " + "x" * 30):
        elsewhere = cursor_encode(direction=NEXT, sort_value="2026-11-25", key="ord_0001")

    assert cursor_decode(elsewhere) is None


@pytest.mark.parametrize(
    "data",
    [
        ["next", "2026-11-25", "ord_0001"],  # not a mapping
        {"d": "sideways", "s": "2026-11-25", "k": "ord_0001"},  # no such direction
        {"s": "2026-11-25", "k": "ord_0001"},  # no direction
    ],
)
def test_a_signed_value_of_the_wrong_shape_is_not_a_cursor(data):
    assert cursor_decode(signing.dumps(data, salt=CURSOR_SALT)) is None


def test_missing_edge_fields_read_as_empty_strings_not_an_error():
    token = signing.dumps({"d": PREV}, salt=CURSOR_SALT)

    assert cursor_decode(token) == Cursor(PREV, "", "")
