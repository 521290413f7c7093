"""Sidebar filters. A filter reads its choice from the query string; the admin's
``list_source`` turns the choice into index partitions or range-key bounds. Each filter also
describes itself for the sidebar (``spec``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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
    attribute: str | None = None  # the item's attribute the choice is about; default: param

    def chosen(self, request: HttpRequest) -> str | None:
        value = request.GET.get(self.param)
        return value if value in {c for c, _ in self.choices} else None

    def keeps(self, request: HttpRequest, item: Any, sort_value: str) -> bool:
        """Whether ``item`` (a search result) passes the chosen value: a search keeps the
        active filters by applying them to what it found."""
        chosen = self.chosen(request)
        return chosen is None or getattr(item, self.attribute or self.param, None) == chosen

    def error(self, request: HttpRequest) -> str | None:
        """What is wrong with the filter's value in the query string (None: nothing)."""
        value = request.GET.get(self.param)
        if value is None or value == "" or self.chosen(request) is not None:
            return None
        labels = ", ".join(label for _, label in self.choices)
        return f"“{value}” is not a {self.title} this list knows (one of: {labels})."

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
    if not value or len(value) != len("YYYY-MM-DD"):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def utc_today() -> date:
    return datetime.now(UTC).date()


@dataclass
class DateRangeFilter:
    """From/to dates (inclusive, UTC) as ``{param}__gte`` / ``{param}__lte``: bounds on the
    index's range key, and which day buckets a list reads."""

    param: str
    title: str
    # How many days back from today (UTC) a date may reach; None: any date from year 1000.
    reach_days: int | None = None

    def chosen(self, request: HttpRequest) -> tuple[date | None, date | None]:
        return (
            date_parse(request.GET.get(f"{self.param}__gte")),
            date_parse(request.GET.get(f"{self.param}__lte")),
        )

    def keeps(self, request: HttpRequest, item: Any, sort_value: str) -> bool:
        """Whether ``item``'s sort value (its time) is in the chosen range."""
        low, high = day_bounds(self.chosen(request))
        return (low is None or sort_value >= low) and (high is None or sort_value <= high)

    def earliest(self) -> date:
        if self.reach_days is None:
            return date(1000, 1, 1)
        return utc_today() - timedelta(days=self.reach_days)

    def error(self, request: HttpRequest) -> str | None:
        """What is wrong with the dates in the query string (None: nothing): not a date, before
        the earliest date the list reaches, or a start after the end."""
        low, high = self.chosen(request)
        for value, parsed in (
            (request.GET.get(f"{self.param}__gte"), low),
            (request.GET.get(f"{self.param}__lte"), high),
        ):
            if value and parsed is None:
                return f"{self.title}: “{value}” is not a date; write it as YYYY-MM-DD."
            if parsed is not None and parsed < self.earliest():
                return (
                    f"{self.title}: {parsed.isoformat()} is too far back; this list reaches "
                    f"back to {self.earliest().isoformat()}."
                )
        if low is not None and high is not None and low > high:
            return (
                f"{self.title}: the start {low.isoformat()} is after the end "
                f"{high.isoformat()}, so nothing can match; swap them."
            )
        return None

    def spec(self, request: HttpRequest, query_string: QueryString) -> dict[str, Any]:
        own = {f"{self.param}__gte", f"{self.param}__lte"}
        return {
            "kind": "dates",
            "title": self.title,
            "param": self.param,
            # What was typed, valid or not, so a mistake can be corrected where it was made.
            "low": request.GET.get(f"{self.param}__gte", ""),
            "high": request.GET.get(f"{self.param}__lte", ""),
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
