"""``MESSAGE_STORAGE = "staff.messages.SessionItemStorage"``: admin messages that two requests
finishing at once cannot lose.

Django's ``SessionStorage`` keeps a session's messages inside the session, and every request
that adds one saves the whole session. A double click on "Yes, refund" is two requests of one
session: the second waits for the first and says "this second submit did nothing", and
whichever saved the session last erased the other's message (the browser test of that double
click failed on CI this way). Here each response's new messages are an item of their own beside
the session (``staff.sessions``: ``SESSION_MESSAGES``, encoded as the session is, expiring with
it), read with the session in its one Query and deleted once shown: adding or showing a message
never writes the session.

Best effort: the page's action is done (and on the object's timeline) before its message is
stored, so DynamoDB failing to store or forget a message loses that message, or shows it once
more, never answers a server error for an action that worked.

A request without a session yet (the page after signing out) keeps its messages in the
session's data, as Django does: no other request can share a session that does not exist.
Messages waiting when a session's key changes (signing in) stay behind with the old key.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.session import SessionStorage
from django.http import HttpResponse
from pynamodb.exceptions import PynamoDBException

logger = logging.getLogger(__name__)


class SessionItemStorage(SessionStorage):
    def _get(self, *args: Any, **kwargs: Any) -> tuple[list[Message], bool]:
        in_session, _ = super()._get()
        messages = list(in_session or [])
        for batch in self.request.session.pending_messages():
            messages.extend(self.deserialize_messages(batch) or [])
        return messages, True

    def update(self, response: HttpResponse) -> None:
        """Forget the messages shown on this page, if it showed them; keep those added since
        (all added, when it showed none). A message is stored once, never again."""
        self._prepare_messages(self._queued_messages)
        if self.used:
            if self.session_key in self.request.session:
                self.request.session.pop(self.session_key)
            try:
                self.request.session.pending_messages_forget()
            except PynamoDBException as error:  # shown once more on the next page
                logger.warning("admin messages shown but not forgotten", extra=_why(error))
        if (self.used or self.added_new) and self._queued_messages:
            try:
                self._keep(self._queued_messages)
            except PynamoDBException as error:  # the action is done; only its message is lost
                logger.warning("admin messages not stored", extra=_why(error))

    def _keep(self, messages: list[Message]) -> None:
        session = self.request.session
        if session.session_key is None:  # no session yet: in its data, as Django does
            kept = self.deserialize_messages(session.get(self.session_key)) or []
            session[self.session_key] = self.serialize_messages(kept + messages)
            return
        session.messages_keep(self.serialize_messages(messages))


def _why(error: PynamoDBException) -> dict[str, str]:
    """What went wrong, without the messages (they may name a customer)."""
    return {"error": type(error).__name__, "code": str(getattr(error, "cause_response_code", ""))}
