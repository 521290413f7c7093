"""``DynamoModelAdmin``: a ``ModelAdmin`` whose pages read and write a PynamoDB model.

An admin class declares how each page is read, and the module refuses anything else::

    class OrderAdmin(DynamoModelAdmin):
        list_columns = [Column("order_id", "Order", link=True), Column("status", "Status")]
        list_filters = [ChoiceFilter("status", "status", choices=[...]),
                        DateRangeFilter("created", "created")]
        search_fields = [SearchField("order id", matches=..., lookup=...)]
        object_actions = [ObjectAction("refund", "Refund", permission="shop.refund_order", ...)]
        related_lists = [RelatedList("Payments", columns=[...], rows=...)]
        form_class = OrderForm                                         # editable fields

        def list_source(self, request, filters) -> ListSource: ...    # which index partitions
        def item_get(self, object_id) -> Model | None: ...             # a key lookup
        def item_key(self, item) -> str: ...                           # the id in URLs
        def item_sort_value(self, item) -> str: ...                    # the index's range key
        def item_save(self, request, item, version, changed): ...     # calls your service
        def item_create(self, request, data): ...                      # calls your service

and gets, in the admin's own templates (breadcrumbs, messages, app index, permissions, CSRF):

- a list page: columns, filters in the sidebar, a search box, actions on selected rows, and
  cursor pagination (``paging``): Prev/Next links, no counts;
- a change page: a plain Django form over ``form_class`` plus read-only details and related
  lists; a POST carries the version it read, and ``item_save`` must write only if the item is
  still at that version (raise a conflict error otherwise: the page says so, never overwrites);
- object actions (a button, optionally a small form) with their own permission, refused with a
  message when the object changed since the page was read;
- a history page from the audit sink (``audit``), with before/after values;
- one-time forms (``once``): every edit, action and bulk action takes effect once, however
  often its form is sent, and a form rendered before a colleague's action on the object is
  refused with what they did, until its owner confirms again on the page as it is now.

The package never writes a table: saves, creations and actions call the project's services.
Nothing here Scans, counts a table or uses the ORM (the shape model only gives ``_meta``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from dynamo_admin import conf, errors, once
from dynamo_admin.audit import AuditSink, NullAuditSink
from dynamo_admin.cursor import PREV, cursor_decode
from dynamo_admin.declarations import Column, ObjectAction, RelatedList, SearchField
from dynamo_admin.extensions import declarations_extended
from dynamo_admin.filters import ChoiceFilter, DateRangeFilter
from dynamo_admin.forms import VERSION_FIELD, form_disable, form_errors_line, version_posted
from dynamo_admin.paging import ListSource, Page, page_fetch
from dynamo_admin.params import CURSOR_VAR, SEARCH_VAR


def when_text(moment: datetime) -> str:
    """A time as the admin shows it: ``2026-11-25 12:44:05 UTC``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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


