"""No tracked file names a path that exists on one particular machine only.

A fresh clone runs on a machine that has nothing made by hand: no tool in a scratch folder, no
home directory of ours. A tracked file naming such a path works where it was written and breaks
everywhere else (``infra/check.sh`` once fell back to a ``uv`` in a scratch folder under the
temporary directory), so this test reads every file git tracks, itself included, and fails on:

- this checkout's own absolute path and this user's home directory, spelled out;
- a home directory (``home/<user>``, ``Users/<user>`` or root's, at the top of the tree), the
  workplace's ``work`` tree, or a folder under the temporary directory.

Paths built at run time (``$HOME/...``, ``mktemp``, ``tempfile``) are how portable code names
such places; they are not matched. The examples below are built from parts (``_path``), so this
file names no such path itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_NAME = r"[A-Za-z0-9_.-]+"


def _path(*parts: str) -> str:
    """``_path("a", "b")`` is the absolute path of a and b: examples without spelling them."""
    return "/" + "/".join(parts)


MACHINE_PATH = re.compile(
    r"(?<![\w$}.~-])"  # not $HOME/..., ${x}/..., ~/..., or the tail of a longer word
    + "("
    + "|".join(
        [
            _path("home", _NAME, ""),
            _path("Users", _NAME, ""),
            _path("root", ""),
            _path("work", ""),
            _path("tmp", _NAME, ""),
        ]
    )
    + ")"
)


def tracked_files() -> list[str]:
    git = shutil.which("git")
    assert git, "git is needed to list the tracked files"
    out = subprocess.run([git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in out.decode().split("\0") if name]


def machine_paths_in(text: str, forbidden_literals: list[str]) -> list[str]:
    found = [match.group(1) for match in MACHINE_PATH.finditer(text)]
    found += [literal for literal in forbidden_literals if literal in text]
    return found


def test_the_pattern_catches_machine_paths_and_spares_portable_ones() -> None:
    bad = [
        'uv="${UV:-$(command -v uv || echo ' + _path("tmp", "tools", "bin", "uv") + ')}"',
        "python = '" + _path("home", "alice", ".pyenv", "versions", "3.13.0", "bin") + "'",
        "cd " + _path("work", "main") + " && make",
        _path("root", ".cache", "uv"),
        _path("Users", "bob", "src", "ticketstoheaven"),
    ]
    good = [
        '"$HOME"/.pyenv/versions/3.13*/bin/python3.13',
        "work=$(mktemp -d); cp x $work/",
        "localstripe writes /tmp/localstripe.pickle",
        "~/.pyenv/versions/3.13.0/bin/python3.13",
        "${root}" + _path("work", "x"),
    ]
    assert all(machine_paths_in(line, []) for line in bad), bad
    assert not any(machine_paths_in(line, []) for line in good), good


def test_no_tracked_file_names_a_path_of_one_machine() -> None:
    literals = [str(ROOT) + "/", os.path.expanduser("~").rstrip("/") + "/"]
    literals = [literal for literal in literals if literal not in ("/", "//")]
    offenders = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files (images) carry no paths we wrote
        for line_number, line in enumerate(text.splitlines(), 1):
            for hit in machine_paths_in(line, literals):
                offenders.append(f"{name}:{line_number}: {hit}  ({line.strip()[:100]})")
    assert not offenders, "tracked files name paths of one machine:\n" + "\n".join(offenders)
