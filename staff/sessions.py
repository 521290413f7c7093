"""``SESSION_ENGINE = "staff.sessions"``: Django sessions stored in the back-office table.

Server side, so a session can be revoked: each record carries its staff member on ``gsi1``
(``STAFF#{username}``), and ``staff.services.staff_sessions_revoke`` deletes them all. The data
is Django's signed session encoding. DynamoDB's TTL deletes expired records eventually (within
a day or two), so ``load`` also checks the expiry itself.

Must not cache anything in the process: a revoked session has to stop working on the very
next request, in every Lambda container.

The session's admin messages are items of their own in its partition (``staff.messages``), so
``load`` reads the record and its messages in one Query: two requests of one session that
finish at once (a double click) each save the whole session, and a message kept inside it
would be lost to the other's save.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from pynamodb.exceptions import DoesNotExist, PutError

from core.backoffice import SESSION, SESSION_MESSAGES, STAFF_SESSIONS
from core.dynamodb import iso_utc, utc_now_iso
from staff.models import SessionRecord, staff_pk


def _pk(session_key: str) -> str:
    return SESSION.pk(session_key)


class SessionStore(SessionBase):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._message_records: list[SessionRecord] = []

    def load(self) -> dict[str, Any]:
        self._message_records = []
        if not self.session_key:
            return {}
        record = None
        messages = []
        for item in SessionRecord.query(_pk(self.session_key), consistent_read=True):
            if item.sk == SESSION.sk:
                record = item
            elif item.sk.startswith(SESSION_MESSAGES.sk):
                messages.append(item)
        if record is None or record.expires_at <= datetime.now(UTC):
            self._session_key = None
            return {}
        self._message_records = messages  # in the order they were stored (the sort key's time)
        return self.decode(record.data)

    # --- The session's messages (``staff.messages``): items beside its record ---------------

    def pending_messages(self) -> list[str]:
        """Each stored batch of this session's messages not yet shown (as ``messages_keep`` got
        them), oldest first; read with the session itself."""
        self._get_session()  # loads the session once, if this request has not yet
        return [self.decode(record.data).get("messages", "") for record in self._message_records]

    def pending_messages_forget(self) -> None:
        """Delete the batches ``pending_messages`` returned: they were shown."""
        if not self._message_records:
            return
        with SessionRecord.batch_write() as batch:
            for record in self._message_records:
                batch.delete(record)
        self._message_records = []

    def messages_keep(self, messages: str) -> None:
        """Store a batch of messages for a later page of this (saved) session, encoded as the
        session's data is (they may name a customer), expiring with it."""
        if self.session_key is None:
            raise ValueError("messages_keep needs a saved session")
        SessionRecord(
            pk=_pk(self.session_key),
            sk=SESSION_MESSAGES.sk_of(utc_now_iso(), secrets.token_hex(4)),
            kind="messages",
            data=self.encode({"messages": messages}),
            expires_at=self.get_expiry_date(),
        ).save()

    def exists(self, session_key: str) -> bool:
        try:
            SessionRecord.get(_pk(session_key), SESSION.sk, consistent_read=True)
        except DoesNotExist:
            return False
        return True

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        expires = datetime.now(UTC) + timedelta(seconds=self.get_expiry_age())
        record = SessionRecord(
            pk=_pk(self._get_or_create_session_key()),
            data=self.encode(data),
            expires_at=expires.replace(microsecond=0),
        )
        username = data.get(SESSION_KEY)
        if username:
            record.gsi1pk = staff_pk(str(username))
            record.gsi1sk = STAFF_SESSIONS.sk_of(iso_utc(expires))
        if must_create:
            condition = SessionRecord.pk.does_not_exist()
        else:
            # Never resurrect a session that was revoked while this request ran.
            condition = SessionRecord.pk.exists()
        try:
            record.save(condition=condition)
        except PutError as error:
            if getattr(error, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise
            if must_create:
                raise CreateError from error
            raise UpdateError from error

    def delete(self, session_key: str | None = None) -> None:
        session_key = session_key or self.session_key
        if session_key is None:
            return
        SessionRecord(pk=_pk(session_key), sk=SESSION.sk).delete()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: DynamoDB's TTL deletes expired records, and ``load`` ignores them."""
