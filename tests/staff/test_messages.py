"""Admin messages (``staff.messages``): what a page says about the last action reaches the staff
member's next page, even when two requests of one session finish at once."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from core.backoffice import SESSION
from staff.models import SessionRecord

pytestmark = pytest.mark.usefixtures("aws")


def _request_of(browser: Client) -> HttpRequest:
    """A request of ``browser``'s session, as far as the view: the session read (the admin's
    authentication reads it first thing) and messages set up."""
    request = RequestFactory().post("/admin/orders/order/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = browser.cookies[
        settings.SESSION_COOKIE_NAME
    ].value
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    MessageMiddleware(lambda r: HttpResponse()).process_request(request)
    assert request.session.get("_auth_user_id") is not None
    return request


def _finish(request: HttpRequest) -> None:
    """The response's way out: messages stored, then the session saved (middleware order)."""
    response = HttpResponse()
    MessageMiddleware(lambda r: response).process_response(request, response)
    SessionMiddleware(lambda r: response).process_response(request, response)


def _messages_on(page: HttpResponse) -> list[str]:
    """The messages the admin page shows (its ``ul.messagelist``)."""
    found = re.search(r'<ul class="messagelist">(.*?)</ul>', page.content.decode(), re.S)
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S) if found else []
    return [html.unescape(item).strip() for item in items]


def _shown(browser: Client) -> list[str]:
    response = browser.get("/admin/")
    assert response.status_code == 200
    return _messages_on(response)


def test_two_requests_of_one_session_finishing_at_once_both_reach_the_next_page(staff_client):
    # A double click: both requests read the session before either saved it; the second
    # finishes first ("did nothing"), the first saves the session after it.
    browser = staff_client("finance", "fin")
    first, second = _request_of(browser), _request_of(browser)
    messages.success(first, "Refund of USD 10.00 requested.")
    messages.warning(second, "Already done: refund requested. This second submit did nothing.")
    _finish(second)
    _finish(first)

    shown = _shown(browser)

    assert sorted(shown) == [
        "Already done: refund requested. This second submit did nothing.",
        "Refund of USD 10.00 requested.",
    ]
    assert _shown(browser) == []  # shown once


def test_messages_are_kept_beside_the_session_encoded_and_expire_with_it(staff_client):
    # Encoded as the session is: a message may name a customer, and an erasure's check of the
    # table (tests/orders/test_personal_data.py) must not find the name in plain text.
    browser = staff_client("support", "sam")
    request = _request_of(browser)
    messages.info(request, "Resent the confirmation to Ada Lovelace.")
    _finish(request)

    key = browser.cookies[settings.SESSION_COOKIE_NAME].value
    items = list(SessionRecord.query(SESSION.pk(key), consistent_read=True))
    session = next(i for i in items if i.sk == SESSION.sk)
    (kept,) = [i for i in items if i.kind == "messages"]
    assert "Lovelace" not in session.data and "Lovelace" not in kept.data
    assert abs((kept.expires_at - session.expires_at).total_seconds()) <= 60
    assert _shown(browser) == ["Resent the confirmation to Ada Lovelace."]
    assert [i.sk for i in SessionRecord.query(SESSION.pk(key), consistent_read=True)] == [
        SESSION.sk
    ]


def test_the_page_after_signing_out_everywhere_says_how_many_sessions_ended(staff_client):
    # No session is left to keep it beside: the message rides in the new, anonymous session.
    laptop = staff_client("support", "sam")

    response = laptop.post("/admin/sign-out-everywhere/", follow=True)

    assert response.status_code == 200
    assert _messages_on(response) == ["Signed out of 1 session(s)."]
