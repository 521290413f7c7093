"""Serve the built reference checkout (``storefront/dist``) locally, as CloudFront serves it.

The same files and cache headers as the storefront bucket gets from the deploy step
(docs/deploy.md): ``index.html`` and ``config.json`` revalidated on every load, hashed
``assets/*`` cached for a year. ``config.json`` is this stack's: the API's address, a test
publishable key and the local Stripe.js stand-in (``devstack/localstripe_server.py``).

Used by ``make dev`` and by the browser tests; it serves files only and must not proxy or
call the API (the page calls the API cross-origin, through CORS, as in production).
"""

from __future__ import annotations

import json
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devstack.stack import ROOT

STOREFRONT = ROOT / "storefront"
HTML_CACHE = "no-cache"  # revalidate each load: a deploy shows at once
ASSET_CACHE = "public, max-age=31536000, immutable"  # hashed names: a new build, new names


def storefront_config(*, api_base: str, stripe_url: str) -> dict[str, str]:
    return {
        "apiBase": api_base,
        # localstripe accepts any key of the right shape; the stand-in checks the prefix.
        "stripePublishableKey": "pk_test_local",
        "stripeJsUrl": f"{stripe_url}/js.stripe.com/v3/payment-element/",
    }


def storefront_build(out_dir: Path | None = None) -> Path:
    """``npm run build`` (typecheck + Vite); ``out_dir`` to build somewhere else than dist/."""
    command = ["npm", "run", "--silent", "build"]
    if out_dir is not None:
        command += ["--", "--outDir", str(out_dir), "--emptyOutDir"]
    subprocess.run(command, cwd=STOREFRONT, check=True, timeout=300)
    return out_dir or STOREFRONT / "dist"


class _Handler(SimpleHTTPRequestHandler):
    config: bytes = b"{}"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.config)))
            self.send_header("Cache-Control", HTML_CACHE)
            self.end_headers()
            self.wfile.write(self.config)
            return
        super().do_GET()

    def end_headers(self) -> None:
        path = self.path.split("?")[0]
        if path.startswith("/assets/"):
            self.send_header("Cache-Control", ASSET_CACHE)
        elif path != "/config.json":
            self.send_header("Cache-Control", HTML_CACHE)
        super().end_headers()


def storefront_serve(*, dist: Path, port: int, config: dict[str, str]) -> ThreadingHTTPServer:
    """Serve ``dist`` on loopback in a daemon thread; ``.shutdown()`` stops it."""
    handler = type("StorefrontHandler", (_Handler,), {"config": json.dumps(config).encode()})
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(handler, directory=str(dist)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
