"""The docs' map names only what exists: every path and module the README's "Where things are"
and ``docs/architecture.md`` name in backticks is in the tree (a module's function or class
too), so a move that forgets the map fails here. Also run on a made-up map that names things
that do not exist, so the check cannot pass by finding nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAPS = [ROOT / "README.md", ROOT / "docs" / "architecture.md"]
PACKAGES = (
    "core", "integrations", "tickets", "orders", "payments", "staff", "dynamo_admin",
    "devstack", "deploy", "bench",
)  # fmt: skip
_ROOTS = "|".join(PACKAGES)
_PATH = re.compile(rf"^(?:{_ROOTS})/[\w/.-]*$")
_DOTTED = re.compile(rf"^(?:{_ROOTS})(?:\.\w+)+$")


def _names_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def _dotted_exists(root: Path, dotted: str) -> bool:
    """``a.b.c``: a module ``a/b/c.py`` (or package), or a name defined in module ``a/b``
    (then ``.c`` may be a method of a class there: the class is checked)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = root.joinpath(*parts[:cut])
        module = base.with_suffix(".py") if not base.is_dir() else base / "__init__.py"
        if module.is_file():
            rest = parts[cut:]
            return not rest or rest[0] in _names_in(module)
    return False


def missing_from_the_tree(root: Path, maps: list[Path]) -> list[str]:
    missing = []
    for doc in maps:
        for token in re.findall(r"`([^`\s]+)`", doc.read_text()):
            token = token.rstrip(".,:;")
            if _PATH.match(token):
                ok = (root / token.split("#")[0]).exists()
            elif _DOTTED.match(token):
                ok = _dotted_exists(root, token)
            else:
                continue
            if not ok:
                missing.append(f"{doc.name}: {token}")
    return sorted(set(missing))


def test_every_module_the_maps_name_exists():
    assert missing_from_the_tree(ROOT, MAPS) == []


def test_the_check_finds_a_moved_module_and_a_renamed_function(tmp_path):
    (tmp_path / "orders" / "services").mkdir(parents=True)
    (tmp_path / "orders" / "actions.py").write_text("def order_cancel():\n    pass\n")
    (tmp_path / "orders" / "services" / "__init__.py").write_text("")
    doc = tmp_path / "README.md"
    doc.write_text(
        "`orders/actions.py` and `orders.actions.order_cancel` exist; "
        "`orders/services/sync.py`, `orders.actions.order_void` and `orders.gone` do not; "
        "`make dev` is no module.\n"
    )

    assert missing_from_the_tree(tmp_path, [doc]) == [
        "README.md: orders.actions.order_void",
        "README.md: orders.gone",
        "README.md: orders/services/sync.py",
    ]
