"""Real-browser fixtures: Django served by a real HTTP server in a thread, driven by Debian's
Chromium through Playwright (never Playwright's own browser download).

The server is Django's threaded WSGI server on a free loopback port, wrapped in the static
files handler so the admin's CSS and JavaScript load as they do behind CloudFront. It runs in
this process, so it uses the same settings and the same stand-in servers as the other tests,
and every test still starts from empty tables (the ``aws`` fixture).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

# Assertions wait up to 15 s (Playwright's default is 5): on a loaded 2-core machine a page that
# reloads the catalog or follows an order can take longer than 5 s, and a timeout is not a bug.
expect.set_options(timeout=15_000)

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "artifacts"


@pytest.fixture(scope="session")
def live_server(local_stack) -> Iterator[str]:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    # WSGIHandler, not get_wsgi_application(): that would run django.setup() again and point
    # the log handlers at whatever stdout pytest is capturing at that moment.
    server.set_app(StaticFilesHandler(WSGIHandler()))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """Package-scoped: Playwright's sync API keeps an event loop on this thread while it is
    open, and Django refuses ``transaction.atomic`` under a running loop, so it must be
    closed before the rest of the suite runs."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: `make test` installs the Debian package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server):
    """``new_page()`` -> a page in a fresh browser context (its own cookies: a separate
    staff session)."""
    contexts = []

    def make():
        context = chromium.new_context(
            base_url=live_server, viewport={"width": 1600, "height": 1000}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _emulator(aws) -> None:
    """Every browser test starts from an empty emulator (the ``aws`` fixture)."""
