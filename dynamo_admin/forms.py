"""Form helpers for the change, add and action pages (plain ``django.forms.Form`` classes)."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest

VERSION_FIELD = "_version"  # the hidden input carrying the version the page was read at


def version_posted(request: HttpRequest) -> int | None:
    """The version the page was read at, as posted (None: missing or not a number)."""
    try:
        return int(request.POST.get(VERSION_FIELD, ""))
    except ValueError:
        return None


def form_disable(form: forms.Form) -> forms.Form:
    """Show a form read-only (a role that may view but not change)."""
    for field in form.fields.values():
        field.disabled = True
    return form


def form_errors_line(form: forms.Form) -> str:
    """A bound form's errors on one line, for a message, by the fields' labels:
    ``Amount: Enter a number.``"""

    def label(name: str) -> str:
        field = form.fields.get(name)
        return str(field.label or name) if field is not None else name

    return "; ".join(f"{label(name)}: {' '.join(errors)}" for name, errors in form.errors.items())
