"""The admin's sign-in pages: the password (Django's ``LoginView`` with
``StaffAuthenticationForm``), then the second factor or its enrollment, and the unlock link.

Plugged into the admin site by ``staff.site_urls`` in front of the site's own ``login/``.
Between the password and the factor, the session holds a *pending* sign-in (``_PENDING``):
the username, whether the password was right (False on the "blind" path of a username under
attack: the page looks the same, no factor passes), where to go next, and the WebAuthn
challenge. It lasts ``PENDING_SECONDS`` and ``PENDING_TRIES`` tries; each refused factor is a
refused sign-in for the guard (``signin_failure_record``), and the address's (or device's)
delay holds the factor's page as it holds the password's.

Only after the factor (or for a member asked for none) does ``_signin_complete`` call
Django's ``login``: the session is a signed-in one only then.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from staff import factors as f
from staff.forms import StaffAuthenticationForm
from staff.selectors import staff_get
from staff.signin_guard import (
    signin_failure_record,
    signin_success_record,
    signin_wait,
    unlock_link_use,
)

_PENDING = "staff_signin_pending"
PENDING_SECONDS = 300
PENDING_TRIES = 5
BACKEND = "staff.backends.StaffBackend"

WRONG_FACTOR = (
    "That code or key was not accepted. Check it and try again; if it still fails, sign in "
    "again and check your password."
)
PENDING_OVER = "Sign in again: the second step took too long or too many tries."


def _safe_next(request: HttpRequest, value: str | None) -> str:
    """``value`` if it is a safe place on this site, else the admin's index (never
    ``/accounts/profile/``, never another host)."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return reverse("admin:index")


