"""The one-time form token itself (``dynamo_admin.once``): what it binds, with no server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import RequestFactory

from dynamo_admin import once


def _request(username: str = "fin") -> object:
    request = RequestFactory().get("/")
    request.user = SimpleNamespace(get_username=lambda: username)
    return request


def _token(**changes: object) -> str:
    values = {"object_type": "orders.order", "action": "refund", "sequences": {"ord_1": 3}}
    values.update(changes)
    return once.token_issue(_request(), **values)  # type: ignore[arg-type]


def test_a_token_carries_its_object_sequences_and_a_fresh_nonce_each_time():
    first = once.token_check(_token(), user="fin", object_type="orders.order", action="refund")
    second = once.token_check(_token(), user="fin", object_type="orders.order", action="refund")

    assert first.sequence_of("ord_1") == 3
    assert first.nonce != second.nonce  # each rendered form is its own submit


@pytest.mark.parametrize(
    ("raw", "user", "action", "says"),
    [
        ("", "fin", "refund", "no one-time token"),
        ("not-a-token", "fin", "refund", "not valid"),
        (None, "bob", "refund", "another staff member"),
        (None, "fin", "cancel", "for another page"),
    ],
)
def test_a_token_that_is_missing_forged_someone_elses_or_for_another_action_is_refused(
    raw, user, action, says
):
    with pytest.raises(once.StaleForm, match=says):
        once.token_check(
            _token() if raw is None else raw, user=user, object_type="orders.order", action=action
        )


def test_a_list_token_refuses_an_object_the_page_did_not_show():
    token = once.token_check(_token(), user="fin", object_type="orders.order", action="refund")

    with pytest.raises(once.StaleForm, match="not on the page"):
        token.sequence_of("ord_forged")


def test_an_addition_carries_no_sequence_so_it_stales_no_one():
    token = once.token_check(
        _token(sequences=None), user="fin", object_type="orders.order", action="refund"
    )

    assert token.sequence_of("ord_anything") is None
