"""The package's settings, read when used (so ``override_settings`` works), each with a default.

- ``DYNAMO_ADMIN_PAGE_SIZE`` (50): rows per list page (an admin's ``per_page`` wins);
- ``DYNAMO_ADMIN_AUDIT_SINK`` (none): dotted path of an audit sink class (or factory); none:
  nothing is recorded and the system check ``dynamo_admin.W001`` warns;
- ``DYNAMO_ADMIN_CONFLICT_ERRORS`` (empty): dotted paths of exception classes meaning "changed
  by someone else meanwhile" (besides ``errors.Conflict``);
- ``DYNAMO_ADMIN_USER_ERRORS`` (empty): dotted paths of exception classes whose message is
  shown to staff as an error (besides ``errors.ActionRefused``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_PAGE_SIZE = 50


def page_size() -> int:
    return int(getattr(settings, "DYNAMO_ADMIN_PAGE_SIZE", DEFAULT_PAGE_SIZE))


def setting_classes(name: str) -> tuple[type, ...]:
    """The classes a setting names by dotted path (a list of them)."""
    return tuple(import_string(path) for path in getattr(settings, name, ()) or ())


def setting_object(name: str) -> Any | None:
    """What a setting's dotted path names, called (a class or factory), or None if unset."""
    path = getattr(settings, name, None)
    return import_string(path)() if path else None
