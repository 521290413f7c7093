"""The orders app's site-level admin page: the dashboard (registered with the admin site from
``orders/admin.py``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path


def site_urls(site: admin.AdminSite) -> list[Any]:
    def dashboard(request: HttpRequest) -> HttpResponse:
        from orders.admin_dashboard import dashboard_view

        return dashboard_view(request, site)

    return [path("dashboard/", site.admin_view(dashboard), name="dashboard")]
