"""What an admin class declares besides its list source: columns, searches, object actions and
related lists. Each is read by key or index query; nothing here touches a table itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest


@dataclass
class Column:
    """A list column: ``name`` is an attribute of the item or a callable taking the item."""

    name: str | Callable[[Any], Any]
    title: str
    link: bool = False
    nowrap: bool = False  # kept on one line at any width (an amount, a time)

    def value(self, item: Any) -> Any:
        value = self.name(item) if callable(self.name) else getattr(item, self.name, None)
        return "-" if value is None or value == "" else value


@dataclass
class SearchField:
    """A search the box can run: ``matches(term)`` says whether the term looks like one
    (an id prefix, an e-mail), ``lookup(term)`` answers with key lookups or index queries."""

    title: str
    matches: Callable[[str], bool]
    lookup: Callable[[str], list[Any]]


@dataclass
class ObjectAction:
    """A button on the change page (and, without a form, on selected rows of the list).

    ``run(request, item, cleaned_data)`` calls the project's service and returns the success
    message. The admin checks ``permission``, refuses when the item changed since the page was
    read, records the audit entry (unless ``audited_by_service``: the service records it
    itself, so it is recorded once), and turns the configured error types (``errors``) into
    error messages.

    With ``confirm``, the button first opens a confirmation page (as Django's delete does):
    ``confirm(item, cleaned_data)`` returns the lines saying what will happen (the amount, its
    effect); the page asks for ``confirm_form_class``'s fields (a reason, say) and runs the
    action only when those are valid, with both forms' data. Such an action is never offered
    on the list's selected rows.
    """

    name: str
    label: str
    permission: str
    run: Callable[[HttpRequest, Any, dict[str, Any]], str]
    form_class: type[forms.Form] | None = None
    available: Callable[[Any], bool] = lambda item: True
    help_text: str = ""
    audited_by_service: bool = False
    confirm: Callable[[Any, dict[str, Any]], list[str]] | None = None
    confirm_form_class: type[forms.Form] | None = None
    # The confirmation's form made for the item (choices that depend on it, e.g. its tickets);
    # takes the place of ``confirm_form_class`` when given.
    confirm_form_for: Callable[[Any], type[forms.Form]] | None = None
    confirm_label: str = ""  # the confirmation page's button; "Yes, <label>" by default
    # False for an action that adds rather than changes (a note): it runs even when the item
    # changed since the page was read.
    checks_version: bool = True


@dataclass
class RelatedList:
    """A table of related items on the change page, each read by key or index: ``rows(item)``
    returns dicts keyed by column title; the ``_url`` key, if present, links the row.

    With ``template``, the rows are handed as they are (``rows`` in the template's context)
    to that template, which draws them (a timeline) instead of the plain table."""

    title: str
    columns: list[str]
    rows: Callable[[Any], list[Any]]
    template: str = ""
    side: bool = False  # shown beside the details on a wide screen (a timeline), not below


def _label(entry: Any) -> str | None:
    return getattr(entry, "name", None) if isinstance(entry, ObjectAction) else entry.title


def declaration_insert(entries: list[Any], entry: Any, *, before: str | None = None) -> list[Any]:
    """A copy of ``entries`` with ``entry`` before the one named (actions) or titled (lists,
    searches) ``before``, or at the end. An entry with the same name or title is replaced, so
    adding twice (a module imported again) changes nothing."""
    kept = [e for e in entries if _label(e) != _label(entry)]
    labels = [_label(e) for e in kept]
    at = labels.index(before) if before in labels else len(kept)
    return [*kept[:at], entry, *kept[at:]]
