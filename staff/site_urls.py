"""The staff app's site-level admin pages: the sign-in with its second factor
(``staff.signin``) and "sign out everywhere" (registered with the admin site from
``staff/admin.py``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from staff.services import staff_sessions_revoke
from staff.signin import signin_urls


def site_urls(site: admin.AdminSite) -> list[Any]:
    @require_http_methods(["GET", "POST"])
    def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
        """End every session of the signed-in staff member, this one included."""
        if request.method == "POST":
            username = request.user.get_username()
            ended = staff_sessions_revoke(username=username)
            logout(request)
            response = HttpResponseRedirect(reverse("admin:login", current_app=site.name))
            messages.success(request, f"Signed out of {ended} session(s).")
            return response
        context = {**site.each_context(request), "title": "Sign out everywhere", "subtitle": None}
        return TemplateResponse(request, "admin/backoffice/sign_out_everywhere.html", context)

    @require_http_methods(["GET", "POST"])
    def second_factor(request: HttpRequest) -> HttpResponse:
        """The signed-in member's own factors: add a passkey or an authenticator app, get new
        recovery codes (any role: viewers and support may opt in)."""
        import json

        from staff import factors as f

        username = request.user.get_username()
        codes: list[str] = []
        if request.method == "POST":
            action = request.POST.get("action")
            done = False
            if action == "passkey" and request.session.get("staff_factor_challenge"):
                done = f.passkey_register(
                    request=request,
                    username=username,
                    credential=request.POST.get("credential", ""),
                    challenge=str(request.session.pop("staff_factor_challenge")),
                    label=request.POST.get("label", ""),
                )
            elif action == "totp" and request.session.get("staff_factor_secret"):
                done = f.totp_enroll(
                    username=username,
                    secret=str(request.session["staff_factor_secret"]),
                    code=request.POST.get("code", ""),
                )
            elif action == "recovery":
                codes = f.recovery_codes_new(username=username)
                done = True
            if done:
                what = {"passkey": "a passkey or security key", "totp": "an authenticator app"}
                f.factor_added_audit(username=username, what=what.get(action, "new recovery codes"))
            if done and action != "recovery":
                request.session.pop("staff_factor_secret", None)
                if not f.factors_summary(f.factors_of(username=username)).recovery_left:
                    codes = f.recovery_codes_new(username=username)
                messages.success(request, "Your second factor was added.")
            elif not done:
                messages.error(request, "That did not work: check the code, or try the key again.")
        factors = f.factors_of(username=username)
        summary = f.factors_summary(factors)
        options, challenge = f.passkey_registration_options(
            request=request, username=username, factors=factors
        )
        request.session["staff_factor_challenge"] = challenge
        secret = None
        if not summary.totp:
            secret = request.session.get("staff_factor_secret") or f.totp_secret_new()
            request.session["staff_factor_secret"] = secret
        context = {
            **site.each_context(request),
            "title": "Second factor",
            "subtitle": None,
            "factors": [x for x in factors if x.sk != f.RECOVERY],
            "summary": summary,
            "required": f.factor_required(getattr(request.user, "role", "")),
            "codes": codes,
            "secret": secret,
            "otpauth_uri": f.totp_uri(username=username, secret=secret) if secret else "",
            "passkey_options": json.loads(options),
        }
        return TemplateResponse(request, "staff/second_factor.html", context)

    return [
        *signin_urls(site),  # before the site's own login/: ours asks for the second factor
        path("second-factor/", site.admin_view(second_factor), name="second_factor"),
        path(
            "sign-out-everywhere/",
            site.admin_view(sign_out_everywhere),
            name="sign_out_everywhere",
        ),
    ]
