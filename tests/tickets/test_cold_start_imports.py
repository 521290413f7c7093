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
from django.urls import resolve
from tickets.wsgi import application
seen = {}
for path in sys.argv[1:]:
    resolve(path)
    seen[path] = sorted(m for m in sys.modules if m.startswith(
        ("orders.admin", "staff.admin", "payments.admin", "dynamo_admin.options",
         "drf_spectacular.openapi", "django.test", "stripe")))
print(json.dumps(seen))
"""


def _loaded_after(*paths: str) -> dict[str, list[str]]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tickets.settings",
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

    assert seen["/webhooks/stripe"] == []


def test_the_admin_and_the_schema_view_load_on_first_use():
    seen = _loaded_after("/admin/login/")

    assert {"orders.admin", "staff.admin", "payments.admin"} <= set(seen["/admin/login/"])