class DynamoModelAdmin(admin.ModelAdmin):
    """See the module docstring. The ORM-backed pieces of ``ModelAdmin`` (querysets,
    ``LogEntry``, deletion) are never reached."""

    list_columns: list[Column] = []
    list_filters: list[ChoiceFilter | DateRangeFilter] = []
    search_fields: list[SearchField] = []  # type: ignore[assignment]
    search_help: str = ""
    object_actions: list[ObjectAction] = []
    related_lists: list[RelatedList] = []
    details: list[tuple[str, Callable[[Any], Any]]] = []
    # The key facts at the top of the change page (status, amounts, whose it is).
    summary: list[tuple[str, Callable[[Any], Any]]] = []
    form_class: type[forms.Form] | None = None
    add_form_class: type[forms.Form] | None = None
    list_empty_message: str = ""
    list_order_label: str = "newest first"
    actions = None  # Django's queryset actions; ours are ``object_actions``
    # Links above the list: (url name, label) or (url name, label, permission); a link whose
    # permission the user lacks is not shown.
    list_object_tools: list[tuple[str, ...]] = []
    # Links beside "History" on a change page, each to a URL taking the item's key: (url name,
    # label, permission); not shown without the permission (a download, say).
    change_object_tools: list[tuple[str, str, str]] = []
    per_page: int | None = None  # rows per list page; None: DYNAMO_ADMIN_PAGE_SIZE (50)

    change_list_template = "dynamo_admin/change_list.html"
    change_form_template = "dynamo_admin/change_form.html"
    object_history_template = "dynamo_admin/object_history.html"
    action_confirmation_template = "dynamo_admin/action_confirmation.html"

    def page_size(self) -> int:
        return self.per_page or conf.page_size()

    # --- declarations, with what other apps add (``extensions``) --------------------------
    def get_related_lists(self) -> list[RelatedList]:
        return declarations_extended(self.related_lists, self.object_type(), "related_lists")

    def get_search_fields(self, request: HttpRequest | None = None) -> list[SearchField]:  # type: ignore[override]
        return declarations_extended(self.search_fields, self.object_type(), "search_fields")

    def get_object_actions(self) -> list[ObjectAction]:
        return declarations_extended(self.object_actions, self.object_type(), "object_actions")

    # --- to implement ------------------------------------------------------------------------
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

    def item_save(
        self, request: HttpRequest, item: Any, version: int, changed: dict[str, Any]
    ) -> Any | None:
        """Write ``changed`` (only the values that differ) through the project's service, only
        if the item is still at ``version``, the one the editor read; raise a conflict error
        otherwise. Returns the item after the change (None: it is read again)."""
        raise NotImplementedError(f"{type(self).__name__} has a form but no item_save")

    def item_create(self, request: HttpRequest, data: dict[str, Any]) -> Any:
        """Create an item through the project's service; returns it."""
        raise PermissionDenied

    # --- plumbing the project configures -------------------------------------------------
    @property
    def audit_sink(self) -> AuditSink:
        sink = getattr(self.admin_site, "audit_sink", None)
        if sink is None:
            sink = conf.setting_object("DYNAMO_ADMIN_AUDIT_SINK") or NullAuditSink()
        return sink

    @property
    def submissions(self) -> once.Submissions:
        store = getattr(self.admin_site, "submissions", None)
        return store if store is not None else once.submissions()

    def object_type(self) -> str:
        return self.opts.label_lower

    def form_token(
        self, request: HttpRequest, action: str, sequences: dict[str, int] | None
    ) -> str:
        return once.token_issue(
            request, object_type=self.object_type(), action=action, sequences=sequences
        )

    def conflict_errors(self) -> tuple[type[BaseException], ...]:
        return (errors.Conflict, *conf.setting_classes("DYNAMO_ADMIN_CONFLICT_ERRORS"))

    def user_errors(self) -> tuple[type[BaseException], ...]:
        return (errors.ActionRefused, *conf.setting_classes("DYNAMO_ADMIN_USER_ERRORS"))

    def audit(
        self,
        request: HttpRequest,
        item: Any,
        *,
        name: str,
        action: str,
        summary: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self.audit_sink.record(
            user=request.user.get_username(),
            object_type=self.opts.label_lower,
            object_id=self.item_key(item),
            object_repr=name,
            action=action,
            summary=summary,
            before=before or {},
            after=after or {},
        )

    # --- permissions: from the user (``has_perm``) -----------------------------------------
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing is deleted from this admin: the audit trail must hold

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

    # --- URLs --------------------------------------------------------------------------------
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

    # --- list --------------------------------------------------------------------------------
    def active_filters(self, request: HttpRequest) -> dict[str, Any]:
        return {f.param: f.chosen(request) for f in self.list_filters}

    def filter_errors(self, request: HttpRequest) -> list[str]:
        """What is wrong with the filters in the query string: each is shown as an error and
        the list shows nothing (neither a 500 nor, silently, the unfiltered list)."""
        return [e for f in self.list_filters if (e := f.error(request))]

    def query_string(self, request: HttpRequest, **changes: Any) -> str:
        """The list's query string without the page token, with ``changes`` (None: drop)."""
        params = {k: v for k, v in request.GET.items() if k != CURSOR_VAR}
        for name, value in changes.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return "?" + urlencode(params) if params else "?"

    def search(self, request: HttpRequest, term: str) -> tuple[list[Any], list[str]]:
        """Run every declared search the term looks like; rows by key, de-duplicated, and
        only those the active filters keep (a search narrows the filtered list, it does not
        reset it)."""
        rows: dict[str, Any] = {}
        tried = []
        for spec in self.get_search_fields():
            if spec.matches(term):
                tried.append(spec.title)
                for item in spec.lookup(term):
                    rows.setdefault(self.item_key(item), item)
        kept = [
            item
            for item in rows.values()
            if all(f.keeps(request, item, self.item_sort_value(item)) for f in self.list_filters)
        ]
        ordered = sorted(kept, key=self.item_sort_value, reverse=True)
        return ordered[: self.page_size()], tried

    def list_rows_prepare(self, rows: list[Any]) -> None:
        """Called with a page's rows before its columns are read: an admin whose columns need
        related items reads them here for the whole page at once (one BatchGet), never one
        request per row."""

    def list_page(self, request: HttpRequest, source: ListSource) -> Page:
        """The page the cursor in the query string points at. Paging back to the newest rows
        (a short page with nothing before it) shows the first page itself."""
        token = request.GET.get(CURSOR_VAR)
        page = self._page(source, token)
        cursor = cursor_decode(token)
        came_back = cursor is not None and cursor.direction == PREV
        if came_back and page.prev_token is None and len(page.rows) < self.page_size():
            page = self._page(source, None)
        return page

    def _page(self, source: ListSource, token: str | None) -> Page:
        return page_fetch(
            source,
            token=token,
            per_page=self.page_size(),
            key_of=self.item_key,
            sort_of=self.item_sort_value,
        )

    def _rows_and_notice(
        self, request: HttpRequest, term: str
    ) -> tuple[Page | None, list[str], str]:
        """The page to show (a search's results or the list's page), the searches tried, and
        a notice when nothing could be read."""
        bad = self.filter_errors(request)
        if term and not bad:
            rows, searched = self.search(request, term)
            notice = "" if searched else f"Nothing here searches for “{term}”. {self.search_help}"
            return Page(rows=rows), searched, notice
        if bad:
            for error in bad:
                messages.error(request, error)
            return None, [], "Nothing is shown until the filter is corrected."
        source = self.list_source(request, self.active_filters(request))
        if source is None:
            return None, [], self.list_empty_message
        return self.list_page(request, source), [], ""

    def _page_links(self, request: HttpRequest, page: Page | None) -> dict[str, Any]:
        """Prev/Next (and back to the newest) links for a page, keeping the filters."""
        next_token = page.next_token if page else None
        prev_token = page.prev_token if page else None
        return {
            "next_url": self.query_string(request, p=next_token) if next_token else None,
            "prev_url": self.query_string(request, p=prev_token) if prev_token else None,
            "first_url": self.query_string(request) if request.GET.get(CURSOR_VAR) else None,
            "partial": bool(page and page.partial),
        }

    def _table(self, rows: list[Any]) -> list[dict[str, Any]]:
        return [
            {
                "key": self.item_key(item),
                "url": self.url("change", self.item_key(item)),
                "cells": [
                    {
                        "value": c.value(item),
                        "link": c.link,
                        "nowrap": c.nowrap,
                        "slug": slugify(c.title),
                    }
                    for c in self.list_columns
                ],
            }
            for item in rows
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if request.method == "POST" and "action" in request.POST:
            return self._list_action(request)
        term = request.GET.get(SEARCH_VAR, "").strip()
        page, searched, notice = self._rows_and_notice(request, term)
        if page is not None:
            self.list_rows_prepare(page.rows)
        list_actions = [
            a
            for a in self.get_object_actions()
            if a.form_class is None and a.confirm is None and self.has_action_permission(request, a)
        ]
        list_token = ""
        if list_actions:
            keys = [self.item_key(item) for item in (page.rows if page else [])]
            list_token = self.form_token(
                request,
                once.LIST_ACTIONS,
                self.submissions.sequences(object_type=self.object_type(), keys=keys),
            )
        filter_specs = [f.spec(request, self.query_string) for f in self.list_filters]
        context = {
            **self.base_context(request, f"Select {self.opts.verbose_name} to view"),
            "cl": _ChangeListInfo(self.opts, bool(filter_specs), term, self.search_help),
            "columns": [c.title for c in self.list_columns],
            "table": self._table(page.rows if page else []),
            "filter_specs": filter_specs,
            "search_term": term,
            # The active filters ride along with a search, and clearing it keeps them.
            "search_hidden": [
                (k, v) for k, v in request.GET.items() if k not in {SEARCH_VAR, CURSOR_VAR}
            ],
            "search_clear_url": self.query_string(request, **{SEARCH_VAR: None}),
            # Tools act on the list as filtered (an export of this view): their links get its
            # query string, without the page token.
            "tools_query": self.query_string(request).rstrip("?"),
            "searched": searched,
            "search_help": self.search_help,
            "notice": notice,
            "list_actions": list_actions,
            "list_token": list_token,
            **self._page_links(request, page),
            "order_label": self.list_order_label,
            "object_tools": [
                (reverse(name, current_app=self.admin_site.name), label)
                for name, label, *permission in self.list_object_tools
                if not permission or request.user.has_perm(permission[0])
            ],
            "actions_on_top": False,
            "actions_on_bottom": False,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_list_template, context)

    def _list_action(self, request: HttpRequest) -> HttpResponse:
        name = request.POST.get("action", "")
        action = next((a for a in self.get_object_actions() if a.name == name), None)
        if action is None or action.form_class is not None or action.confirm is not None:
            messages.error(request, "Choose an action.")
            return HttpResponseRedirect(request.get_full_path())
        if not self.has_action_permission(request, action):
            messages.error(request, f"You are not allowed to {action.label.lower()}.")
            return HttpResponseRedirect(request.get_full_path())
        keys = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not keys:
            messages.warning(request, "Items must be selected in order to perform actions on them.")
            return HttpResponseRedirect(request.get_full_path())
        try:
            token = once.token_read(
                request, object_type=self.object_type(), action=once.LIST_ACTIONS
            )
        except once.StaleForm as stale:
            messages.error(request, f"{stale.message} Open the list again and choose again.")
            return HttpResponseRedirect(request.get_full_path())
        for key in list(dict.fromkeys(keys))[: self.page_size()]:
            item = self.item_get(key)
            if item is not None:
                self._run_action(request, action, item, {}, token)
        return HttpResponseRedirect(request.get_full_path())

    # --- change / add ------------------------------------------------------------------------
    def _related(self, item: Any, *, side: bool = False) -> list[dict[str, Any]]:
        return [
            {
                "title": r.title,
                "slug": slugify(r.title),
                "columns": r.columns,
                "template": r.template,
                "rows": r.rows(item)
                if r.template
                else [
                    {"url": row.get("_url"), "cells": [row.get(c) for c in r.columns]}
                    for row in r.rows(item)
                ],
            }
            for r in self.get_related_lists()
            if r.side == side
        ]

    def _object_actions(
        self, request: HttpRequest, item: Any, sequence: int
    ) -> list[dict[str, Any]]:
        key = self.item_key(item)
        return [
            {
                "action": a,
                "url": self.url("action", key, a.name),
                "form": a.form_class() if a.form_class else None,
                # Each button is its own one-time form (an added note stales no one's page).
                "token": self.form_token(request, a.name, {key: sequence} if a.checks_version else None),
            }
            for a in self._actions_shown(request, item)
        ]  # fmt: skip

    def _actions_shown(self, request: HttpRequest, item: Any) -> list[ObjectAction]:
        # An action the role cannot use is not shown (rather than refused when tried).
        return [
            a
            for a in self.get_object_actions()
            if a.available(item) and self.has_action_permission(request, a)
        ]

    def _sequence(self, item: Any) -> int:
        """The object's action sequence now, which the page's one-time forms carry."""
        key = self.item_key(item)
        return self.submissions.sequences(object_type=self.object_type(), keys=[key])[key]

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
            form_disable(form)
        fieldsets = [(None, {"fields": list(form.fields)})] if form is not None else []
        adminform = helpers.AdminForm(form or forms.Form(), fieldsets, {}, model_admin=self)
        verb = "Add" if add else "Change" if editable else "View"
        acts = item is not None and (editable or bool(self._actions_shown(request, item)))
        sequence = self._sequence(item) if acts else 0
        form_token = (
            self.form_token(request, "change", {self.item_key(item): sequence})
            if editable and not add and item is not None
            else ""
        )
        context = {
            **self.base_context(request, f"{verb} {self.opts.verbose_name}"),
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
            "history_url": None if add else self.url("history", self.item_key(item)),
            "version": getattr(item, "version", None) if item is not None else None,
            "version_field": VERSION_FIELD,
            "details": [] if item is None else [(label, value(item)) for label, value in self.details],
            "related": [] if item is None else self._related(item),
            "side": [] if item is None else self._related(item, side=True),
            "summary": [] if item is None else [(label, value(item)) for label, value in self.summary],
            "object_actions": [] if item is None else self._object_actions(request, item, sequence),
            "form_token": form_token,
            "change_tools": [] if item is None or add else [
                (reverse(name, args=[self.item_key(item)], current_app=self.admin_site.name), text)
                for name, text, permission in self.change_object_tools
                if request.user.has_perm(permission)
            ],
        }  # fmt: skip
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_form_template, context)

    def item_by_url_id(self, object_id: str) -> Any | None:
        """The item a URL names: its id as it is, else as Django's stock templates quote it
        (``admin_urlquote``: ``_`` as ``_5F``, in breadcrumbs and "View on site" links)."""
        item = self.item_get(object_id)
        if item is None and unquote(object_id) != object_id:
            item = self.item_get(unquote(object_id))
        return item

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        item = self.item_by_url_id(object_id)
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
                item = self.item_get(self.item_key(item))
                form = self.form_class(initial=self.item_values(item))
        return self._render_form(request, form=form, item=item, add=False, editable=editable)

    def _save_change(self, request: HttpRequest, item: Any, form: forms.Form) -> Any:
        version = version_posted(request)
        before = self.item_values(item)
        changed = {n: v for n, v in form.cleaned_data.items() if before.get(n) != v}
        name = self.item_repr(item)
        key = self.item_key(item)
        summary = "Changed " + ", ".join(sorted(changed))
        current = version is not None and version == item.version
        if current and not changed:
            messages.info(request, "No changes to save.")
            return HttpResponseRedirect(request.get_full_path())
        # A page read at an older version is claimed first, so it is told why: this very form
        # was sent before ("already done"), or a colleague acted meanwhile (what they did).
        claim = self._claim(request, "change", "Change", item)
        if claim is None:
            return HttpResponseRedirect(request.get_full_path())
        if not current:
            claim.finish("Not saved: it had been changed by someone else.", failed=True)
            self._conflict_message(request, name, item)
            return None
        try:
            saved = self.item_save(request, item, version, changed)
        except self.conflict_errors() as error:
            claim.finish(f"Not saved: {errors.error_message(error)}", failed=True)
            if self._version_moved(item, version):
                self._conflict_message(request, name, item)
            else:
                messages.error(request, f"Not saved: {errors.error_message(error)}")
            return None
        except self.user_errors() as error:
            claim.finish(f"Not saved: {errors.error_message(error)}", failed=True)
            messages.error(request, errors.error_message(error))
            return None
        except BaseException:
            claim.release()
            raise
        saved = saved if saved is not None else self.item_get(key) or item
        name = self.item_repr(saved)  # its name after the change
        claim.finish(f"{summary} of “{name}”.", failed=False)
        self.audit(
            request,
            saved,
            name=name,
            action="change",
            summary=summary,
            before={n: before.get(n) for n in changed},
            after=changed,
        )
        link = format_html('<a href="{}">{}</a>', self.url("change", self.item_key(saved)), name)
        messages.success(
            request,
            format_html("The {} “{}” was changed successfully.", self.opts.verbose_name, link),
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponseRedirect(self.url("changelist"))

    def _version_moved(self, item: Any, version: Any) -> bool:
        """Whether a conflict error was a real version conflict: the item (read again, by key)
        is no longer at the version the page read. Otherwise the write was refused for another
        reason (a state that does not allow it, a payment provider's refusal), and staff read
        that reason instead of "changed by someone else"."""
        if version is None:
            return False
        current = self.item_get(self.item_key(item))
        return current is None or getattr(current, "version", None) != version

    def _conflict_message(self, request: HttpRequest, name: str, item: Any = None) -> None:
        """ "Changed by someone else", with the last recorded change to the object (what
        changed, who, when) when the audit sink has one."""
        last = ""
        if item is not None:
            entries = self.audit_sink.history(
                object_type=self.object_type(), object_id=self.item_key(item), limit=1
            )
            if entries:
                entry = entries[0]
                what = entry.summary or entry.action
                last = f" The last change: {what} ({entry.user}, {when_text(entry.at)})."
        messages.error(
            request,
            f"The {self.opts.verbose_name} “{name}” was changed by someone else since you "
            f"opened it, so your changes were not saved.{last} The page now shows the current "
            "values: review them and make your change again.",
        )

    # --- one-time forms (``once``) -----------------------------------------------------------
    def _claim(
        self,
        request: HttpRequest,
        action: str,
        label: str,
        item: Any,
        token: once.FormToken | None = None,
    ) -> once.Claim | None:
        """Claim this submit of the form for ``item``; None (and the page says why) when it
        must not run: already submitted, the object changed meanwhile, or a stale form."""
        try:
            if token is None:
                token = once.token_read(request, object_type=self.object_type(), action=action)
        except once.StaleForm as stale:
            messages.error(
                request, f"{label} “{self.item_repr(item)}”: {stale.message} Open the page again."
            )
            return None
        claim, refusal = once.claim_submit(
            self.submissions,
            token,
            object_id=self.item_key(item),
            label=label,
            name=self.item_repr(item),
            noun=str(self.opts.verbose_name),
            user=request.user.get_username(),
        )
        if claim is None:
            messages.add_message(request, refusal.level, refusal.text)
        return claim

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request) or self.add_form_class is None:
            raise PermissionDenied
        form = self.add_form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                item = self.item_create(request, form.cleaned_data)
            except (*self.conflict_errors(), *self.user_errors()) as error:
                messages.error(request, errors.error_message(error))
            else:
                name = self.item_repr(item)
                self.audit(
                    request,
                    item,
                    name=name,
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

    # --- actions -----------------------------------------------------------------------------
    def object_action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        chosen = next((a for a in self.get_object_actions() if a.name == action), None)
        item = self.item_by_url_id(object_id)
        if chosen is None or item is None:
            messages.error(request, "That action is not available here.")
            return HttpResponseRedirect(self.url("changelist"))
        if request.method != "POST" and chosen.confirm is None:
            return HttpResponseRedirect(self.url("change", object_id))
        params = request.POST if request.method == "POST" else request.GET
        back = HttpResponseRedirect(self.url("change", object_id))
        if not self.has_action_permission(request, chosen):
            messages.error(
                request,
                f"You are not allowed to {chosen.label.lower()}: your role does not include it.",
            )
            return back
        data: dict[str, Any] = {}
        if chosen.form_class is not None:
            form = chosen.form_class(params)
            if not form.is_valid():
                messages.error(request, f"{chosen.label}: {form_errors_line(form)}")
                return back
            data = form.cleaned_data
        version = params.get(VERSION_FIELD) if chosen.checks_version else None
        confirmed = request.method == "POST" and (chosen.confirm is None or "_confirmed" in params)
        if not confirmed and version is not None and str(getattr(item, "version", "")) != version:
            self._conflict_message(request, self.item_repr(item), item)
            return back
        if chosen.confirm is not None:
            form_class = (
                chosen.confirm_form_for(item)
                if chosen.confirm_form_for is not None
                else chosen.confirm_form_class
            )
            confirm_form = form_class(
                params if request.method == "POST" and "_confirmed" in params else None
            ) if form_class is not None else None  # fmt: skip
            confirmed = request.method == "POST" and "_confirmed" in params
            if not confirmed or (confirm_form is not None and not confirm_form.is_valid()):
                return self._confirmation(request, chosen, item, params, data, confirm_form)
            if confirm_form is not None:
                data = {**data, **confirm_form.cleaned_data}
        self._run_action(request, chosen, item, data, version=version)
        return back

    def _confirmation_token(self, request: HttpRequest, action: ObjectAction, item: Any) -> str:
        """The one-time token the confirmation carries: the one its button's form brought
        (so the confirmation opened twice from one page is one submit), else a new one at the
        sequence the object has now (the confirmation opened by its URL)."""
        raw = request.GET.get(once.ONCE_FIELD) or request.POST.get(once.ONCE_FIELD)
        if raw:
            try:
                once.token_check(
                    raw,
                    user=request.user.get_username(),
                    object_type=self.object_type(),
                    action=action.name,
                )
                return raw
            except once.StaleForm:
                pass
        key = self.item_key(item)
        return self.form_token(
            request, action.name, {key: self._sequence(item)} if action.checks_version else None
        )

    def _confirmation(
        self,
        request: HttpRequest,
        action: ObjectAction,
        item: Any,
        params: Any,
        data: dict[str, Any],
        confirm_form: forms.Form | None,
    ) -> HttpResponse:
        """The page that says what ``action`` will do to ``item`` and asks for its reason,
        carrying the values already chosen (the amount, the version read) as hidden fields."""
        name = self.item_repr(item)
        if not action.available(item):
            messages.error(request, f"{action.label} does not apply to “{name}” now.")
            return HttpResponseRedirect(self.url("change", self.item_key(item)))
        assert action.confirm is not None
        try:
            lines = action.confirm(item, data)
        except self.user_errors() as error:
            messages.error(
                request, f"{action.label} failed for “{name}”: {errors.error_message(error)}"
            )
            return HttpResponseRedirect(self.url("change", self.item_key(item)))
        carried = [VERSION_FIELD, *(action.form_class.base_fields if action.form_class else [])]
        hidden = [(n, params.get(n)) for n in carried if params.get(n) is not None]
        hidden.append((once.ONCE_FIELD, self._confirmation_token(request, action, item)))
        context = {
            **self.base_context(request, "Are you sure?"),
            "subtitle": None,
            "object": self.original(item),
            "object_name": name,
            "object_url": self.url("change", self.item_key(item)),
            "action": action,
            "action_url": self.url("action", self.item_key(item), action.name),
            "confirm_label": action.confirm_label or f"Yes, {action.label.lower()}",
            "lines": lines,
            "hidden": hidden,
            "confirm_form": confirm_form,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.action_confirmation_template, context)

    def _run_action(
        self,
        request: HttpRequest,
        action: ObjectAction,
        item: Any,
        data: dict[str, Any],
        token: once.FormToken | None = None,
        *,
        version: str | None = None,
    ) -> bool:
        """Run ``action`` on ``item`` once for this submit of its form (``token``: a bulk
        action's, read once for all its rows; else this request's)."""
        name = self.item_repr(item)
        if not self.has_action_permission(request, action):
            messages.error(
                request,
                f"You are not allowed to {action.label.lower()}: your role does not include it.",
            )
            return False
        claim = self._claim(request, action.name, action.label, item, token)
        if claim is None:
            return False
        if version is not None and str(getattr(item, "version", "")) != version:
            claim.finish(f"{action.label}: not done, the page was out of date.", failed=True)
            self._conflict_message(request, name, item)
            return False
        if not action.available(item):
            message = f"{action.label} does not apply to “{name}” now."
            claim.finish(message, failed=True)
            messages.error(request, message)
            return False
        before = self.audit_snapshot(item)
        try:
            message = action.run(request, item, {**data, once.SUBMISSION_ID: claim.nonce})
        except self.conflict_errors() as error:
            failure = f"{action.label} failed for “{name}”: {errors.error_message(error)}"
            claim.finish(failure, failed=True)
            if self._version_moved(item, getattr(item, "version", None)):
                self._conflict_message(request, name, item)
                return False
            messages.error(request, failure)
            return False
        except self.user_errors() as error:
            failure = f"{action.label} failed for “{name}”: {errors.error_message(error)}"
            claim.finish(failure, failed=True)
            messages.error(request, failure)
            return False
        except BaseException:
            claim.release()  # it raised before saying what it did: the form may be sent again
            raise
        claim.finish(message, failed=False)
        if not action.audited_by_service:  # else the service recorded it, once
            after_item = self.item_get(self.item_key(item))
            self.audit(
                request,
                item,
                name=name,
                action=action.name,
                summary=message,
                before=before,
                after=self.audit_snapshot(after_item) if after_item is not None else {},
            )
        messages.success(request, message)
        return True

    def audit_snapshot(self, item: Any) -> dict[str, Any]:
        """What an action's audit entry records before and after (the editable values by
        default; an admin adds status, amounts, version)."""
        return self.item_values(item)

    # --- history -----------------------------------------------------------------------------
    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        item = self.item_by_url_id(object_id)
        if item is None:
            messages.warning(
                request, f"{self.opts.verbose_name.capitalize()} “{object_id}” does not exist."
            )
            return HttpResponseRedirect(self.url("changelist"))
        entries = self.audit_sink.history(
            object_type=self.opts.label_lower, object_id=self.item_key(item), limit=100
        )
        context = {
            **self.base_context(request, f"Change history: {self.item_repr(item)}"),
            "subtitle": None,
            "object": self.original(item),
            "module_name": str(self.opts.verbose_name_plural).capitalize(),
            "entries": entries,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)
