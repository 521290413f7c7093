"""The operator's documents agree with themselves and work on a fresh clone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _text() -> dict[str, str]:
    return {path.name: path.read_text() for path in DOCS}


def test_every_redirect_into_build_makes_the_folder_first():
    # build/ is git-ignored: on a fresh clone `... > build/outputs.json` fails with "No such
    # file or directory" unless the same command line makes it.
    problems = []
    for name, text in _text().items():
        for line in text.splitlines():
            if re.search(r">\s*build/", line) and "mkdir -p build" not in line:
                problems.append(f"{name}: {line.strip()}")
    assert not problems, problems


def test_one_stripe_webhook_url_everywhere():
    urls = {
        url
        for text in _text().values()
        for url in re.findall(r"https://\{[a-z_]+\}/webhooks/stripe", text)
    }
    assert urls == {"https://{admin_domain}/webhooks/stripe"}


def test_one_package_size_everywhere():
    sizes = {
        size for text in _text().values() for size in re.findall(r"(\d+\.\d+) MiB zipped", text)
    }
    assert len(sizes) == 1, f"the package's size is given as {sorted(sizes)} MiB"
