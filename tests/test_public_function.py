"""The public API's function has no refund path, proven from the source (AST).

Stripe's restricted key of the public function cannot refund (docs/deploy.md lists its
permissions), but the Stripe stand-in does not enforce restricted keys, so the code itself is
checked: starting from everything the public function can run (its settings and what they name
by string, its URLconf, the scheduled jobs of its stage in ``zappa_settings.json``, the
management commands of its apps, which ``zappa manage`` runs there), the modules it can import
(at the top or inside a function, or by a literal ``import_module``/``import_string``) never
name ``refund_create``, and only ``integrations.stripe_client.refund_create`` calls Stripe's
``refunds.create``. The rule is also run on a made-up tree that breaks it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.test_architecture import _tree, imported_modules

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_STAGE = "prod"
PUBLIC_SETTINGS = "tickets.settings_public"
REFUND_CALL = "refund_create"
STRIPE_CLIENT = "integrations.stripe_client"


def _module_path(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _strings(tree: ast.AST) -> list[str]:
    """String constants that look like dotted paths into our code (settings name classes,
    middleware, URLconfs and handlers this way)."""
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "." in node.value
        and " " not in node.value
    ]


def _candidates(name: str) -> list[str]:
    """A dotted name and its parents: ``orders.jobs.orders_expire`` may be a module or a
    function in one."""
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _names_code_by_string(module: str) -> bool:
    """Settings and URLconfs name the code Django imports as dotted strings (apps, middleware,
    handlers, ``include()``); elsewhere a dotted string is data (the key registry's owners)."""
    last = module.rsplit(".", 1)[-1]
    return "settings" in last or "urls" in last


def reachable(root: Path, entries: list[str]) -> set[str]:
    """Every module of ``root`` that the ``entries`` can import. In settings and URLconfs,
    every string constant that is a dotted path to one of our modules counts as an import
    too: more than Django would import, never less."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        module = next((m for m in _candidates(name) if _module_path(root, m)), None)
        if module is None or module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:n]) for n in range(1, len(parts))]  # its packages
        tree = ast.parse(_module_path(root, module).read_text())
        for imported, _line in imported_modules(tree):
            todo.append(imported)
        for node in ast.walk(tree):  # ``from orders.services import transitions``
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                todo += [f"{node.module}.{alias.name}" for alias in node.names]
        if _names_code_by_string(module):
            todo += _strings(tree)
    return seen


def _names(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.asname or node.name)
            found.add(node.name.rsplit(".", 1)[-1])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.add(node.name)
    return found


def refund_paths(root: Path, modules: set[str]) -> list[str]:
    """The modules among ``modules`` that could send a refund: any naming ``refund_create``
    (except the Stripe client that defines it), and any function of the Stripe client other
    than ``refund_create`` that calls ``refunds.create``."""
    problems = []
    for module in sorted(modules):
        tree = ast.parse(_module_path(root, module).read_text())
        if module == STRIPE_CLIENT:
            for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
                creates = [
                    n
                    for n in ast.walk(function)
                    if isinstance(n, ast.Attribute)
                    and n.attr == "create"
                    and isinstance(n.value, ast.Attribute)
                    and n.value.attr in {"refunds", "Refund"}
                ]
                if creates and function.name != REFUND_CALL:
                    problems.append(f"{module}.{function.name} creates a refund")
        elif REFUND_CALL in _names(tree):
            problems.append(f"{module} names {REFUND_CALL}")
    return problems


def public_entries(root: Path) -> list[str]:
    """What the public function runs: its settings (and, through them, its URLconf, apps,
    middleware, handlers), its stage's scheduled jobs, its apps' management commands."""
    stage = json.loads((root / "zappa_settings.json").read_text())[PUBLIC_STAGE]
    assert stage["django_settings"] == PUBLIC_SETTINGS
    entries = [PUBLIC_SETTINGS, "tickets.wsgi"]
    entries += [event["function"] for event in stage.get("events", [])]
    settings_tree = ast.parse(_module_path(root, PUBLIC_SETTINGS).read_text())
    apps = next(
        ast.literal_eval(node.value)
        for node in ast.walk(settings_tree)
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "INSTALLED_APPS" for t in node.targets)
    )
    for app in apps:
        entries += [f"{app}.apps", f"{app}.models"]  # what django.setup() imports of each app
        commands = root / app / "management" / "commands"
        entries += [f"{app}.management.commands.{p.stem}" for p in commands.glob("*.py")]
    return entries


def test_the_public_function_can_reach_no_refund():
    entries = public_entries(ROOT)
    modules = reachable(ROOT, entries)

    # The walk really covers the public function's work: the webhook, orders, the jobs.
    assert {"payments.webhooks", "orders.apis", "orders.jobs", "payments.jobs"} <= modules
    assert {"payments.services.refund_records", STRIPE_CLIENT} <= modules
    assert refund_paths(ROOT, modules) == []


def test_the_public_function_needs_nothing_its_package_leaves_out():
    """The zip hook drops what only the back office imports (deploy.callbacks): nothing the
    public function can import imports it."""
    from deploy.callbacks import BACKOFFICE_ONLY_TOP_LEVEL

    needing = {}
    for module in reachable(ROOT, public_entries(ROOT)):
        tree = ast.parse(_module_path(ROOT, module).read_text())
        names = {name.split(".")[0] for name, _line in imported_modules(tree)}
        if names & BACKOFFICE_ONLY_TOP_LEVEL:
            needing[module] = sorted(names & BACKOFFICE_ONLY_TOP_LEVEL)

    assert needing == {}


def test_the_back_office_does_reach_the_staff_refund():
    """The same walk from the back office finds the admin's refund: the rule is not passing
    by finding nothing."""
    # The admin imports each app's ``admin`` module on first use (``tickets.admin_site``).
    modules = reachable(ROOT, ["tickets.settings_backoffice", "payments.admin"])

    assert "payments.admin names refund_create" in refund_paths(ROOT, modules)


def test_the_rule_catches_a_lazy_import_a_string_and_a_second_refund_call(tmp_path):
    root = _tree(
        tmp_path,
        {
            "integrations/__init__.py": "",
            "integrations/stripe_client.py": (
                "def refund_create(): return client.v1.refunds.create()\n"
                "def payout(): return stripe.Refund.create()\n"
            ),
            "app/__init__.py": "",
            "app/settings.py": 'HANDLERS = ["app.hooks.on_event"]\n',
            "app/registry.py": 'OWNERS = ["app.never_imported"]\n',
            "app/never_imported.py": "from integrations import stripe_client\n"
            "def undo(): return stripe_client.refund_create()\n",
            "app/hooks.py": (
                "def on_event():\n    from app.staff_only import undo\n    return undo()\n"
            ),
            "app/staff_only.py": (
                "from integrations import stripe_client\n"
                "def undo(): return stripe_client.refund_create()\n"
            ),
            "app/clean.py": "def fine(): return 1\n",
        },
    )

    modules = reachable(root, ["app.settings"])
    assert {"app.hooks", "app.staff_only", STRIPE_CLIENT} <= modules
    assert refund_paths(root, modules) == [
        "app.staff_only names refund_create",
        "integrations.stripe_client.payout creates a refund",
    ]
    assert refund_paths(root, reachable(root, ["app.clean"])) == []
    # A dotted string outside settings and URLconfs is data, not an import.
    assert "app.never_imported" not in reachable(root, ["app.registry"])
