"""The admin's sign-in form: the sign-in guard's delays around Django's own check.

``staff.signin_guard`` decides, from its counters alone, whether this client must wait; only
then are the username and password checked (``staff.backends``), and a refusal counted. The
form decides the next step (``next_step``), which ``staff.signin``'s view carries out:

- ``"signin"``: the right password, and no second factor asked: signed in.
- ``"factor"``: the right password of a member with a factor: the factor's page.
- ``"enroll"``: the right password of a member whose role requires a factor they do not have
  yet: the enrollment page.
- ``"blind"``: a refused password for a username under a distributed attack, on a new device
  (``signin_under_attack``): the factor's page as well, exactly as for the right password, so
  the answer tells an attacker nothing; no factor can pass there.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from staff.factors import factor_required, factors_of, factors_summary
from staff.signin_guard import signin_failure_record, signin_under_attack, signin_wait


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

    next_step = ""

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
        attacked = signin_under_attack(request=self.request, username=username)
        if attacked:
            # Counted before the password is even checked, right or wrong: the same writes
            # either way, so not even the time tells. The second step's success forgets it.
            signin_failure_record(request=self.request, username=username)
        # Read for every username, existing or not: the same requests, the same time.
        factors = factors_summary(factors_of(username=username))
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if not attacked:
                signin_failure_record(request=self.request, username=username)
            if attacked and getattr(error, "code", None) == "invalid_login":
                self.user_cache = None
                self.next_step = "blind"
                return self.cleaned_data
            raise
        user = self.get_user()
        if factors.any:
            self.next_step = "factor"
        elif factor_required(user.role):
            self.next_step = "enroll"
        else:
            self.next_step = "signin"
        return cleaned
