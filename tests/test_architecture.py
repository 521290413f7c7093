"""The rooms and the arrows between them, computed from the source (AST), not from memory.

1. The import graph of the packages has no cycle. ``core`` (shared plumbing) and
   ``integrations`` (one client per outside system) are the floor everything stands on: they
   import no app and not the project. ``tickets`` (the Django project: settings, URLs, the
   admin site) imports no app either. The admin package imports none of the project's
   packages.
2. Only services and models write to DynamoDB (PynamoDB ``save``, ``update``, ``delete``,
   batch writes, transactions). The few other modules that must are listed below with why.

Each rule is also run on a small made-up tree that breaks it, so neither test passes by
finding nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("orders", "payments", "staff")
PROJECT = "tickets"
FLOOR = ("core", "integrations")
ADMIN_PACKAGE = "dynamo_admin"  # the reusable admin


def packages(root: Path) -> list[str]:
    names = [*FLOOR, PROJECT, *APPS]
    return [name for name in [*names, ADMIN_PACKAGE] if (root / name).is_dir()]


def _modules(root: Path, package: str) -> list[Path]:
    return sorted(p for p in (root / package).rglob("*.py") if "migrations" not in p.parts)


# Calls that import a module named by a string literal: Django's and our own lazy imports.
_IMPORTING_CALLS = {"import_module", "service_function", "import_string"}


def imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    """``(module, line)`` for every absolute import, and every module named as a literal to an
    importing call (``importlib.import_module("orders.x")``)."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in _IMPORTING_CALLS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.append((first.value, node.lineno))
    return found


def import_graph(root: Path, names: list[str]) -> dict[tuple[str, str], list[str]]:
    """``(from package, to package)`` -> where (``path:line``), between the given packages."""
    edges: dict[tuple[str, str], list[str]] = {}
    for package in names:
        for path in _modules(root, package):
            for module, line in imported_modules(ast.parse(path.read_text())):
                target = module.split(".")[0]
                if target in names and target != package:
                    where = f"{path.relative_to(root)}:{line}"
                    edges.setdefault((package, target), []).append(where)
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """Every elementary cycle's packages (small graphs: a depth-first walk from each node)."""
    successors: dict[str, set[str]] = {}
    for source, target in edges:
        successors.setdefault(source, set()).add(target)
    found: set[tuple[str, ...]] = set()

    def walk(start: str, node: str, path: list[str]) -> None:
        for nxt in sorted(successors.get(node, ())):
            if nxt == start:
                smallest = path.index(min(path))
                found.add(tuple(path[smallest:] + path[:smallest]))
            elif nxt not in path and nxt > start:
                walk(start, nxt, [*path, nxt])

    for start in sorted(successors):
        walk(start, start, [start])
    return [list(c) for c in sorted(found)]


def _described(edges: dict[tuple[str, str], list[str]], cycle: list[str]) -> str:
    hops = zip(cycle, [*cycle[1:], cycle[0]], strict=True)
    return (
        " -> ".join([*cycle, cycle[0]])
        + " ("
        + "; ".join(f"{a}->{b} at {edges[(a, b)][0]}" for a, b in hops)
        + ")"
    )


def architecture_problems(root: Path) -> list[str]:
    names = packages(root)
    edges = import_graph(root, names)
    problems = [_described(edges, c) for c in cycles(edges)]
    problems += [
        f"{source} imports the app {target}: {where[0]}"
        for (source, target), where in edges.items()
        if source in (PROJECT, *FLOOR) and target in APPS
    ]
    problems += [
        f"{source} imports the project: {where[0]}"
        for (source, target), where in edges.items()
        if source in FLOOR and target == PROJECT
    ]
    problems += [
        f"{ADMIN_PACKAGE} imports the project's {target}: {where[0]}"
        for (source, target), where in edges.items()
        if source == ADMIN_PACKAGE
    ]
    return problems


def test_the_packages_import_each_other_without_a_cycle_and_the_floor_imports_no_app():
    assert architecture_problems(ROOT) == []
    edges = import_graph(ROOT, packages(ROOT))
    # The one direction between orders and payments (payments calls order actions).
    assert ("payments", "orders") in edges and ("orders", "payments") not in edges


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_import_rule_catches_a_cycle_a_lazy_import_and_the_floor_importing_up(tmp_path):
    root = _tree(
        tmp_path,
        {
            "tickets/__init__.py": "",
            "tickets/urls.py": "import staff.urls\n",
            "core/dynamodb.py": "def f():\n    import orders.models\n",
            "integrations/vendor_client.py": "from tickets import settings\n",
            "orders/__init__.py": "",
            "orders/admin.py": 'x = service_function("payments.services.refunds", "r")\n',
            "payments/__init__.py": "",
            "payments/webhooks.py": "from orders.services import transitions\n",
            "staff/__init__.py": "",
        },
    )

    problems = architecture_problems(root)

    assert problems == [
        "orders -> payments -> orders (orders->payments at orders/admin.py:1; "
        "payments->orders at payments/webhooks.py:1)",
        "core imports the app orders: core/dynamodb.py:2",
        "tickets imports the app staff: tickets/urls.py:1",
        "integrations imports the project: integrations/vendor_client.py:1",
    ]


