"""The admin's AppConfig, in its own module so ``tickets.apps`` keeps one default config."""

from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """``django.contrib.admin`` with our site (audit-log recent actions, staff sign-in form)."""

    default_site = "tickets.admin_site.BackOfficeAdminSite"
