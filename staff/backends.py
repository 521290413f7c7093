"""The authentication backend: staff accounts in DynamoDB.

``authenticate`` answers the same way, in the same time, for a wrong password and a username
that does not exist: each runs the password hasher exactly once and reads the account exactly
once, and each returns ``None``. An inactive account with its *right* password is returned
(as Django's ``AllowAllUsersModelBackend`` does), so the sign-in form can say "not active yet"
(Django's ``inactive`` message, which tells nothing to someone without the password); the form
refuses it and ``get_user`` never lets it in. Slowing down guessing is the sign-in
form's job (``staff.signin_guard``), not a lock on the account.
``get_user`` reads the account on every request (one GetItem), so a disabled account or a
changed role takes effect immediately.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from staff import services
from staff.models import Staff


class StaffBackend:
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Staff | None:
        if not username or password is None:
            return None
        staff = services.staff_get(username=username)
        if staff is None:
            # Run the hasher anyway, so timing does not tell which usernames exist.
            make_password(password)
            return None
        if not staff.check_password(password):
            return None
        return staff  # inactive too: the form refuses it with its own message

    def get_user(self, user_id: str) -> Staff | None:
        staff = services.staff_get(username=str(user_id))
        return staff if staff is not None and staff.is_active else None

    # Permissions come from the role, on the user object itself (``Staff.has_perm``).
    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return (
            bool(getattr(user_obj, "is_active", False)) and perm in user_obj.get_all_permissions()
        )

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return bool(getattr(user_obj, "is_active", False)) and user_obj.has_module_perms(app_label)
