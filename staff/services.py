"""Staff accounts: create, save, update from the admin, and revoke sessions (reads are in
``staff.selectors``).

Every write is conditional: creation claims the username (``attribute_not_exists``) and a full
save carries the version read. Failed sign-ins are counted apart from the account
(``staff.signin_guard``); a new password forgets the username's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.hashers import make_password
from pynamodb.exceptions import PutError

from core.backoffice import SESSION, STAFF_SESSIONS
from core.dynamodb import condition_failed, iso_utc, utc_now_iso
from core.exceptions import Conflict, NotFound, ValidationFailed
from staff.models import SessionRecord, Staff, StaffAccount, staff_pk
from staff.roles import Role
from staff.selectors import staff_account_get, staff_get, to_staff
from staff.signin_guard import signin_failures_clear

logger = logging.getLogger(__name__)


def staff_create(
    *, username: str, email: str, role: str, password: str | None, is_active: bool = True
) -> Staff:
    """Create an account; ``Conflict`` if the username is taken. ``password=None`` leaves it
    unusable (the account cannot sign in until someone sets one)."""
    username = username.strip()
    if not username or "#" in username or len(username) > 64:
        raise ValidationFailed("A username is 1-64 characters and has no '#'.")
    if role not in {r.value for r in Role}:
        raise ValidationFailed(f"Unknown role {role!r}.")
    now = utc_now_iso()
    account = StaffAccount(
        pk=staff_pk(username),
        gsi1sk=username,
        username=username,
        email=email.strip(),
        role=role,
        is_active=is_active,
        password=make_password(password),
        created_at=now,
        updated_at=now,
    )
    try:
        account.save(condition=StaffAccount.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            raise Conflict(f"A staff account named {username!r} exists already.") from error
        raise
    logger.info("staff account created", extra={"staff": username, "role": role})
    return to_staff(account)


def staff_save(*, staff: Staff, update_fields: list[str] | None = None) -> None:
    """Write ``staff`` back. Partial updates (``last_login``, ``password``) are unconditional
    attribute updates; a full save must match the version read, else ``Conflict``."""
    now = utc_now_iso()
    if update_fields:
        account = staff_account_get(username=staff.username)
        if account is None:
            raise Conflict(f"The staff account {staff.username!r} does not exist.")
        actions = [StaffAccount.updated_at.set(now)]
        for name in update_fields:
            if name == "last_login":
                value = iso_utc(staff.last_login) if staff.last_login else None
                actions.append(StaffAccount.last_login.set(value))
            elif name == "password":
                actions.append(StaffAccount.password.set(staff.password))
                signin_failures_clear(username=staff.username)
            elif name in {"email", "role", "is_active"}:
                actions.append(getattr(StaffAccount, name).set(getattr(staff, name)))
        # A partial update of attributes nobody edits in a form: no version condition, but the
        # version still goes up, so an editor holding the old one cannot write over it.
        account.update(actions=actions, add_version_condition=False)
        staff.version = account.version
        if "is_active" in update_fields and not staff.is_active:
            staff_sessions_revoke(username=staff.username)
        return
    current = staff_account_get(username=staff.username)
    if current is None:
        raise Conflict(f"The staff account {staff.username!r} does not exist.")
    was_active = current.is_active
    current.email = staff.email
    current.role = staff.role
    current.is_active = staff.is_active
    current.password = staff.password
    current.updated_at = now
    current.version = staff.version  # the version the editor read: the write's condition
    try:
        current.save()
    except PutError as error:
        if condition_failed(error):
            raise Conflict("Someone else changed this staff account first.") from error
        raise
    staff.version = current.version
    if was_active and not staff.is_active:
        staff_sessions_revoke(username=staff.username)


STAFF_EDITABLE = {"email", "role", "is_active"}


def staff_update(
    *, username: str, version: int, changes: Mapping[str, Any], acting_username: str
) -> Staff:
    """An admin's edit of an account (``email``, ``role``, ``is_active``), only if it is still
    at ``version`` (the one the editor read): ``Conflict`` otherwise. Nobody may take away their
    own admin role or disable their own account (else the last admin could lock everyone out
    of staff management). Disabling an account ends its sessions."""
    unknown = set(changes) - STAFF_EDITABLE
    if unknown:
        raise ValidationFailed(f"These account fields cannot be changed: {sorted(unknown)}.")
    if username == acting_username and (
        changes.get("role", Role.ADMIN) != Role.ADMIN or changes.get("is_active") is False
    ):
        raise ValidationFailed(
            "You cannot take away your own admin role or disable your own account; "
            "ask another admin."
        )
    if "role" in changes and changes["role"] not in {r.value for r in Role}:
        raise ValidationFailed(f"Unknown role {changes['role']!r}.")
    staff = staff_get(username=username)
    if staff is None:
        raise Conflict(f"The staff account {username!r} does not exist.")
    for name, value in changes.items():
        setattr(staff, name, value)
    staff.version = version
    staff_save(staff=staff)
    return staff


def staff_password_set(*, username: str, password: str) -> int:
    """Set a new password (a forgotten one) and end the account's sessions; returns how many
    ended. ``password`` is validated by the caller's form (Django's validators)."""
    staff = staff_get(username=username)
    if staff is None:
        raise NotFound(f"There is no staff account {username!r}.")
    staff.set_password(password)
    staff_save(staff=staff, update_fields=["password"])
    return staff_sessions_revoke(username=username)


# --- Sessions --------------------------------------------------------------------------------


def staff_sessions_revoke(*, username: str, keep: str | None = None) -> int:
    """End every session of ``username`` (except the session key ``keep``, to "sign out
    everywhere else"). Found through ``gsi1``; returns how many were ended."""
    ended = 0
    for record in SessionRecord.gsi1.query(
        staff_pk(username), range_key_condition=SessionRecord.gsi1sk.startswith(STAFF_SESSIONS.sk)
    ):
        if keep and record.pk == SESSION.pk(keep):
            continue
        SessionRecord(pk=record.pk, sk=SESSION.sk).delete()
        ended += 1
    logger.info("staff sessions revoked", extra={"staff": username, "sessions": ended})
    return ended
