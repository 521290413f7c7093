"""The admin's AppConfig, in its own module so ``tickets.apps`` keeps one default config.

``SimpleAdminConfig``, not ``AdminConfig``: the apps' ``admin`` modules (and the admin pieces
they pull in: forms, dynamo_admin's options and list sources) are imported the first time the
admin is used, not in ``django.setup()`` at every cold start. A storefront request never loads
them. ``BackOfficeAdminSite.get_urls`` and ``.check`` run the discovery first
(``tickets.admin_site.admin_modules_load``), and ``tickets.urls`` builds the admin's URLs only
when a path under ``admin/`` is resolved or a URL is reversed.
"""

from django.contrib.admin.apps import SimpleAdminConfig


class BackOfficeAdminConfig(SimpleAdminConfig):
    """``django.contrib.admin`` with our site (audit-log recent actions, staff sign-in form)."""

    default_site = "tickets.admin_site.BackOfficeAdminSite"
