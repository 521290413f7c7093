"""``MESSAGE_STORAGE = "staff.messages.SessionItemStorage"``: admin messages that two requests
finishing at once cannot lose.

Django's ``SessionStorage`` keeps a session's messages inside the session, and every request
that adds one saves the whole session. A double click on "Yes, refund" is two requests of one
session: the second waits for the first and says "this second submit did nothing", and
whichever saves the session last erased the other's message (the browser test of that double
click failed on CI this way). Here each response's new messages are an item of their own in the
session's partition (``SESSION_MESSAGES``: ``MESSAGES#{time}#{random}``, expiring with the
session), read with the session in its one Query (``staff.sessions``) and deleted once shown:
adding or showing a message never writes the session.

A request without a session yet (the page after signing out) keeps its messages in the
session's data, as Django does: no other request can share a session that does not exist.
Messages waiting when a session's key changes (signing in) stay behind with the old key.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.session import SessionStorage
from django.http import HttpResponse

from core.backoffice import SESSION, SESSION_MESSAGES
from core.dynamodb import utc_now_iso
from staff.models import SessionRecord


class SessionItemStorage(SessionStorage):
    def __init__(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self._shown_records: list[SessionRecord] = []

    def _get(self, *args: Any, **kwargs: Any) -> tuple[list[Message], bool]:
        in_session, _ = super()._get()
        records = self.request.session.message_records()
        self._shown_records = records
        messages = list(in_session or [])
        for record in records:
            messages.extend(self.deserialize_messages(record.data) or [])
        return messages, True

    def update(self, response: HttpResponse) -> None:
        """Store the messages added since the page's were shown (or all added, when it showed
        none); forget the shown ones. Never stores a message that was already stored."""
        self._prepare_messages(self._queued_messages)
        if self.used:
            self._forget_shown()
        if self.used or self.added_new:
            self._keep(self._queued_messages)

    def _forget_shown(self) -> None:
        if self.session_key in self.request.session:
            self.request.session.pop(self.session_key)
        if self._shown_records:
            with SessionRecord.batch_write() as batch:
                for record in self._shown_records:
                    batch.delete(record)
            self._shown_records = []

    def _keep(self, messages: list[Message]) -> None:
        if not messages:
            return
        session = self.request.session
        if session.session_key is None:  # no session yet: in its data, as Django does
            kept = self.deserialize_messages(session.get(self.session_key)) or []
            session[self.session_key] = self.serialize_messages(kept + messages)
            return
        SessionRecord(
            pk=SESSION.pk(session.session_key),
            sk=SESSION_MESSAGES.sk_of(utc_now_iso(), secrets.token_hex(4)),
            kind="messages",
            data=self.serialize_messages(messages),
            expires_at=session.get_expiry_date(),
        ).save()
