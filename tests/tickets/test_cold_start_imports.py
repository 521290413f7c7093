"""What a storefront request loads in a fresh interpreter (bench/coldstart.py measures the time):
not the admin, not drf-spectacular's generator (nor ``django.test`` it pulls in), not the
``stripe`` library for a webhook; and the admin and ``/schema`` still load when asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import io, json, sys
import django
django.setup()
from django.urls import Resolver404, resolve
from tickets.wsgi import application
seen = {}
for path in sys.argv[1:]:
    try:
        resolve(path)
    except Resolver404:
        seen[path] = 404
        continue
    seen[path] = sorted(m for m in sys.modules if m.startswith(
        ("orders.admin", "staff.admin", "payments.admin", "dynamo_admin.options",
         "drf_spectacular.openapi", "django.test", "stripe", "django.contrib.admin",
         "django.contrib.sessions", "phonenumbers"))
        # DRF's views import its schema generators, which import admindocs and with it
        # django.contrib.admin's modules (and its messages), not the apps: DRF's cost.
        and not m.startswith("django.contrib.admin"))
print(json.dumps(seen))
"""


def _loaded_after(*paths: str, settings: str = "tickets.settings") -> dict[str, list[str]]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": settings,
        "DJANGO_SECRET_KEY": "test-only-not-a-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "localhost",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *paths],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_storefront_paths_load_no_admin_no_schema_generator_no_stripe():
    seen = _loaded_after("/health", "/catalog", "/orders", "/orders/ord_x", "/webhooks/stripe")

    assert [m for m in seen["/webhooks/stripe"] if not m.startswith("django.contrib.")] == []


def test_the_public_function_loads_no_admin_sessions_or_messages_and_has_no_admin():
    seen = _loaded_after(
        "/health", "/catalog", "/orders", "/orders/ord_x", "/webhooks/stripe", "/schema",
        "/admin/", "/admin/login/", settings="tickets.settings_public",
    )  # fmt: skip

    # Nothing of the admin, sessions, the generator, Stripe or phone numbers.
    assert seen["/schema"] == []
    assert (seen["/admin/"], seen["/admin/login/"]) == (404, 404)


def test_the_back_office_serves_the_admin_and_nothing_of_the_api():
    seen = _loaded_after(
        "/health", "/admin/login/", "/catalog", "/orders", "/webhooks/stripe", "/schema",
        settings="tickets.settings_backoffice",
    )  # fmt: skip

    assert {"orders.admin", "staff.admin", "payments.admin"} <= set(seen["/admin/login/"])
    assert [seen[p] for p in ("/catalog", "/orders", "/webhooks/stripe", "/schema")] == [404] * 4


def test_the_admin_and_the_schema_view_load_on_first_use():
    seen = _loaded_after("/admin/login/")

    assert {"orders.admin", "staff.admin", "payments.admin"} <= set(seen["/admin/login/"])