# --- Writes --------------------------------------------------------------------------------

_ALWAYS_WRITES = {
    "save",
    "delete",
    "batch_write",
    "update_item",
    "put_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
}
_TRANSACTION_MAKERS = {"TransactWrite", "transaction"}  # core.dynamodb.transaction()

# Modules outside services and models that write, and why. Keep it short: a new entry needs a
# reason a reviewer accepts.
WRITE_EXCEPTIONS = {
    # Shared plumbing in the project package: each is the service of its own record.
    "core/audit.py": "the audit log's service (audit_record), called by services and admin",
    "core/idempotency.py": "Idempotency-Key records: claim, complete, release",
    "core/submissions.py": "the admin's one-time form claims and action sequences",
    "core/ratelimit.py": "the rate-limit counter (core.api_throttle's DRF throttle, the e-mails' limit)",
    "integrations/stripe_budget.py": "Stripe's request budget: the buckets of the limiter it is",
    "core/dynamodb.py": "defines transaction(), the helper services write through",
    # App modules that are a service by role, under another name.
    "orders/daily_totals.py": "the dashboard counters' service (daily_totals_record)",
    "staff/sessions.py": "Django's SESSION_ENGINE: save() and delete() are its interface",
    "staff/signin_guard.py": "the sign-in failure counters of the guard it implements",
    "staff/factors.py": "the second factors' service: enroll, spend a code, reset",
    # Maintenance and demo commands (never called by a request).
    "orders/management/commands/admin_indexes_backfill.py": "maintenance backfill (a Scan)",
    "payments/management/commands/seed_demo.py": "demo data; refuses to run in prod",
}


def _may_write(relative: Path) -> bool:
    parts = relative.parts
    return "services" in parts or relative.stem in {"services", "models"} or "models" in parts


def pynamodb_writes(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, call)`` for each call that writes through PynamoDB: ``save``/``delete`` and
    batch or low-level writes, ``update`` with actions (``dict.update`` has none), and making
    a transaction."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        is_update_with_actions = name == "update" and (
            any(k.arg == "actions" for k in node.keywords)
            or (node.args and isinstance(node.args[0], ast.List | ast.ListComp))
        )
        if (
            (isinstance(func, ast.Attribute) and name in _ALWAYS_WRITES)
            or is_update_with_actions
            or name in _TRANSACTION_MAKERS
        ):
            found.append((node.lineno, ast.unparse(func)))
    return found


def write_problems(root: Path, exceptions: dict[str, str]) -> list[str]:
    problems = []
    for package in packages(root):
        for path in _modules(root, package):
            relative = path.relative_to(root)
            if _may_write(relative) or relative.as_posix() in exceptions:
                continue
            problems += [
                f"{relative.as_posix()}:{line} writes ({call}): move it into a service"
                for line, call in pynamodb_writes(ast.parse(path.read_text()))
            ]
    return problems


def test_only_services_and_models_write_to_dynamodb():
    assert write_problems(ROOT, WRITE_EXCEPTIONS) == []
    stale = [name for name in WRITE_EXCEPTIONS if not (ROOT / name).exists()]
    assert stale == [], "remove exceptions for modules that no longer exist"


def test_the_write_rule_catches_writes_outside_services_and_lets_the_rest_be(tmp_path):
    root = _tree(
        tmp_path,
        {
            "orders/apis.py": (
                "def post(order, data):\n"
                "    data.update({'a': 1})\n"  # a dict: not a write
                "    order.update(actions=[Order.status.set('x')])\n"
                "    with transaction() as t:\n"
                "        t.save(order)\n"
            ),
            "orders/services/creation.py": "def f(order):\n    order.save()\n",
            "orders/models.py": "def f(order):\n    order.delete()\n",
            "payments/webhooks.py": "def f(event):\n    event.save(condition=None)\n",
            "core/ratelimit.py": "def f(counter):\n    counter.update(actions=[])\n",
            "staff/views.py": "def f(form):\n    return form.cleaned_data\n",
        },
    )

    problems = write_problems(root, {"core/ratelimit.py": "the throttle's counter"})

    assert problems == [
        "orders/apis.py:3 writes (order.update): move it into a service",
        "orders/apis.py:4 writes (transaction): move it into a service",
        "orders/apis.py:5 writes (t.save): move it into a service",
        "payments/webhooks.py:2 writes (event.save): move it into a service",
    ]
