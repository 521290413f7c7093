"""``DynamoAdminSite``: Django's ``AdminSite`` for DynamoDB-backed admins.

- "Recent actions" on the index come from the audit sink, not ``LogEntry`` (an ORM table);
- models whose admin would need the ORM (``auth.Group``, ``auth.User``, which
  ``django.contrib.auth`` registers by itself) are refused; name more in ``refused``;
- ``audit_sink=`` in the constructor overrides ``DYNAMO_ADMIN_AUDIT_SINK``;
- an unknown admin URL answers the admin's own "Page not found" page (HTML, status 404),
  whatever the project's ``handler404`` answers elsewhere (an API's JSON, say).

Header, titles, the login form and extra site pages are the project's: subclass it (or set
the attributes Django's ``AdminSite`` has for them) and point ``AdminConfig.default_site`` at
the subclass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.common import no_append_slash

from dynamo_admin import conf
from dynamo_admin.audit import AuditSink, NullAuditSink, RecentActions


class DynamoAdminSite(admin.AdminSite):
    refused: set[str] = {"auth.group", "auth.user"}

    def __init__(self, *args: Any, audit_sink: AuditSink | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._audit_sink = audit_sink

    @property
    def audit_sink(self) -> AuditSink:
        """The constructor's sink, else a new one of ``DYNAMO_ADMIN_AUDIT_SINK`` (read when
        used, so a sink holds no state between requests), else one that records nothing."""
        if self._audit_sink is not None:
            return self._audit_sink
        return conf.setting_object("DYNAMO_ADMIN_AUDIT_SINK") or NullAuditSink()

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        models_ = (
            model_or_iterable if isinstance(model_or_iterable, Iterable) else [model_or_iterable]
        )
        kept = [m for m in models_ if m._meta.label_lower not in self.refused]
        if kept:
            super().register(kept, admin_class, **options)

    def get_log_entries(self, request: HttpRequest) -> RecentActions:
        return RecentActions(self.audit_sink)

    not_found_template = "dynamo_admin/404.html"

    @no_append_slash
    def catch_all_view(self, request: HttpRequest, url: str) -> HttpResponse:
        try:
            return super().catch_all_view(request, url)
        except Http404:
            request.current_app = self.name
            context = {**self.each_context(request), "title": "Page not found"}
            return TemplateResponse(request, self.not_found_template, context, status=404)
