"""The admin's sign-in form, telling a locked-out staff member why and for how long."""

from __future__ import annotations

import math
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from staff.services import signin_locked_until
from tickets.dynamodb import utc_now


class StaffAuthenticationForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        try:
            return super().clean()
        except forms.ValidationError:
            # Only after a failure: a correct password on an unlocked account never pays for
            # this extra read, and a locked account hears why it was refused.
            until = signin_locked_until(username=username) if username else None
            if until is not None:
                minutes = max(1, math.ceil((until - utc_now()).total_seconds() / 60))
                raise forms.ValidationError(
                    f"Too many failed sign-ins: this account is locked for {minutes} more "
                    "minute(s).",
                    code="locked",
                ) from None
            raise
