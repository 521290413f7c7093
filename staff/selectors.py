"""Reads of staff accounts: by key (strongly consistent: sign-in and the admin act on them)
or the account list from ``gsi1``, never a Scan."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import DoesNotExist

from core.backoffice import STAFF
from staff.models import STAFF_LIST, Staff, StaffAccount, staff_pk


def to_staff(account: StaffAccount) -> Staff:
    """The account as Django's auth sees it (``AUTH_USER_MODEL``)."""
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
        return StaffAccount.get(staff_pk(username), STAFF.sk, consistent_read=True)
    except DoesNotExist:
        return None


def staff_get(*, username: str) -> Staff | None:
    """The staff member ``username`` as Django's auth sees it, or ``None``."""
    account = staff_account_get(username=username)
    return to_staff(account) if account else None


def staff_list(*, after: str | None = None, limit: int = 50) -> list[Staff]:
    """Staff accounts by username, from ``gsi1`` (one Query, never a Scan)."""
    condition = StaffAccount.gsi1sk > after if after else None
    return [
        to_staff(a)
        for a in StaffAccount.gsi1.query(STAFF_LIST, range_key_condition=condition, limit=limit)
    ]
