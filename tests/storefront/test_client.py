"""The storefront's typed client stays the API's: the committed OpenAPI document is what
``GET /schema`` answers now, the generated TypeScript types are what openapi-typescript makes
of it, and the reference checkout compiles against them. ``make storefront-client``
regenerates both after an API change."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

STOREFRONT = Path(__file__).resolve().parents[2] / "storefront"
BIN = STOREFRONT / "node_modules" / ".bin"
FIX = "run `make storefront-client` and commit storefront/openapi.json and src/api/schema.d.ts"


@pytest.fixture(scope="module")
def node_tools() -> Path:
    if not (BIN / "openapi-typescript").exists():
        pytest.fail("storefront/node_modules is missing: `make test` runs `npm ci` first")
    return BIN


def test_the_committed_document_is_what_the_api_serves(client):
    served = json.loads(client.get("/schema", {"format": "json"}).content)
    committed = json.loads((STOREFRONT / "openapi.json").read_text())

    assert committed == served, f"storefront/openapi.json is stale: {FIX}"


def test_the_generated_types_are_what_the_document_makes(node_tools, tmp_path):
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        [node_tools / "openapi-typescript", "openapi.json", "-o", str(generated)],
        cwd=STOREFRONT,
        check=True,
        capture_output=True,
        timeout=120,
    )

    committed = (STOREFRONT / "src" / "api" / "schema.d.ts").read_text()
    assert generated.read_text() == committed, f"src/api/schema.d.ts is stale: {FIX}"


def test_the_checkout_compiles_against_the_generated_client(node_tools):
    result = subprocess.run(
        [node_tools / "tsc", "--noEmit", "-p", "."],
        cwd=STOREFRONT,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert result.returncode == 0, result.stdout + result.stderr
