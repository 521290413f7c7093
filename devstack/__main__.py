"""``make dev``: the back office on its local stack, with demo data, in one command.

Starts the AWS emulator, localstripe and the stand-in vendor, creates the tables, secrets and
parameters, seeds demo data, serves the reference checkout (``storefront/dist``, built by
``make dev``) on ``STOREFRONT_PORT`` (5173) with CORS allowing it, creates a local staff account (role admin, a fresh random
password each run, printed once: it exists only in this run's in-memory emulator), runs
Django's development server on ``--port`` (``PORT``), and prints what to open. Ctrl-C stops
everything; nothing is left running or written outside the project.

``python -m devstack manage COMMAND ...`` runs a management command against the stack that is
running (``devstack.attach``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from devstack.attach import manage, stack_state_remove, stack_state_write
from devstack.stack import ROOT, LocalStack, free_port, port_free
from devstack.storefront import STOREFRONT, storefront_config, storefront_serve
from devstack.stripe_webhooks import stripe_webhook_register

DEFAULT_PORTS = {"aws": 4566, "stripe": 8420, "vendor": 8430, "storefront": 5173}


def _port(preferred: int) -> int:
    return preferred if port_free(preferred) else free_port()


def main() -> None:
    if sys.argv[1:2] == ["manage"]:
        sys.exit(manage(sys.argv[2:]))
    parser = argparse.ArgumentParser(
        description="Run the back office on its local stack.",
        epilog="python -m devstack manage COMMAND ...: a management command against it.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args()
    if not port_free(args.port):
        sys.exit(f"port {args.port} is in use: choose another with PORT=...")

    stack = LocalStack(
        aws_port=_port(DEFAULT_PORTS["aws"]),
        stripe_port=_port(DEFAULT_PORTS["stripe"]),
        vendor_port=_port(DEFAULT_PORTS["vendor"]),
    )
    # A `kill` stops the stack as cleanly as Ctrl-C does (the finally below runs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    storefront_port = _port(int(os.environ.get("STOREFRONT_PORT", DEFAULT_PORTS["storefront"])))
    storefront_origins = [f"http://{h}:{storefront_port}" for h in ("127.0.0.1", "localhost")]
    print("starting the AWS emulator, localstripe and the stand-in vendor...", flush=True)
    stack.start()
    storefront = None
    try:
        os.environ.update(stack.environment())
        # The checkout calls the API from its own origin, as from CloudFront in production.
        os.environ["CORS_ALLOWED_ORIGINS"] = ",".join(storefront_origins)
        if storefront_origins:  # the admin's "View site"
            os.environ.setdefault("STOREFRONT_URL", storefront_origins[0] + "/")
        # The webhook answers at once and the vendor is called in a thread, as Lambda's async
        # task would; the scheduled jobs run in this process, as EventBridge would run them.
        os.environ["FULFILLMENT_ASYNC"] = "thread"
        stack.provision_config()

        import django
        from django.core.management import call_command

        django.setup()
        call_command("create_tables")
        call_command("seed_demo")
        call_command("daily_totals_rebuild")
        staff_password = _local_staff()
        # localstripe signs and sends payment events to this server, as Stripe would.
        stripe_webhook_register(
            stripe_url=stack.stripe_url,
            endpoint_id="backoffice",
            url=f"http://127.0.0.1:{args.port}/webhooks/stripe",
            secret=stack.secrets.stripe_webhook_secret,
        )
        stack_state_write(stack.environment())
        dist = STOREFRONT / "dist"
        if (dist / "index.html").exists():
            storefront = storefront_serve(
                dist=dist,
                port=storefront_port,
                config=storefront_config(
                    api_base=f"http://127.0.0.1:{args.port}", stripe_url=stack.stripe_url
                ),
            )
        _banner(stack, args.port, staff_password, storefront_origins[0] if storefront else None)
        threading.Thread(target=_scheduled_jobs, daemon=True).start()
        subprocess.run(
            # --insecure: serve the admin's static files with DEBUG off, as production behaves
            [
                sys.executable,
                "manage.py",
                "runserver",
                f"127.0.0.1:{args.port}",
                "--noreload",
                "--insecure",
            ],
            cwd=ROOT,
            env=os.environ,
            check=False,
        )
    except KeyboardInterrupt:
        pass
    finally:
        stack_state_remove()
        if storefront is not None:
            storefront.shutdown()
        stack.stop()


def _scheduled_jobs(interval: float = 30.0) -> None:
    """Zappa's scheduled events, locally: every job in orders.jobs and payments.jobs, every
    ``interval`` s."""
    import logging

    from orders import jobs
    from payments import jobs as payment_jobs

    logger = logging.getLogger("devstack.scheduler")
    runs = [
        (name, getattr(module, name))
        for module, name in (
            (jobs, "orders_expire"),
            (jobs, "fulfillment_sweep"),
            (payment_jobs, "payments_reconcile"),
        )
        if hasattr(module, name)
    ]
    while True:
        time.sleep(interval)
        for name, run in runs:
            try:
                run({}, None)
            except Exception:
                logger.exception("scheduled job failed", extra={"job": name})


LOCAL_STAFF = "admin"


def _local_staff() -> str:
    """A staff account for the local admin; its password is new on every run."""
    from staff.services import staff_create

    password = secrets.token_urlsafe(12)
    staff_create(username=LOCAL_STAFF, email="admin@localhost", role="admin", password=password)
    return password


def _banner(stack: LocalStack, port: int, staff_password: str, storefront_url: str | None) -> None:
    base = f"http://127.0.0.1:{port}"
    storefront = (
        f"{storefront_url}/  (reference checkout; card 4242 4242 4242 4242 pays,\n"
        "                 4000 0000 0000 0341 is declined; any future date and CVC)"
        if storefront_url
        else "not built: needs Node 20+ and npm (`make storefront-build`, or make dev with npm)"
    )
    print(
        f"""
TicketsToHeaven back office, local stack
  Storefront     {storefront}
  Admin          {base}/admin/  user: {LOCAL_STAFF}  password: {staff_password}
                 (more accounts: make manage ARGS=createstaff, or python -m devstack manage createstaff)
  API            {base}  (try: curl {base}/health ; curl {base}/catalog ; OpenAPI: {base}/schema)
  AWS emulator   {stack.aws_url}  (moto: DynamoDB, Secrets Manager, SSM, S3, SES; dashboard {stack.aws_url}/moto-api/)
  E-mail sent    {stack.aws_url}/_ses/sent  (each message SES accepted; "raw_data" is what the buyer gets)
  Stripe         {stack.stripe_url}  (localstripe; sends signed payment events to {base}/webhooks/stripe)
  Vendor         {stack.vendor_url}  (stand-in; POST /_control to make it slow or fail, GET /_tickets: each ticket's state)
  Tables         {stack.project}-{stack.stage}-*  with demo data
Ctrl-C stops everything.
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
