"""The back-office table's keys have one owner, ``core.backoffice``: every kind of item is
declared there, no two kinds' keys can collide, and no other module writes a prefix by hand.

Both rules also run on a made-up tree or list that breaks them, so neither passes by finding
nothing."""

from __future__ import annotations

import ast
from pathlib import Path

from core import backoffice
from core.backoffice import KEYS, Key, keys_colliding
from tests.test_architecture import packages

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = Path("core/backoffice.py")


def _written(key: Key) -> list[tuple[str, bool]]:
    """The strings that would be this kind's key written by hand: ``(text, whole)``."""
    found = [(key.prefix, key.exact)]
    if key.sk.endswith("#"):
        found.append((key.sk, False))
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _string_starts(tree: ast.AST) -> list[tuple[int, str, bool]]:
    """``(line, text, whole)``: every string literal (``whole``) and every f-string's leading
    text (not whole), docstrings left out."""
    skip = _docstrings(tree)
    found = []
    inside_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside_fstring |= {id(v) for v in node.values}
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((node.lineno, first.value, False))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and id(node) not in inside_fstring
        ):
            found.append((node.lineno, node.value, True))
    return found


def keys_written_by_hand(root: Path, keys: tuple[Key, ...]) -> list[str]:
    """``path:line`` and the text, for each string outside the registry that starts with a
    declared prefix (or is a declared whole key)."""
    written = {w for key in keys for w in _written(key)}
    problems = []
    for package in packages(root):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if relative == REGISTRY:
                continue
            for line, text, whole in _string_starts(ast.parse(path.read_text())):
                if any(
                    text == prefix if exact and whole else text.startswith(prefix)
                    for prefix, exact in written
                ):
                    problems.append(f"{relative.as_posix()}:{line} writes {text!r}")
    return problems


def test_every_key_prefix_is_written_only_in_the_registry():
    assert keys_written_by_hand(ROOT, KEYS) == []


def test_no_two_kinds_of_item_can_have_the_same_key():
    assert keys_colliding() == []
    # Every kind says what it is and who owns it, and the table's docs point here.
    assert all(key.what and key.owner for key in KEYS)
    assert len(KEYS) == len({(k.prefix, k.sk, k.index) for k in KEYS})
    assert "KEYS" in (backoffice.__doc__ or "")


def test_the_rules_catch_a_hand_written_prefix_and_a_collision(tmp_path):
    (tmp_path / "core").mkdir()
    (tmp_path / "orders").mkdir()
    (tmp_path / "core" / "backoffice.py").write_text('EMAIL = "EMAIL#"\n')
    (tmp_path / "orders" / "models.py").write_text(
        '"""EMAIL#{address}: a docstring may name it."""\n'
        "def key(email):\n"
        '    return f"EMAIL#{email}"\n'
        'HEALTH = "HEALTH"\n'
        'fine = f"{email}#x"\n'
    )
    keys = (
        Key("EMAIL#", "CLAIM", "claim", "orders"),
        Key("HEALTH", "{n}", "marker", "payments", exact=True),
    )

    assert keys_written_by_hand(tmp_path, keys) == [
        "orders/models.py:3 writes 'EMAIL#'",
        "orders/models.py:4 writes 'HEALTH'",
    ]
    clashing = (
        Key("AUDIT#", "{time}", "entry", "core.audit"),
        Key("AUDIT#order#", "{time}", "old entry", "orders"),
        Key("AUDITBY#", "{time}", "by staff", "core.audit"),
        Key("STAFF#", "ACCOUNT", "account", "staff"),
        Key("STAFF#", "FACTOR#", "factor", "staff"),
        Key("STAFF#", "FACTOR#KEY#", "passkey", "staff"),
    )
    assert keys_colliding(clashing) == [
        "AUDIT# {time} (core.audit) and AUDIT#order# {time} (orders)",
        "STAFF# FACTOR# (staff) and STAFF# FACTOR#KEY# (staff)",
    ]
