"""Sidebar filters. A filter reads its choice from the query string; the admin's
``list_source`` turns the choice into index partitions or range-key bounds. Each filter also
describes itself for the sidebar (``spec``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import HttpRequest

from dynamo_admin.params import CURSOR_VAR

QueryString = Callable[..., str]  # (request, **changes) -> "?..." without the cursor


@dataclass
class ChoiceFilter:
    """Fixed choices; ``list_source`` maps the chosen value to the partition to read (a status
    index's partition, say)."""

    param: str
    title: str
    choices: list[tuple[str, str]]

    def chosen(self, request: HttpRequest) -> str | None:
        value = request.GET.get(self.param)
        return value if value in {c for c, _ in self.choices} else None

    def spec(self, request: HttpRequest, query_string: QueryString) -> dict[str, Any]:
        chosen = self.chosen(request)
        links = [
            {
                "label": "All",
                "url": query_string(request, **{self.param: None}),
                "selected": chosen is None,
            }
        ]
        links += [
            {
                "label": label,
                "url": query_string(request, **{self.param: value}),
                "selected": chosen == value,
            }
            for value, label in self.choices
        ]
        return {"kind": "choice", "title": self.title, "links": links}


def date_parse(value: str | None) -> date | None:
    """``YYYY-MM-DD`` or None (empty or malformed)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@dataclass
class DateRangeFilter:
    """From/to dates (inclusive, UTC) as ``{param}__gte`` / ``{param}__lte``: bounds on the
    index's range key, and which day buckets a list reads."""

    param: str
    title: str

    def chosen(self, request: HttpRequest) -> tuple[date | None, date | None]:
        return (
            date_parse(request.GET.get(f"{self.param}__gte")),
            date_parse(request.GET.get(f"{self.param}__lte")),
        )

    def spec(self, request: HttpRequest, query_string: QueryString) -> dict[str, Any]:
        low, high = self.chosen(request)
        own = {f"{self.param}__gte", f"{self.param}__lte"}
        return {
            "kind": "dates",
            "title": self.title,
            "param": self.param,
            "low": low.isoformat() if low else "",
            "high": high.isoformat() if high else "",
            "hidden": [(k, v) for k, v in request.GET.items() if k not in {CURSOR_VAR, *own}],
            "clear": query_string(request, **dict.fromkeys(own)),
        }


def day_bounds(chosen: tuple[date | None, date | None]) -> tuple[str | None, str | None]:
    """A chosen date range as bounds on ISO-time sort values (``...T00:00:00.000000Z`` to
    ``...T23:59:59.999999Z``)."""
    low, high = chosen
    return (
        f"{low.isoformat()}T00:00:00.000000Z" if low else None,
        f"{high.isoformat()}T23:59:59.999999Z" if high else None,
    )
