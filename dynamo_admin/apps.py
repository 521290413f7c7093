"""The package's app: its templates (``dynamo_admin/...``) and its system checks."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string


class DynamoAdminConfig(AppConfig):
    name = "dynamo_admin"
    verbose_name = "Admin over DynamoDB"
    default = True

    def ready(self) -> None:
        checks.register(audit_sink_check, checks.Tags.admin)


def audit_sink_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An audit sink that cannot be imported is an error; none at all, a warning."""
    path = getattr(settings, "DYNAMO_ADMIN_AUDIT_SINK", None)
    if not path:
        return [
            checks.Warning(
                "No DYNAMO_ADMIN_AUDIT_SINK: changes made in the admin are not recorded.",
                hint="Name a class with record/history/recent (dynamo_admin.audit), or pass "
                "audit_sink= to your DynamoAdminSite and silence dynamo_admin.W001.",
                id="dynamo_admin.W001",
            )
        ]
    try:
        import_string(path)
    except ImportError as error:
        return [checks.Error(f"DYNAMO_ADMIN_AUDIT_SINK: {error}", id="dynamo_admin.E001")]
    return []
