"""Staff accounts and server-side sessions, stored in the back-office table.

Two shapes of a staff account:

- ``StaffAccount``: the DynamoDB item (``pk = STAFF#{username}``, ``sk = ACCOUNT``), the only
  place an account is stored. ``gsi1`` (``STAFFLIST`` / username) lists accounts without a Scan.
- ``Staff``: an unmanaged Django model, ``AUTH_USER_MODEL``. Django's auth and admin need a
  model class with ``_meta`` and a string primary key (the session stores
  ``_meta.pk.value_to_string(user)``); ``save()`` writes the DynamoDB item and never reaches
  the ORM (``Meta.managed = False`` plus an engine that refuses SQL).

``SessionRecord`` is one server-side session (``pk = SESSION#{key}``), indexed on ``gsi1`` by
its staff member (``STAFF#{username}`` / ``SESSION#{expiry}``) so all of someone's sessions
can be revoked at once; ``expires_at`` lets DynamoDB's TTL delete it eventually.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from pynamodb.attributes import (
    BooleanAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from core.backoffice import SESSION, STAFF, BackOfficeMeta
from core.backoffice import STAFF_LIST as STAFF_LIST_KEY
from core.dynamodb import Model
from staff.roles import ROLE_CHOICES, Role, role_permissions

STAFF_LIST = STAFF_LIST_KEY.pk()


def staff_pk(username: str) -> str:
    return STAFF.pk(username)


class _StaffGsi1(GlobalSecondaryIndex["StaffAccount"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class StaffAccount(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=STAFF.sk)
    kind = UnicodeAttribute(default="staff")
    gsi1pk = UnicodeAttribute(default=STAFF_LIST)
    gsi1sk = UnicodeAttribute()  # the username: the staff list sorts by it
    username = UnicodeAttribute()
    email = UnicodeAttribute(default="")
    role = UnicodeAttribute(default=Role.VIEWER.value)
    is_active = BooleanAttribute(default=True)
    password = UnicodeAttribute(default="")
    last_login = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    gsi1 = _StaffGsi1()


class _SessionGsi1(GlobalSecondaryIndex["SessionRecord"]):
    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class SessionRecord(Model):
    class Meta(BackOfficeMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True, default=SESSION.sk)
    kind = UnicodeAttribute(default="session")
    data = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)  # STAFF#{username} once someone signed in
    gsi1sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()

    gsi1 = _SessionGsi1()


class Staff(AbstractBaseUser):
    """A staff member as Django's auth and admin see it. Stored in DynamoDB, never in SQL."""

    username = models.CharField(max_length=64, primary_key=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, default=Role.VIEWER.value)
    is_active = models.BooleanField(default=True)
    version = models.IntegerField(default=0, editable=False)

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        managed = False
        verbose_name = "staff account"
        verbose_name_plural = "staff accounts"

    def __str__(self) -> str:
        return self.username

    # --- what Django's admin and auth ask -------------------------------------------------
    @property
    def is_staff(self) -> bool:
        return self.is_active

    @property
    def is_superuser(self) -> bool:
        return self.is_active and self.role == Role.ADMIN

    def get_all_permissions(self, obj: Any = None) -> set[str]:
        return set(role_permissions(self.role)) if self.is_active else set()

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in self.get_all_permissions()

    def has_perms(self, perm_list: Any, obj: Any = None) -> bool:
        return all(self.has_perm(perm) for perm in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return any(p.startswith(f"{app_label}.") for p in self.get_all_permissions())

    # --- persistence: DynamoDB only -----------------------------------------------------
    # The service that writes a Staff (``staff.services.staff_save``), set by the app's
    # ``ready()``: the model calls its service without importing it (no circle).
    writer: Any = None

    def save(self, *args: Any, update_fields: Any = None, **kwargs: Any) -> None:
        """Write to DynamoDB. ``update_fields`` (Django's ``last_login`` receiver, password
        upgrades and changes) updates only those attributes; a full save carries a condition on
        the version read, so two admins editing one account cannot overwrite each other."""
        if Staff.writer is None:
            raise RuntimeError("staff.apps.StaffConfig.ready() has not run: no Staff writer")
        Staff.writer(staff=self, update_fields=list(update_fields) if update_fields else None)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Staff accounts are disabled, never deleted (audit trail).")
