"""The admin's sign-in form: the sign-in guard's delays around Django's own check.

``staff.signin_guard`` decides, from its counters alone, whether this client must wait; only
then are the username and password checked (``staff.backends``), and the outcome counted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from staff.signin_guard import signin_failure_record, signin_success_record, signin_wait


class StaffAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": (
            "Too many failed sign-ins. Wait %(seconds)s seconds before trying again: "
            "tries before then are not looked at."
        ),
        "inactive": (
            "This account is not active yet: an admin must tick “Active” on it (Staff "
            "accounts) before it can sign in."
        ),
        "disabled": "This account has been disabled: ask an admin to enable it again.",
    }

    def confirm_login_allowed(self, user: Any) -> None:
        """Django's ``inactive`` refusal, reached only with the right password (the backend
        returns an inactive account only then): a new account not yet activated, or one
        disabled after it was used."""
        if not user.is_active:
            code = "disabled" if user.last_login else "inactive"
            raise forms.ValidationError(self.error_messages[code], code=code)
        super().confirm_login_allowed(user)

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if self.request is None or not username or password is None:
            return super().clean()  # Django's "field required" answers; nothing to count
        wait = signin_wait(request=self.request, username=username)
        if wait:
            raise forms.ValidationError(
                self.error_messages["throttled"], code="throttled", params={"seconds": wait}
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            signin_failure_record(request=self.request, username=username)
            raise
        signin_success_record(request=self.request, username=username)
        return cleaned