def _pending(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(_PENDING)
    if not isinstance(pending, dict):
        return None
    if pending.get("at", 0) + PENDING_SECONDS < time.time() or pending.get("tries", 0) >= (
        PENDING_TRIES
    ):
        request.session.pop(_PENDING, None)
        return None
    return pending


def _signin_complete(request: HttpRequest, username: str, next_url: str) -> HttpResponse | None:
    """Sign ``username`` in (Django's ``login``) and forget the pending step; None if the
    account went away or was disabled meanwhile."""
    user = staff_get(username=username)
    request.session.pop(_PENDING, None)
    if user is None or not user.is_active:
        return None
    auth_login(request, user, backend=BACKEND)
    signin_success_record(request=request, username=username)
    return HttpResponseRedirect(next_url)


def _site_context(site: admin.AdminSite, request: HttpRequest, title: str) -> dict[str, Any]:
    return {**site.each_context(request), "title": title, "subtitle": None}


def signin_urls(site: admin.AdminSite) -> list[Any]:
    from django.urls import path

    class StaffLoginView(LoginView):
        form_class = StaffAuthenticationForm
        authentication_form = StaffAuthenticationForm
        template_name = "admin/login.html"

        def get_success_url(self) -> str:
            return _safe_next(self.request, self.get_redirect_url())

        def form_valid(self, form: StaffAuthenticationForm) -> HttpResponse:  # type: ignore[override]
            request = self.request
            username = form.cleaned_data["username"]
            next_url = self.get_success_url()
            if form.next_step == "signin":
                auth_login(request, form.get_user(), backend=BACKEND)
                signin_success_record(request=request, username=username)
                return HttpResponseRedirect(next_url)
            user = form.get_user()
            request.session[_PENDING] = {
                "u": user.get_username() if user is not None else username,
                "ok": form.next_step in ("factor", "enroll"),
                "at": time.time(),
                "tries": 0,
                "next": next_url,
            }
            step = "admin:signin_enroll" if form.next_step == "enroll" else "admin:signin_factor"
            return HttpResponseRedirect(reverse(step))

    @never_cache
    def login(request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and site.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
        context = {
            **site.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=site.name)
        request.current_app = site.name
        return StaffLoginView.as_view(extra_context=context)(request)

    @never_cache
    @csrf_protect
    @require_http_methods(["GET", "POST"])
    def factor(request: HttpRequest) -> HttpResponse:
        """The second step: a code from the app, a recovery code, or a passkey."""
        pending = _pending(request)
        if pending is None:
            messages.error(request, PENDING_OVER)
            return HttpResponseRedirect(reverse("admin:login"))
        username = str(pending["u"])
        error = ""
        if request.method == "POST":
            wait = signin_wait(request=request, username=username)
            if wait:
                error = (
                    f"Too many failed sign-ins. Wait {wait} seconds before trying again: tries "
                    "before then are not looked at."
                )
            else:
                factors = f.factors_of(username=username)  # read whatever the password was
                code = request.POST.get("code", "").strip()
                credential = request.POST.get("credential", "")
                challenge = str(pending.get("challenge", ""))
                passed = False
                if credential and challenge:
                    passed = f.passkey_verify(
                        request=request, factors=factors, credential=credential, challenge=challenge
                    )
                elif code:
                    passed = f.totp_verify(factors=factors, code=code) or f.recovery_use(
                        factors=factors, code=code
                    )
                if passed and pending.get("ok"):
                    done = _signin_complete(request, username, str(pending["next"]))
                    if done is not None:
                        return done
                signin_failure_record(request=request, username=username)
                pending["tries"] = int(pending.get("tries", 0)) + 1
                request.session[_PENDING] = pending
                if pending["tries"] >= PENDING_TRIES:
                    request.session.pop(_PENDING, None)
                    messages.error(request, PENDING_OVER)
                    return HttpResponseRedirect(reverse("admin:login"))
                error = WRONG_FACTOR
        options, challenge = f.passkey_authentication_options(request=request)
        pending["challenge"] = challenge
        request.session[_PENDING] = pending
        context = {
            **_site_context(site, request, "Second step"),
            "error": error,
            "passkey_options": json.loads(options),  # json_script writes it out again
        }
        return TemplateResponse(request, "staff/signin_factor.html", context)

    @never_cache
    @csrf_protect
    @require_http_methods(["GET", "POST"])
    def enroll(request: HttpRequest) -> HttpResponse:
        """First sign-in after a factor became required: add an app's code or a passkey, then
        see the recovery codes once."""
        pending = _pending(request)
        if pending is None or not pending.get("ok"):
            messages.error(request, PENDING_OVER)
            return HttpResponseRedirect(reverse("admin:login"))
        username = str(pending["u"])
        factors = f.factors_of(username=username)
        if f.factors_summary(factors).any:  # enrolled meanwhile (another tab): ask for it
            return HttpResponseRedirect(reverse("admin:signin_factor"))
        error = ""
        secret = str(pending.get("totp_secret") or f.totp_secret_new())
        if request.method == "POST":
            enrolled = False
            credential = request.POST.get("credential", "")
            if credential and pending.get("challenge"):
                enrolled = f.passkey_register(
                    request=request,
                    username=username,
                    credential=credential,
                    challenge=str(pending["challenge"]),
                    label=request.POST.get("label", ""),
                )
            elif request.POST.get("code"):
                enrolled = f.totp_enroll(
                    username=username, secret=secret, code=request.POST["code"]
                )
            if enrolled:
                what = "a passkey or security key" if credential else "an authenticator app"
                f.factor_added_audit(username=username, what=what)
                codes = f.recovery_codes_new(username=username)
                next_url = str(pending["next"])
                if _signin_complete(request, username, next_url) is None:
                    return HttpResponseRedirect(reverse("admin:login"))
                context = {
                    **_site_context(site, request, "Your recovery codes"),
                    "codes": codes,
                    "next_url": next_url,
                }
                return TemplateResponse(request, "staff/signin_recovery_codes.html", context)
            pending["tries"] = int(pending.get("tries", 0)) + 1
            error = "That did not work: check the code (or try the key again)."
        options, challenge = f.passkey_registration_options(
            request=request, username=username, factors=factors
        )
        pending.update(totp_secret=secret, challenge=challenge)
        request.session[_PENDING] = pending
        context = {
            **_site_context(site, request, "Set up a second factor"),
            "error": error,
            "secret": secret,
            "otpauth_uri": f.totp_uri(username=username, secret=secret),
            "passkey_options": json.loads(options),
            "username": username,
        }
        return TemplateResponse(request, "staff/signin_enroll.html", context)

    @never_cache
    @csrf_protect
    @require_http_methods(["GET", "POST"])
    def unlock(request: HttpRequest) -> HttpResponse:
        """An admin's one-time unlock link: a button (a link previewer's GET spends nothing)
        that makes this browser a known device of the member."""
        token = request.POST.get("token") or request.GET.get("token") or ""
        if request.method == "POST":
            username = unlock_link_use(request=request, token=token)
            if username:
                messages.success(
                    request, f"This browser can sign in as {username} now: no delay holds it."
                )
            else:
                messages.error(request, "This unlock link was used already or has expired.")
            return HttpResponseRedirect(reverse("admin:login"))
        context = {**_site_context(site, request, "Unlock your sign-in"), "token": token}
        return TemplateResponse(request, "staff/signin_unlock.html", context)

    return [
        path("login/", login, name="login"),
        path("login/factor/", factor, name="signin_factor"),
        path("login/enroll/", enroll, name="signin_enroll"),
        path("login/unlock/", unlock, name="signin_unlock"),
    ]
