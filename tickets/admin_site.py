"""The back office's admin site: ``dynamo_admin``'s site with this project's header and site
pages, and the project's audit log (``core.audit``) as its audit sink. The apps plug in
their parts (the staff sign-in form, the dashboard, "sign out everywhere") from their
``admin`` modules, which the site loads on its first use (``admin_modules_load``): the
project package imports no app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin import autodiscover
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from core.audit import AuditRecord, audit_history, audit_recent_by, audit_record
from core.health import health_banners
from dynamo_admin.audit import AuditEntry
from dynamo_admin.sites import DynamoAdminSite

# Audit actions about a whole list (not one object), and the admin page each links to.
LIST_ACTIONS = {"export": "admin:orders_order_export"}


def _list_url(action: str) -> str | None:
    try:
        return reverse(LIST_ACTIONS[action])
    except NoReverseMatch:
        return None


def _entry(record: AuditRecord) -> AuditEntry:
    about_list = record.action in LIST_ACTIONS
    return AuditEntry(
        about_list=about_list,
        list_url=_list_url(record.action) if about_list else None,
        at=record.at,
        user=record.staff,
        action=record.action,
        object_type=record.object_type,
        object_id=record.object_id,
        object_repr=record.object_repr,
        summary=record.summary,
        before=record.before,
        after=record.after,
        reason=record.reason,
    )


class BackOfficeAuditSink:
    """``dynamo_admin``'s audit sink over ``core.audit`` (``DYNAMO_ADMIN_AUDIT_SINK``)."""

    def record(
        self,
        *,
        user: str,
        object_type: str,
        object_id: str,
        object_repr: str,
        action: str,
        summary: str,
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        audit_record(
            staff=user,
            object_type=object_type,
            object_id=object_id,
            object_repr=object_repr,
            action=action,
            summary=summary,
            before=before,
            after=after,
        )

    def history(self, *, object_type: str, object_id: str, limit: int) -> list[AuditEntry]:
        return [
            _entry(r)
            for r in audit_history(object_type=object_type, object_id=object_id, limit=limit)
        ]

    def recent(self, *, user: str, limit: int) -> list[AuditEntry]:
        return [_entry(r) for r in audit_recent_by(staff=user, limit=limit)]


class BackOfficeAdminSite(DynamoAdminSite):
    """Permissions come from staff roles (``staff.roles``), so ``auth.Group`` stays out."""

    site_header = "TicketsToHeaven back office"
    site_title = "TicketsToHeaven admin"
    index_title = "Back office"
    # The app list is one click away (breadcrumbs, "Home"); without the sidebar, the order
    # list's key columns fit a 1280 px laptop beside the filters.
    enable_nav_sidebar = False

    @property  # type: ignore[override]
    def site_url(self) -> str | None:
        """ "View site" goes to the storefront (``STOREFRONT_URL``), or is not shown: the
        back office has no public page of its own at ``/``."""
        return settings.STOREFRONT_URL or None

    def get_urls(self) -> list[Any]:
        from tickets import admin_views

        admin_modules_load()
        return [*admin_views.site_urls(self), *super().get_urls()]

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The stock index with the integration-health banners first (``core.health``)."""
        return super().index(
            request, extra_context={"health_banners": health_banners(), **(extra_context or {})}
        )

    def check(self, app_configs: Any) -> list[Any]:
        admin_modules_load()  # ``manage.py check`` sees every registered admin
        return super().check(app_configs)


_admin_modules_loaded = False


def admin_modules_load() -> None:
    """Import every app's ``admin`` module once (``AdminConfig`` would do it in
    ``django.setup()``; ``tickets.admin_apps`` leaves it to the admin's first use, so that a
    storefront cold start never pays for it). Safe to call again; after a failed import the
    next call tries again, as Django's ``autodiscover`` leaves the registry as it was."""
    global _admin_modules_loaded
    if not _admin_modules_loaded:
        autodiscover()
        _admin_modules_loaded = True
