"""Staff accounts: create, read, save, and revoke sessions.

Every write is conditional: creation claims the username (``attribute_not_exists``) and a full
save carries the version read. Failed sign-ins are counted apart from the account
(``staff.signin_guard``); a new password forgets the username's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.hashers import make_password
from pynamodb.exceptions import DoesNotExist, PutError

from staff.models import SessionRecord, Staff, StaffAccount, staff_pk
from staff.roles import Role
from staff.signin_guard import signin_failures_clear
from tickets.dynamodb import condition_failed, iso_utc, utc_now_iso
from tickets.exceptions import Conflict, ValidationFailed

logger = logging.getLogger(__name__)


def _to_staff(account: StaffAccount) -> Staff:
    staff = Staff(
        username=account.username,
        email=account.email,
        role=account.role,
        is_active=account.is_active,
        password=account.password,
        version=account.version or 0,
    )
    staff.last_login = datetime.fromisoformat(account.last_login) if account.last_login else None
    return staff


def staff_account_get(*, username: str) -> StaffAccount | None:
    try:
        return StaffAccount.get(staff_pk(username), "ACCOUNT", consistent_read=True)
    except DoesNotExist:
        return None


def staff_get(*, username: str) -> Staff | None:
    """The staff member ``username`` as Django's auth sees it, or ``None``."""
    account = staff_account_get(username=username)
    return _to_staff(account) if account else None


def staff_list(*, after: str | None = None, limit: int = 50) -> list[Staff]:
    """Staff accounts by username, from ``gsi1`` (one Query, never a Scan)."""
    condition = StaffAccount.gsi1sk > after if after else None
    return [
        _to_staff(a)
        for a in StaffAccount.gsi1.query("STAFFLIST", range_key_condition=condition, limit=limit)
    ]


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
    return _to_staff(account)


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


# --- Sessions --------------------------------------------------------------------------------


def staff_sessions_revoke(*, username: str, keep: str | None = None) -> int:
    """End every session of ``username`` (except the session key ``keep``, to "sign out
    everywhere else"). Found through ``gsi1``; returns how many were ended."""
    ended = 0
    for record in SessionRecord.gsi1.query(
        staff_pk(username), range_key_condition=SessionRecord.gsi1sk.startswith("SESSION#")
    ):
        if keep and record.pk == f"SESSION#{keep}":
            continue
        SessionRecord(pk=record.pk, sk="RECORD").delete()
        ended += 1
    logger.info("staff sessions revoked", extra={"staff": username, "sessions": ended})
    return ended
