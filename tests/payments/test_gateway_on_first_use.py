"""The payments app plugs its gateway into orders at start-up but imports it (the Stripe
client, records, sync) only when an order first needs it (payments.apps)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
import django
django.setup()
from django.urls import resolve
from tickets.wsgi import application
resolve("/catalog")
before = "payments.order_gateway" in sys.modules
from orders.payment_port import payment_gateway
method = payment_gateway().payment_start
print(json.dumps({"before": before, "after": "payments.order_gateway" in sys.modules,
                  "owner": type(method.__self__).__name__}))
"""


def test_the_gateway_loads_when_an_order_first_uses_it():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "tickets.settings",
        "DJANGO_SECRET_KEY": "test-only-not-a-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "localhost",
    }
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    seen = json.loads(result.stdout.strip().splitlines()[-1])

    assert seen == {"before": False, "after": True, "owner": "StripePaymentGateway"}
