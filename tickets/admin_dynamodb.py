"""The Django admin over PynamoDB models: declared access patterns, cursor pages, no Scans.

Django's admin is built on the ORM (querysets with arbitrary filters, counts, offsets); DynamoDB
answers only key lookups and index queries. Rather than pretend otherwise (a fake queryset that
Scans), an admin class here *declares* how each page is read, and the module refuses anything
else. What an admin class for a PynamoDB model declares::

    class OrderAdmin(DynamoModelAdmin):
        dynamo_model = Order                      # the PynamoDB model
        list_columns = [Column("order_id", "Order", link=True), Column("status", "Status")]
        list_filters = [ChoiceFilter("status", "status", choices=[...]),
                        DateRangeFilter("created", "created")]
        search_fields = [SearchField("order id", matches=..., lookup=...)]
        object_actions = [ObjectAction("refund", "Refund", permission="orders.refund_order", ...)]
        related_lists = [RelatedList("Payments", columns=[...], rows=...)]

        def list_source(self, request, filters) -> ListSource: ...   # which index partitions
        def item_get(self, object_id) -> Model | None: ...            # a key lookup
        def item_key(self, item) -> str: ...                          # the id in URLs
        def item_sort_value(self, item) -> str: ...                   # the index's range key

and gets, in the admin's own templates (breadcrumbs, messages, app index, permissions, CSRF):

- a list page: columns, filters in the sidebar, a search box, actions on selected rows, and
  cursor pagination: ``p`` carries an opaque signed token (direction + the sort value and key of
  the row at the page's edge), Prev/Next links, no counts. A page costs one Query per index
  partition it touches (a fixed number), whatever the table holds: fetch ``per_page + 1`` rows
  to know whether there is a next page;
- a change page: a plain Django form over the declared fields (``form_class``) plus read-only
  details and related lists; a POST carries the version it read, and the write's condition
  is that version, so a concurrent change is reported as an error message, never overwritten;
- object actions (a button, optionally a small form) with their own permission, refused with a
  message when the object changed since the page was read;
- a history page from the audit log (``tickets.audit``), with before/after values.

Every change goes through ``audit_record``. Nothing here may Scan, count a table, or use the ORM
(the ``Meta.managed = False`` "shape" model only gives the admin its ``_meta``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from pynamodb.attributes import Attribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.models import Model

from tickets.audit import RecentActions, audit_history, audit_record
from tickets.dynamodb import condition_failed, utc_now_iso
from tickets.exceptions import ApplicationError, Conflict

logger = logging.getLogger(__name__)

CURSOR_SALT = "tickets.admin_dynamodb.cursor"
CURSOR_VAR = "p"
SEARCH_VAR = "q"


# --- The admin-facing "shape" of a PynamoDB model ---------------------------------------------


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
    the id that appears in URLs.
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


# --- Cursor tokens ---------------------------------------------------------------------------


def cursor_encode(*, direction: str, sort_value: str, key: str) -> str:
    """An opaque, signed page token: where the next (older) or previous (newer) page starts.
    Signed so a hand-made token cannot steer a query; it holds no personal data."""
    return signing.dumps({"d": direction, "s": sort_value, "k": key}, salt=CURSOR_SALT)


def cursor_decode(token: str | None) -> dict[str, str] | None:
    if not token:
        return None
    try:
        data = signing.loads(token, salt=CURSOR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("d") not in {"next", "prev"}:
        return None
    return {"d": data["d"], "s": str(data.get("s", "")), "k": str(data.get("k", ""))}


# --- Where a list page reads from ------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    """One index partition: ``index.query(hash_value)``. ``low``/``high`` bound its sort values
    when partitions are time buckets (a day), so a page can skip buckets outside its range."""

    index: Any  # a GlobalSecondaryIndex or a Model class
    hash_value: str
    low: str | None = None
    high: str | None = None


@dataclass
class ListSource:
    """The partitions a list reads, all sorted by one range attribute (``sort_attribute``).

    ``bucketed``: partitions are disjoint time buckets given newest first (one day each), walked
    in order until the page is full or ``max_partitions`` were read (then the page ends early
    and Next continues from the next bucket: a page's cost stays bounded even over empty days).
    Otherwise the partitions overlap in time (one per status) and are read together and merged.
    ``low``/``high`` bound the sort values (inclusive), e.g. a date range filter.
    """

    partitions: list[Partition]
    sort_attribute: Attribute
    bucketed: bool = False
    low: str | None = None
    high: str | None = None
    max_partitions: int = 31
    descending: bool = True  # newest (largest sort value) first; False for A-Z lists


@dataclass
class Page:
    rows: list[Any]
    next_token: str | None = None
    prev_token: str | None = None
    queries: int = 0
    # The page stopped at its bucket budget before filling up: older days are still unread.
    partial: bool = False


# A key that sorts after any id, for a cursor that must skip every row with its sort value.
_HIGHEST = "\U0010ffff"


def _query(
    partition: Partition,
    source: ListSource,
    *,
    descending: bool,
    low: str | None,
    high: str | None,
    limit: int,
) -> list[Any]:
    attribute = source.sort_attribute
    if low is not None and high is not None:
        condition = attribute.between(low, high)
    elif low is not None:
        condition = attribute >= low
    elif high is not None:
        condition = attribute <= high
    else:
        condition = None
    return list(
        partition.index.query(
            partition.hash_value,
            range_key_condition=condition,
            scan_index_forward=not descending,
            limit=limit,
        )
    )


def page_fetch(
    source: ListSource,
    *,
    token: str | None,
    per_page: int,
    key_of: Callable[[Any], str],
    sort_of: Callable[[Any], str],
) -> Page:
    """One page of ``source`` in its order (``descending``: newest first), starting at the
    cursor in ``token``.

    Reads at most ``per_page + 1`` items from each partition it touches, and touches either
    every partition of a merged source (a fixed, small number) or at most ``max_partitions``
    buckets: the cost depends on the page size, never on the table's size.
    """
    cursor = cursor_decode(token)
    going_next = cursor is None or cursor["d"] == "next"
    # The direction of the index reads: the list's own order going forward, reversed going back.
    scan_desc = going_next == source.descending
    low, high = source.low, source.high
    edge: tuple[str, str] | None = None
    if cursor is not None:
        edge = (cursor["s"], cursor["k"])
        if scan_desc:
            high = cursor["s"] if high is None else min(high, cursor["s"])
        else:
            low = cursor["s"] if low is None else max(low, cursor["s"])

    def beyond_edge(item: Any) -> bool:
        if edge is None:
            return True
        position = (sort_of(item), key_of(item))
        return position < edge if scan_desc else position > edge

    if low is not None and high is not None and low > high:
        return Page(rows=[])
    want = per_page + 1
    found: list[Any] = []
    queries = 0
    exhausted_budget_at: str | None = None
    partitions = [
        p
        for p in source.partitions
        if (p.high is None or low is None or p.high >= low)
        and (p.low is None or high is None or p.low <= high)
    ]
    if source.bucketed:
        if not going_next:
            partitions = list(reversed(partitions))
        for position, partition in enumerate(partitions):
            if position >= source.max_partitions:
                previous = partitions[position - 1]
                exhausted_budget_at = previous.low if scan_desc else previous.high
                break
            items = _query(
                partition,
                source,
                descending=scan_desc,
                low=low,
                high=high,
                limit=want - len(found) + (1 if edge else 0),
            )
            queries += 1
            found.extend(i for i in items if beyond_edge(i))
            if len(found) >= want:
                break
    else:
        for partition in partitions:
            items = _query(
                partition,
                source,
                descending=scan_desc,
                low=low,
                high=high,
                limit=want + (1 if edge else 0),
            )
            queries += 1
            found.extend(i for i in items if beyond_edge(i))
        found.sort(key=lambda i: (sort_of(i), key_of(i)), reverse=scan_desc)

    more = len(found) > per_page
    rows = found[:per_page]
    page = Page(rows=rows if going_next else list(reversed(rows)), queries=queries)
    page.partial = exhausted_budget_at is not None and not more
    if going_next:
        if more:
            last = rows[-1]
            page.next_token = cursor_encode(
                direction="next", sort_value=sort_of(last), key=key_of(last)
            )
        elif exhausted_budget_at is not None:
            # The page ran out of buckets to read, not of rows: Next goes on from there.
            page.next_token = cursor_encode(
                direction="next",
                sort_value=exhausted_budget_at,
                key="" if scan_desc else _HIGHEST,
            )
        if cursor is not None and rows:
            first = rows[0]
            page.prev_token = cursor_encode(
                direction="prev", sort_value=sort_of(first), key=key_of(first)
            )
    else:
        if page.rows and (more or exhausted_budget_at is not None):
            first = page.rows[0]
            page.prev_token = cursor_encode(
                direction="prev", sort_value=sort_of(first), key=key_of(first)
            )
        elif exhausted_budget_at is not None:
            page.prev_token = cursor_encode(
                direction="prev",
                sort_value=exhausted_budget_at,
                key="" if scan_desc else _HIGHEST,
            )
        if page.rows:
            last = page.rows[-1]
            page.next_token = cursor_encode(
                direction="next", sort_value=sort_of(last), key=key_of(last)
            )
    return page


def day_partitions(index: Any, *, first: date, last: date) -> list[Partition]:
    """One partition per day (hash value ``YYYY-MM-DD``), newest first, for an index whose
    partition key is the day an item was created and whose range key is its ISO time."""
    days = []
    day = last
    while day >= first:
        text = day.isoformat()
        days.append(
            Partition(index, text, low=f"{text}T00:00:00.000000Z", high=f"{text}T23:59:59.999999Z")
        )
        day -= timedelta(days=1)
    return days


# --- Declarations: columns, filters, search, actions, related lists ---------------------------


@dataclass
class Column:
    """A list column: ``name`` is an attribute of the item or a callable taking the item."""

    name: str | Callable[[Any], Any]
    title: str
    link: bool = False

    def value(self, item: Any) -> Any:
        value = self.name(item) if callable(self.name) else getattr(item, self.name, None)
        return "-" if value is None or value == "" else value


@dataclass
class ChoiceFilter:
    """A sidebar filter with fixed choices; ``list_source`` turns the chosen value into the
    index partition to read (e.g. ``order-status-index``)."""

    param: str
    title: str
    choices: list[tuple[str, str]]

    def chosen(self, request: HttpRequest) -> str | None:
        value = request.GET.get(self.param)
        return value if value in {c for c, _ in self.choices} else None


@dataclass
class DateRangeFilter:
    """From/to dates (inclusive, UTC) as ``{param}__gte`` / ``{param}__lte``: bounds on the
    index's range key, and which day buckets a list reads."""

    param: str
    title: str

    def chosen(self, request: HttpRequest) -> tuple[date | None, date | None]:
        def parse(name: str) -> date | None:
            try:
                return date.fromisoformat(request.GET.get(name, ""))
            except ValueError:
                return None

        return parse(f"{self.param}__gte"), parse(f"{self.param}__lte")


@dataclass
class SearchField:
    """A search the box can run: ``matches(term)`` says whether the term looks like one
    (``pi_...``, an e-mail), ``lookup(term)`` answers with key lookups or index queries."""

    title: str
    matches: Callable[[str], bool]
    lookup: Callable[[str], list[Any]]


@dataclass
class ObjectAction:
    """A button on the change page (and, without a form, on selected rows of the list).

    ``run(request, item, cleaned_data)`` returns the success message. The service it calls
    does the change with its own conditions; the plumbing checks ``permission``, refuses when
    the item changed since the page was read, records the audit entry (unless
    ``audited_by_service``: the service records it itself, so it is recorded once), and turns
    ``ApplicationError`` into an error message. A service module that is not deployed yet
    (``ModuleNotFoundError`` for it) becomes "not available yet".
    """

    name: str
    label: str
    permission: str
    run: Callable[[HttpRequest, Any, dict[str, Any]], str]
    form_class: type[forms.Form] | None = None
    available: Callable[[Any], bool] = lambda item: True
    help_text: str = ""
    audited_by_service: bool = False


@dataclass
class RelatedList:
    """A table of related items on the change page (a customer's orders, an order's payments),
    each read by key or index: ``rows(item)`` returns dicts keyed by column title; the
    ``_url`` key, if present, links the row."""

    title: str
    columns: list[str]
    rows: Callable[[Any], list[dict[str, Any]]]


class ServiceNotAvailable(Exception):
    """The service an action needs is not deployed yet."""


def service_function(module: str, name: str) -> Callable[..., Any]:
    """Import a service lazily, so the admin works before every service exists: a missing
    module is ``ServiceNotAvailable``, any other import error propagates."""
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as error:
        parts = module.split(".")
        ours = {".".join(parts[: i + 1]) for i in range(len(parts))}
        if error.name in ours:
            raise ServiceNotAvailable(module) from error
        raise
    try:
        return getattr(imported, name)
    except AttributeError as error:
        raise ServiceNotAvailable(f"{module}.{name}") from error


# --- The admin class --------------------------------------------------------------------------


class DynamoModelAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` whose pages read and write a PynamoDB model (see the module docstring).

    Subclasses declare the access patterns; the list, change, add and history views are
    replaced here, and the ORM-backed pieces of ``ModelAdmin`` (querysets, ``LogEntry``,
    deletion) are never reached.
    """

    dynamo_model: type[Model]
    list_columns: list[Column] = []
    list_filters: list[ChoiceFilter | DateRangeFilter] = []
    search_fields: list[SearchField] = []  # type: ignore[assignment]
    search_help: str = ""
    object_actions: list[ObjectAction] = []
    related_lists: list[RelatedList] = []
    details: list[tuple[str, Callable[[Any], Any]]] = []
    form_class: type[forms.Form] | None = None
    add_form_class: type[forms.Form] | None = None
    list_empty_message: str = ""
    list_order_label: str = "newest first"
    actions = None  # Django's queryset actions; ours are ``object_actions``
    list_object_tools: list[tuple[str, str]] = []  # (url name, label) links above the list

    def page_size(self) -> int:
        return settings.ADMIN_PAGE_SIZE

    # --- to implement ---------------------------------------------------------------------
    def list_source(self, request: HttpRequest, filters: dict[str, Any]) -> ListSource | None:
        """The partitions the list reads for these filters (``None``: show nothing, e.g. a
        table that can only be searched)."""
        raise NotImplementedError

    def item_get(self, object_id: str) -> Any | None:
        raise NotImplementedError

    def item_key(self, item: Any) -> str:
        raise NotImplementedError

    def item_sort_value(self, item: Any) -> str:
        return item.created_at

    def item_repr(self, item: Any) -> str:
        return self.item_key(item)

    def item_values(self, item: Any) -> dict[str, Any]:
        """The editable values, as the form's initial data and the audit's before/after."""
        form = self.form_class
        return {name: getattr(item, name, None) for name in (form.base_fields if form else {})}

    def item_update_actions(self, item: Any, changed: dict[str, Any]) -> list[Any]:
        """The UpdateItem actions for an edit: only the changed attributes (plus
        ``updated_at``), so a counter someone else maintains (seats left) is never written
        back from a stale read."""
        model = type(item)
        actions = []
        for name, value in changed.items():
            attribute = getattr(model, name)
            actions.append(attribute.remove() if value in (None, "") else attribute.set(value))
        if "updated_at" in model.get_attributes():
            actions.append(model.updated_at.set(utc_now_iso()))
        return actions

    def item_save(
        self, request: HttpRequest, item: Any, version: int, changed: dict[str, Any]
    ) -> None:
        """Write the change only if the item is still at ``version`` (the one the editor
        read); ``Conflict`` otherwise."""
        actions = self.item_update_actions(item, changed)
        item.version = version  # PynamoDB adds ``version = :read`` and increments it
        try:
            item.update(actions=actions)
        except (PutError, UpdateError) as error:
            if condition_failed(error):
                raise Conflict() from error
            raise

    def item_create(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        raise PermissionDenied

    # --- permissions: from the staff member's role (``Staff.has_perm``) ----------------------
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing here is deleted from the admin: the audit trail must hold

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.add_form_class is not None and super().has_add_permission(request)

    def get_model_perms(self, request: HttpRequest) -> dict[str, bool]:
        return {
            "add": self.has_add_permission(request),
            "change": self.has_change_permission(request),
            "delete": False,
            "view": self.has_view_permission(request),
        }

    def has_action_permission(self, request: HttpRequest, action: ObjectAction) -> bool:
        return request.user.has_perm(action.permission)

    # --- URLs -------------------------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        base = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name=f"{base}_changelist"),
            path("add/", wrap(self.add_view), name=f"{base}_add"),
            path("<path:object_id>/history/", wrap(self.history_view), name=f"{base}_history"),
            path(
                "<path:object_id>/action/<str:action>/",
                wrap(self.object_action_view),
                name=f"{base}_action",
            ),
            path("<path:object_id>/change/", wrap(self.change_view), name=f"{base}_change"),
            *self.extra_urls(),
        ]

    def extra_urls(self) -> list[Any]:
        return []

    def url(self, name: str, *args: Any) -> str:
        return reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_{name}",
            args=args,
            current_app=self.admin_site.name,
        )

    def original(self, item: Any) -> models.Model:
        """The shape instance the stock templates expect as ``original``/``object``."""
        shape = self.model(pk=self.item_key(item))
        shape.__dict__["_repr"] = self.item_repr(item)
        return shape

    def base_context(self, request: HttpRequest, title: str) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "title": title,
            "subtitle": None,
            "is_popup": False,
            "to_field": None,
            "preserved_filters": "",
            "media": self.media,
            "has_view_permission": self.has_view_permission(request),
            "has_add_permission": self.has_add_permission(request),
            "has_change_permission": self.has_change_permission(request),
            "has_delete_permission": False,
        }

    # --- list -------------------------------------------------------------------------------
    def active_filters(self, request: HttpRequest) -> dict[str, Any]:
        return {f.param: f.chosen(request) for f in self.list_filters}

    def _query_string(self, request: HttpRequest, **changes: Any) -> str:
        params = {k: v for k, v in request.GET.items() if k != CURSOR_VAR}
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return "?" + urlencode(params) if params else "?"

    def _filter_specs(self, request: HttpRequest) -> list[dict[str, Any]]:
        specs = []
        for spec in self.list_filters:
            if isinstance(spec, ChoiceFilter):
                chosen = spec.chosen(request)
                links = [
                    {
                        "label": "All",
                        "url": self._query_string(request, **{spec.param: None}),
                        "selected": chosen is None,
                    }
                ]
                links += [
                    {
                        "label": label,
                        "url": self._query_string(request, **{spec.param: value}),
                        "selected": chosen == value,
                    }
                    for value, label in spec.choices
                ]
                specs.append({"kind": "choice", "title": spec.title, "links": links})
            else:
                low, high = spec.chosen(request)
                hidden = [
                    (k, v)
                    for k, v in request.GET.items()
                    if k not in {CURSOR_VAR, f"{spec.param}__gte", f"{spec.param}__lte"}
                ]
                specs.append(
                    {
                        "kind": "dates",
                        "title": spec.title,
                        "param": spec.param,
                        "low": low.isoformat() if low else "",
                        "high": high.isoformat() if high else "",
                        "hidden": hidden,
                        "clear": self._query_string(
                            request, **{f"{spec.param}__gte": None, f"{spec.param}__lte": None}
                        ),
                    }
                )
        return specs

    def search(self, request: HttpRequest, term: str) -> tuple[list[Any], list[str]]:
        """Run every declared search the term looks like; rows by key, de-duplicated."""
        rows: dict[str, Any] = {}
        tried = []
        for spec in self.search_fields:
            if spec.matches(term):
                tried.append(spec.title)
                for item in spec.lookup(term):
                    rows.setdefault(self.item_key(item), item)
        ordered = sorted(rows.values(), key=self.item_sort_value, reverse=True)
        return ordered[: self.page_size()], tried

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "action" in request.POST:
            return self._list_action(request)
        term = request.GET.get(SEARCH_VAR, "").strip()
        page: Page | None = None
        searched: list[str] = []
        notice = ""
        if term:
            rows, searched = self.search(request, term)
            page = Page(rows=rows)
            if not searched:
                notice = f"Nothing here searches for “{term}”. {self.search_help}"
        else:
            source = self.list_source(request, self.active_filters(request))
            if source is None:
                notice = self.list_empty_message
            else:
                token = request.GET.get(CURSOR_VAR)
                page = page_fetch(
                    source,
                    token=token,
                    per_page=self.page_size(),
                    key_of=self.item_key,
                    sort_of=self.item_sort_value,
                )
                came_back = (cursor_decode(token) or {}).get("d") == "prev"
                if came_back and page.prev_token is None and len(page.rows) < self.page_size():
                    # Paged back to the newest rows: show the first page itself.
                    page = page_fetch(
                        source,
                        token=None,
                        per_page=self.page_size(),
                        key_of=self.item_key,
                        sort_of=self.item_sort_value,
                    )
        rows = page.rows if page else []
        table = [
            {
                "key": self.item_key(item),
                "url": self.url("change", self.item_key(item)),
                "cells": [{"value": c.value(item), "link": c.link} for c in self.list_columns],
            }
            for item in rows
        ]
        list_actions = [
            a
            for a in self.object_actions
            if a.form_class is None and self.has_action_permission(request, a)
        ]
        filter_specs = self._filter_specs(request)
        context = {
            **self.base_context(request, f"Select {self.opts.verbose_name} to view"),
            "cl": _ChangeListInfo(self.opts, bool(filter_specs), term, self.search_help),
            "columns": [c.title for c in self.list_columns],
            "table": table,
            "filter_specs": filter_specs,
            "search_term": term,
            "searched": searched,
            "search_help": self.search_help,
            "notice": notice,
            "list_actions": list_actions,
            "next_url": self._query_string(request, p=page.next_token)
            if page and page.next_token
            else None,
            "prev_url": self._query_string(request, p=page.prev_token)
            if page and page.prev_token
            else None,
            "first_url": self._query_string(request) if request.GET.get(CURSOR_VAR) else None,
            "partial": bool(page and page.partial),
            "order_label": self.list_order_label,
            "object_tools": [
                (reverse(name, current_app=self.admin_site.name), label)
                for name, label in self.list_object_tools
            ],
            "actions_on_top": False,
            "actions_on_bottom": False,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/dynamodb/change_list.html", context)

    def _list_action(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("action", "")
        action = next((a for a in self.object_actions if a.name == name), None)
        if action is None or action.form_class is not None:
            messages.error(request, "Choose an action.")
            return HttpResponseRedirect(request.get_full_path())
        if not self.has_action_permission(request, action):
            messages.error(request, f"You are not allowed to {action.label.lower()}.")
            return HttpResponseRedirect(request.get_full_path())
        keys = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not keys:
            messages.warning(request, "Items must be selected in order to perform actions on them.")
            return HttpResponseRedirect(request.get_full_path())
        for key in keys[: self.page_size()]:
            item = self.item_get(key)
            if item is not None:
                self._run_action(request, action, item, {})
        return HttpResponseRedirect(request.get_full_path())

    # --- change / add -----------------------------------------------------------------------
    def _render_form(
        self,
        request: HttpRequest,
        *,
        form: forms.Form | None,
        item: Any | None,
        add: bool,
        editable: bool,
    ) -> HttpResponse:
        if form is not None and not editable:
            for bound in form.fields.values():
                bound.disabled = True
        fieldsets = [(None, {"fields": list(form.fields)})] if form is not None else []
        adminform = helpers.AdminForm(form or forms.Form(), fieldsets, {}, model_admin=self)
        title = (
            f"Add {self.opts.verbose_name}"
            if add
            else f"{'Change' if editable else 'View'} {self.opts.verbose_name}"
        )
        context = {
            **self.base_context(request, title),
            "subtitle": None if add else self.item_repr(item),
            "adminform": adminform,
            "form_url": "",
            "errors": form.errors if form is not None and form.is_bound else None,
            "inline_admin_formsets": [],
            "add": add,
            "change": not add,
            "save_as": False,
            "save_on_top": False,
            "show_save_and_add_another": False,
            "show_save_and_continue": editable,
            "show_save": editable,
            "has_change_permission": editable,
            "has_editable_inline_admin_formsets": False,
            "has_absolute_url": False,
            "has_file_field": False,
            "original": None if add else self.original(item),
            "version": getattr(item, "version", None) if item is not None else None,
            "details": []
            if item is None
            else [(label, value(item)) for label, value in self.details],
            "related": []
            if item is None
            else [
                {
                    "title": r.title,
                    "columns": r.columns,
                    "rows": [
                        {"url": row.get("_url"), "cells": [row.get(c) for c in r.columns]}
                        for row in r.rows(item)
                    ],
                }
                for r in self.related_lists
            ],
            "object_actions": []
            if item is None
            else [
                {
                    "action": a,
                    "url": self.url("action", self.item_key(item), a.name),
                    "form": a.form_class() if a.form_class else None,
                    "allowed": self.has_action_permission(request, a),
                }
                for a in self.object_actions
                if a.available(item)
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/dynamodb/change_form.html", context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        item = self.item_get(object_id)
        if item is None:
            messages.warning(
                request, f"{self.opts.verbose_name.capitalize()} “{object_id}” does not exist."
            )
            return HttpResponseRedirect(self.url("changelist"))
        editable = self.form_class is not None and self.has_change_permission(request)
        form = self.form_class(initial=self.item_values(item)) if self.form_class else None
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            form = self.form_class(request.POST, initial=self.item_values(item))
            if form.is_valid():
                done = self._save_change(request, item, form)
                if done is not None:
                    return done
                item = self.item_get(object_id)
                form = self.form_class(initial=self.item_values(item))
        return self._render_form(request, form=form, item=item, add=False, editable=editable)

    def _save_change(self, request: HttpRequest, item: Any, form: forms.Form) -> Any:
        try:
            version = int(request.POST.get("_version", ""))
        except ValueError:
            version = -1
        before = self.item_values(item)
        changed = {n: v for n, v in form.cleaned_data.items() if before.get(n) != v}
        name = self.item_repr(item)
        if not changed:
            messages.info(request, "No changes to save.")
            return HttpResponseRedirect(request.get_full_path())
        if version != item.version:
            self._conflict_message(request, name)
            return None
        try:
            self.item_save(request, item, version, changed)
        except Conflict:
            self._conflict_message(request, name)
            return None
        except ApplicationError as error:
            messages.error(request, error.message)
            return None
        name = self.item_repr(item)  # ``update`` refreshed the item: its name after the change
        audit_record(
            staff=request.user.get_username(),
            object_type=self.opts.label_lower,
            object_id=self.item_key(item),
            object_repr=name,
            action="change",
            summary="Changed " + ", ".join(sorted(changed)),
            before={n: before.get(n) for n in changed},
            after=changed,
        )
        link = format_html('<a href="{}">{}</a>', self.url("change", self.item_key(item)), name)
        messages.success(
            request,
            format_html("The {} “{}” was changed successfully.", self.opts.verbose_name, link),
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponseRedirect(self.url("changelist"))

    def _conflict_message(self, request: HttpRequest, name: str) -> None:
        messages.error(
            request,
            f"The {self.opts.verbose_name} “{name}” was changed by someone else since you "
            "opened it, so your changes were not saved. The page now shows the current "
            "values: review them and make your change again.",
        )

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request) or self.add_form_class is None:
            raise PermissionDenied
        form = self.add_form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                item = self.item_create(request, form.cleaned_data)
            except ApplicationError as error:
                messages.error(request, error.message)
            else:
                name = self.item_repr(item)
                audit_record(
                    staff=request.user.get_username(),
                    object_type=self.opts.label_lower,
                    object_id=self.item_key(item),
                    object_repr=name,
                    action="add",
                    summary="Added",
                    after=self.item_values(item),
                )
                messages.success(
                    request, f"The {self.opts.verbose_name} “{name}” was added successfully."
                )
                return HttpResponseRedirect(self.url("change", self.item_key(item)))
        return self._render_form(request, form=form, item=None, add=True, editable=True)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        raise PermissionDenied

    # --- actions ----------------------------------------------------------------------------
    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(self.url("change", object_id))
        chosen = next((a for a in self.object_actions if a.name == action), None)
        item = self.item_get(object_id)
        if chosen is None or item is None:
            messages.error(request, "That action is not available here.")
            return HttpResponseRedirect(self.url("changelist"))
        data: dict[str, Any] = {}
        if chosen.form_class is not None:
            form = chosen.form_class(request.POST)
            if not form.is_valid():
                errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
                messages.error(request, f"{chosen.label}: {errors}")
                return HttpResponseRedirect(self.url("change", object_id))
            data = form.cleaned_data
        version = request.POST.get("_version")
        if version is not None and str(getattr(item, "version", "")) != version:
            self._conflict_message(request, self.item_repr(item))
            return HttpResponseRedirect(self.url("change", object_id))
        self._run_action(request, chosen, item, data)
        return HttpResponseRedirect(self.url("change", object_id))

    def _run_action(
        self, request: HttpRequest, action: ObjectAction, item: Any, data: dict[str, Any]
    ) -> bool:
        name = self.item_repr(item)
        if not self.has_action_permission(request, action):
            messages.error(
                request,
                f"You are not allowed to {action.label.lower()}: your role does not include it.",
            )
            return False
        if not action.available(item):
            messages.error(request, f"{action.label} does not apply to “{name}” now.")
            return False
        before = self.audit_snapshot(item)
        try:
            message = action.run(request, item, data)
        except ServiceNotAvailable:
            messages.error(request, f"{action.label} is not available yet.")
            return False
        except Conflict:
            self._conflict_message(request, name)
            return False
        except ApplicationError as error:
            messages.error(request, f"{action.label} failed for “{name}”: {error.message}")
            return False
        if not action.audited_by_service:  # else the service recorded it, once
            after_item = self.item_get(self.item_key(item))
            audit_record(
                staff=request.user.get_username(),
                object_type=self.opts.label_lower,
                object_id=self.item_key(item),
                object_repr=name,
                action=action.name,
                summary=message,
                before=before,
                after=self.audit_snapshot(after_item) if after_item is not None else {},
            )
        messages.success(request, message)
        return True

    def audit_snapshot(self, item: Any) -> dict[str, Any]:
        """What an action's audit entry records before and after (the editable values by
        default; order admins add status and amounts)."""
        return self.item_values(item)

    # --- history ----------------------------------------------------------------------------
    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        item = self.item_get(object_id)
        if item is None:
            return HttpResponseRedirect(self.url("changelist"))
        entries = audit_history(object_type=self.opts.label_lower, object_id=object_id)
        context = {
            **self.base_context(request, f"Change history: {self.item_repr(item)}"),
            "subtitle": None,
            "object": self.original(item),
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "entries": entries,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/dynamodb/object_history.html", context)


@dataclass
class _ChangeListInfo:
    """What the stock change-list template reads from ``cl`` in the blocks we keep."""

    opts: Any
    has_filters: bool
    query: str = ""
    search_help_text: str = ""
    formset: Any = None
    date_hierarchy: Any = None
    show_admin_actions: bool = False
    is_facets_optional: bool = False
    has_active_filters: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# --- The site -------------------------------------------------------------------------------


class BackOfficeAdminSite(admin.AdminSite):
    """Django's AdminSite with the audit log as its "Recent actions" and no ORM models.

    ``django.contrib.auth`` registers ``Group`` (an ORM table); it is refused here, because
    permissions come from roles (``staff.roles``).
    """

    site_header = "TicketsToHeaven back office"
    site_title = "TicketsToHeaven admin"
    index_title = "Back office"
    refused = {"auth.group", "auth.user"}

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        models_ = (
            model_or_iterable if isinstance(model_or_iterable, Iterable) else [model_or_iterable]
        )
        kept = [m for m in models_ if m._meta.label_lower not in self.refused]
        if kept:
            super().register(kept, admin_class, **options)

    def get_log_entries(self, request: HttpRequest) -> RecentActions:
        return RecentActions()

    def get_urls(self) -> list[Any]:
        from tickets import admin_views

        return [*admin_views.site_urls(self), *super().get_urls()]


def date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def today() -> date:
    """Today in UTC: the day buckets and the dashboard are UTC days."""
    return datetime.now(UTC).date()


_ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                 "vnd", "vuv", "xaf", "xof", "xpf"}  # fmt: skip


def money_format(amount: int | None, currency: str) -> str:
    """``4900, "usd"`` -> ``"USD 49.00"`` (minor units, as Stripe counts them)."""
    if amount is None:
        return "-"
    if currency.lower() in _ZERO_DECIMAL:
        return f"{currency.upper()} {amount:,}"
    return f"{currency.upper()} {amount / 100:,.2f}"


def when(value: str | None) -> str:
    """``2026-11-25T12:44:05.205725Z`` -> ``2026-11-25 12:44:05 UTC`` for reading."""
    if not value:
        return "-"
    return f"{value[:10]} {value[11:19]} UTC"


def when_short(value: str | None) -> str:
    """``2026-11-25T12:44:05.205725Z`` -> ``2026-11-25 12:44`` for list columns (UTC)."""
    return f"{value[:10]} {value[11:16]}" if value else "-"


def money_minor_units(value: Any, currency: str) -> int:
    """A decimal typed by staff (``12.50``) in the currency's minor units (``1250``)."""
    from decimal import Decimal

    factor = 1 if currency.lower() in _ZERO_DECIMAL else 100
    return int((Decimal(value) * factor).to_integral_value())
