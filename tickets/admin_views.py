"""Site-level admin pages that belong to no single model (the dashboard, "sign out
everywhere"), plugged in by the apps that own them.

The project package imports no app: each app registers its pages from its ``admin`` module
(imported on the admin's first use, ``tickets.admin_apps``) with ``site_urls_register(factory)``, where ``factory(site)`` returns URL patterns (named in the
``admin`` namespace, wrapped in ``site.admin_view``). The site adds them before its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin

SiteUrls = Callable[[admin.AdminSite], list[Any]]

_factories: list[SiteUrls] = []


def site_urls_register(factory: SiteUrls) -> None:
    """Add an app's site-level pages (call it from the app's ``admin`` module)."""
    if factory not in _factories:
        _factories.append(factory)


def site_urls(site: admin.AdminSite) -> list[Any]:
    return [pattern for factory in _factories for pattern in factory(site)]
