"""Submitting admin forms as a browser does: read the page, send back what its form holds.

Every admin form that changes something carries a one-time token (``dynamo_admin.once``), so a
test posts what the page it read holds, never a hand-made body: ``page_form`` reads a form's
inputs, ``edit``, ``act`` and ``confirm`` send the edit form, an action's button and an action's
confirmation the way a staff member's clicks would.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = {"id": values.get("id", ""), "action": values.get("action", ""),
                          "method": values.get("method", "get"), "fields": {}, "hidden": {}}  # fmt: skip
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and values.get("name"):
            kind = values.get("type", "text")
            if kind in {"hidden", "text", "number"} or (kind == "checkbox" and "checked" in values):
                self._open["fields"][values["name"]] = values.get("value", "")
            if kind == "hidden":
                self._open["hidden"][values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def page_forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def page_form(html: str, form_id: str) -> dict[str, str]:
    """The inputs (hidden, text, ticked boxes) of the form with ``form_id`` on a page."""
    for form in page_forms(html):
        if form["id"] == form_id:
            return dict(form["fields"])
    raise AssertionError(f"no form #{form_id} on the page")


def _html(browser: Any, url: str) -> str:
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def change_url(object_url: str) -> str:
    return object_url.rstrip("/") + "/change/"


def edit_form(browser: Any, object_url: str) -> dict[str, str]:
    """The change page's edit form's hidden fields as rendered (the version it read and its
    one-time token); the test types the editable values itself."""
    html = _html(browser, change_url(object_url))
    for form in page_forms(html):
        if "_once" in form["hidden"] and form["id"].endswith("_form"):
            return dict(form["hidden"])
    raise AssertionError(f"no edit form on {object_url}")


def edit(browser: Any, object_url: str, values: dict[str, Any], **kwargs: Any) -> Any:
    """Open the change page, then save it with ``values`` (the form's own hidden fields kept)."""
    return browser.post(
        change_url(object_url), {**edit_form(browser, object_url), **values}, **kwargs
    )


def action_form(browser: Any, object_url: str, action: str) -> dict[str, str]:
    """An action's button form on the change page, as rendered."""
    return page_form(_html(browser, change_url(object_url)), f"action-{action}")


def act(browser: Any, object_url: str, action: str, values: dict[str, Any] | None = None,
        **kwargs: Any) -> Any:  # fmt: skip
    """Open the change page and press ``action``'s button (an action with no confirmation)."""
    form = action_form(browser, object_url, action)
    url = object_url.rstrip("/") + f"/action/{action}/"
    return browser.post(url, {**form, **(values or {})}, **kwargs)


def confirmation_form(
    browser: Any, object_url: str, action: str, values: dict[str, Any] | None = None
) -> dict[str, str]:
    """Open the change page, press ``action``'s button (with ``values`` typed in its form),
    and read the confirmation page's form: what its "Yes" sends."""
    form = {**action_form(browser, object_url, action), **(values or {})}
    url = object_url.rstrip("/") + f"/action/{action}/"
    response = browser.get(url, form)
    assert response.status_code == 200, response.status_code
    return page_form(response.content.decode(), "action-confirm")


def confirm(browser: Any, object_url: str, action: str, values: dict[str, Any] | None = None,
            answers: dict[str, Any] | None = None, **kwargs: Any) -> Any:  # fmt: skip
    """An action with a confirmation, start to end: its button, then "Yes" with ``answers``
    (the reason it asks for)."""
    form = confirmation_form(browser, object_url, action, values)
    url = object_url.rstrip("/") + f"/action/{action}/"
    return browser.post(url, {**form, **(answers or {})}, **kwargs)
