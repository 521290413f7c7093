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

    return [
        *signin_urls(site),  # before the site's own login/: ours asks for the second factor
        path(
            "sign-out-everywhere/",
            site.admin_view(sign_out_everywhere),
            name="sign_out_everywhere",
        ),
    ]
