"""The admin for staff accounts (admin role only: ``staff.view_staff`` is in no other role).

Accounts are listed from ``gsi1`` (``STAFFLIST``), edited with a version condition through
``staff.services.staff_update`` (which refuses to demote or disable yourself; disabling an
account ends its sessions), and never deleted.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.password_validation import validate_password
from django.http import HttpRequest
from django.urls import reverse

from core.formatting import when
from dynamo_admin.declarations import Column, ObjectAction
from dynamo_admin.options import DynamoModelAdmin
from dynamo_admin.paging import ListSource, Partition
from staff import selectors, services
from staff.factors import factor_required, factors_of, factors_reset, factors_summary
from staff.forms import StaffAuthenticationForm
from staff.models import STAFF_LIST, Staff, StaffAccount
from staff.roles import ROLE_CHOICES
from staff.signin_guard import signin_failures_clear, signin_failures_of, unlock_link_issue
from staff.site_urls import site_urls
from tickets.admin_views import site_urls_register


class StaffForm(forms.Form):
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    is_active = forms.BooleanField(
        required=False,
        initial=False,
        label="Active",
        help_text="Only an active account can sign in; unticking it ends every session at "
        "once. A new account starts inactive: tick it once its owner should sign in.",
    )


class StaffAddForm(StaffForm):
    username = forms.CharField(max_length=64)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)

    field_order = ["username", "email", "role", "password", "is_active"]

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


class SetPasswordForm(forms.Form):
    new_password = forms.CharField(widget=forms.PasswordInput, strip=False, label="New password")

    def clean_new_password(self) -> str:
        password = self.cleaned_data["new_password"]
        validate_password(password)
        return password


def _set_password(request: HttpRequest, account: StaffAccount, data: dict[str, Any]) -> str:
    """For a forgotten password: set a new one and end the account's sessions."""
    services.staff_password_set(username=account.username, password=data["new_password"])
    return f"Set a new password for {account.username} and ended their sessions."


def _unlock(request: HttpRequest, account: StaffAccount, data: dict[str, Any]) -> str:
    signin_failures_clear(username=account.username)
    token = unlock_link_issue(username=account.username)
    link = request.build_absolute_uri(f"{reverse('admin:signin_unlock')}?token={token}")
    # The link is a message of its own, so it stays out of the audit entry (which records the
    # returned summary): it is a credential for one sign-in.
    messages.info(
        request,
        f"Give {account.username} this one-time link (valid for an hour, in the browser they "
        f"sign in with): {link}",
    )
    return (
        f"Forgot the failed sign-ins typed for {account.username} and those of their devices; "
        "a one-time unlock link frees the browser that opens it from any address's delay."
    )


def _reset_factors(request: HttpRequest, account: StaffAccount, data: dict[str, Any]) -> str:
    removed = factors_reset(username=account.username)
    return (
        f"Reset the second factor of {account.username} ({removed} removed: keys, app, "
        "recovery codes) and ended their sessions; they set up a new one at their next sign-in."
    )


def _factors_shown(account: StaffAccount) -> str:
    summary = factors_summary(factors_of(username=account.username))
    parts = [f"{summary.keys} passkey(s) or security key(s)"] if summary.keys else []
    parts += ["an authenticator app"] if summary.totp else []
    if not parts:
        return "none" + (
            " (required: set up at the next sign-in)" if factor_required(account.role) else ""
        )
    return ", ".join(parts) + f"; {summary.recovery_left} recovery code(s) left"


def _revoke(request: HttpRequest, account: StaffAccount, data: dict[str, Any]) -> str:
    ended = services.staff_sessions_revoke(username=account.username)
    return f"Ended {ended} session(s) of {account.username}."


class StaffAdmin(DynamoModelAdmin):
    list_order_label = "by username"
    form_class = StaffForm
    add_form_class = StaffAddForm
    list_columns = [
        Column("username", "Username", link=True),
        Column("email", "E-mail"),
        Column("role", "Role"),
        Column(lambda a: "yes" if a.is_active else "no", "Active"),
        Column(lambda a: when(a.last_login), "Last sign-in"),
    ]
    details = [
        ("Last sign-in", lambda a: when(a.last_login)),
        ("Failed sign-ins (last hour)", lambda a: signin_failures_of(username=a.username)),
        ("Second factor", _factors_shown),
        ("Created", lambda a: when(a.created_at)),
    ]
    object_actions = [
        ObjectAction(
            "sign_out", "Sign out everywhere", permission="staff.change_staff", run=_revoke
        ),
        ObjectAction(
            "unlock",
            "Unlock",
            permission="staff.change_staff",
            run=_unlock,
            help_text="Forgets the failed sign-ins typed for this username and those of its "
            "devices, and gives you a one-time link for its owner: the browser that opens it "
            "is freed from any address's delay (an attacker's never is).",
        ),
        ObjectAction(
            "reset_factors",
            "Reset second factor",
            permission="staff.change_staff",
            run=_reset_factors,
            help_text="For a lost key or phone: removes every passkey, app and recovery code "
            "of this account and ends its sessions; its owner sets up a new one at sign-in.",
        ),
        ObjectAction(
            "set_password",
            "Set password",
            permission="staff.change_staff",
            run=_set_password,
            form_class=SetPasswordForm,
            help_text="Ends the account's sessions.",
        ),
    ]

    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource:
        return ListSource(
            partitions=[Partition(StaffAccount.gsi1, STAFF_LIST)],
            sort_attribute=StaffAccount.gsi1sk,
            descending=False,
        )

    def item_get(self, object_id: str) -> StaffAccount | None:
        return selectors.staff_account_get(username=object_id)

    def item_key(self, item: StaffAccount) -> str:
        return item.username

    def item_sort_value(self, item: StaffAccount) -> str:
        return item.username

    def item_values(self, item: StaffAccount) -> dict[str, Any]:
        return {"email": item.email, "role": item.role, "is_active": bool(item.is_active)}

    def item_save(
        self, request: HttpRequest, item: StaffAccount, version: int, changed: dict[str, Any]
    ) -> None:
        services.staff_update(
            username=item.username,
            version=version,
            changes=changed,
            acting_username=request.user.get_username(),
        )

    def item_create(self, request: HttpRequest, data: dict[str, Any]) -> StaffAccount:
        services.staff_create(
            username=data["username"],
            email=data.get("email") or "",
            role=data["role"],
            password=data["password"],
            is_active=bool(data.get("is_active")),
        )
        account = selectors.staff_account_get(username=data["username"])
        assert account is not None
        return account


admin.site.register(Staff, StaffAdmin)
# The project package imports no app: the staff app plugs in its sign-in form and its site
# page here, when the admin loads its apps' admin modules (``tickets.admin_apps``).
admin.site.login_form = StaffAuthenticationForm
site_urls_register(site_urls)
