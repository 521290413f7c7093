"""Extension points: another app adds its part to an admin without changing the admin's class.

An app that depends on another (payments on orders) shows its own rows, searches and actions
on the other's pages (a payments list and a "Refund" on the order page). It registers an
``AdminExtension`` for the admin's object type (``"orders.order"``) from its own ``admin``
module, the way Django's admin registers a model; the admin reads the extensions each time it
draws a page (``DynamoModelAdmin.get_related_lists`` and friends), so the arrow between the
apps runs one way and the admin's class stays as written::

    extension_register(
        "orders.order",
        AdminExtension(
            related_lists=[(RelatedList("Payments", [...], rows), "Fulfillment attempts")],
            object_actions=[(ObjectAction("refund", "Refund", ...), "cancel")],
        ),
    )

Each entry goes before the declaration named (an action) or titled (a list, a search) by its
second element, or at the end (None). Registering the same entry again replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dynamo_admin.declarations import (
    ObjectAction,
    RelatedList,
    SearchField,
    declaration_insert,
)


@dataclass(frozen=True)
class AdminExtension:
    related_lists: list[tuple[RelatedList, str | None]] = field(default_factory=list)
    search_fields: list[tuple[SearchField, str | None]] = field(default_factory=list)
    object_actions: list[tuple[ObjectAction, str | None]] = field(default_factory=list)


_extensions: dict[str, dict[str, AdminExtension]] = {}


def extension_register(object_type: str, extension: AdminExtension, *, name: str = "") -> None:
    """Add ``extension`` to the admin of ``object_type`` (``app_label.model_name``); ``name``
    (the registering module, by default) makes registering twice replace, not add."""
    _extensions.setdefault(object_type, {})[name or repr(extension)] = extension


def extensions_of(object_type: str) -> list[AdminExtension]:
    return list(_extensions.get(object_type, {}).values())


def declarations_extended(own: list[Any], object_type: str, kind: str) -> list[Any]:
    """An admin's own declarations of ``kind`` (``related_lists``...) with its extensions'."""
    merged = list(own)
    for extension in extensions_of(object_type):
        for entry, before in getattr(extension, kind):
            merged = declaration_insert(merged, entry, before=before)
    return merged
