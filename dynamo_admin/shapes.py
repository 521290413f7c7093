"""The admin-facing "shape" of a PynamoDB model: an unmanaged Django model for ``_meta``."""

from __future__ import annotations

from typing import Any

from django.db import models


def dynamo_shape(
    *,
    app_label: str,
    name: str,
    key: str,
    fields: dict[str, models.Field] | None = None,
    verbose_name: str | None = None,
    verbose_name_plural: str | None = None,
) -> type[models.Model]:
    """An unmanaged Django model standing for a PynamoDB model in the admin.

    It exists for ``_meta`` only (registration, URL names, permissions ``app.view_name``, the
    app index, breadcrumbs); it is never saved or queried. ``key`` names its string primary key,
    the id that appears in URLs. Call it in the app's ``admin.py`` (``app_label`` must be an
    installed app's label).
    """
    attrs: dict[str, Any] = {
        "__module__": f"{app_label}.admin",
        key: models.CharField(max_length=255, primary_key=True),
        "__str__": lambda self: self.__dict__.get("_repr") or str(self.pk),
        "Meta": type(
            "Meta",
            (),
            {
                "app_label": app_label,
                "managed": False,
                "verbose_name": verbose_name or name.lower(),
                "verbose_name_plural": verbose_name_plural or f"{verbose_name or name.lower()}s",
                "default_permissions": ("add", "change", "view"),
            },
        ),
    }
    attrs.update(fields or {})
    return type(name, (models.Model,), attrs)
