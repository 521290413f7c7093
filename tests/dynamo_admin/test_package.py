"""dynamo_admin as a package of its own: no project code in it, no table writes, its hooks
(audit sink, settings) work, and another Django project can use it with its own models."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from core.audit import audit_history
from orders.models import Customer
from tests.admin_forms import edit

pytestmark = pytest.mark.usefixtures("aws")

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "dynamo_admin"
PROJECT_PACKAGES = {
    "tickets",
    "core",
    "integrations",
    "orders",
    "payments",
    "staff",
    "devstack",
    "deploy",
    "bench",
    "tests",
}
# Calls that write a table (PynamoDB models, indexes, connections, transactions).
WRITES = {"save", "delete", "batch_write", "update_item", "put_item", "delete_item", "commit"}


def _modules(*paths: Path) -> list[Path]:
    return sorted(p for path in paths for p in ([path] if path.is_file() else path.rglob("*.py")))


def _imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _writes(path: Path) -> list[str]:
    """``x.save(...)``, ``x.delete(...)``, ``x.update(actions=...)``, ``TransactWrite(...)``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        keywords = {k.arg for k in node.keywords}
        if (
            name in WRITES
            or name == "TransactWrite"
            or (name == "update" and "actions" in keywords)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_the_package_imports_none_of_the_projects_packages():
    for path in _modules(PACKAGE):
        imported = _imported_top_levels(path)
        allowed = {"dynamo_admin", "django", "pynamodb"} | set(sys.stdlib_module_names)
        assert imported <= allowed, (path.name, imported - allowed)
        assert not imported & PROJECT_PACKAGES


def test_neither_the_package_nor_the_admin_modules_write_a_table():
    admin_modules = _modules(
        PACKAGE,
        ROOT / "orders" / "admin.py",
        ROOT / "orders" / "admin_dashboard.py",
        ROOT / "orders" / "admin_export.py",
        ROOT / "payments" / "admin.py",
        ROOT / "staff" / "admin.py",
        ROOT / "tickets" / "admin_site.py",
        ROOT / "tickets" / "admin_views.py",
    )

    assert [w for path in admin_modules for w in _writes(path)] == []


def test_the_readme_names_every_setting_the_package_reads():
    readme = (PACKAGE / "README.md").read_text()
    used = {
        name
        for path in _modules(PACKAGE)
        for name in re.findall(r"\bDYNAMO_ADMIN_[A-Z_]+\b", path.read_text())
    }

    assert used >= {"DYNAMO_ADMIN_PAGE_SIZE", "DYNAMO_ADMIN_AUDIT_SINK"}
    assert {name for name in used if name not in readme} == set()


class MemorySink:
    """An audit sink a project might write, keeping entries in memory (this test's own)."""

    records: list[dict] = []

    def record(self, **entry) -> None:
        MemorySink.records.append(entry)

    def history(self, *, object_type: str, object_id: str, limit: int) -> list:
        from datetime import UTC, datetime

        from dynamo_admin.audit import AuditEntry

        return [
            AuditEntry(at=datetime.now(UTC), **r)
            for r in MemorySink.records
            if (r["object_type"], r["object_id"]) == (object_type, object_id)
        ][:limit]

    def recent(self, *, user: str, limit: int) -> list:
        return []


def test_the_audit_sink_named_in_settings_records_each_change(staff_client):
    call_command("seed_demo")
    customer = next(iter(Customer.email_index.query("ada@example.com")))
    support = staff_client("support", "sam")
    MemorySink.records = []

    with override_settings(DYNAMO_ADMIN_AUDIT_SINK=f"{__name__}.MemorySink"):
        edit(
            support,
            f"/admin/orders/customer/{customer.customer_id}/",
            {"name": "Ada King", "phone": customer.phone},
        )
        history = support.get(f"/admin/orders/customer/{customer.customer_id}/history/")

    assert [(r["user"], r["action"], r["after"]) for r in MemorySink.records] == [
        ("sam", "change", {"name": "Ada King"})
    ]
    assert MemorySink.records[0]["before"] == {"name": "Ada Lovelace"}
    assert "Ada King" in history.content.decode()
    # The project's own sink (core.audit) did not see it: the setting decides.
    assert audit_history(object_type="orders.customer", object_id=customer.customer_id) == []


def test_a_site_given_a_sink_in_its_constructor_uses_it_over_the_setting():
    from dynamo_admin.sites import DynamoAdminSite

    sink = MemorySink()
    site = DynamoAdminSite(name="elsewhere", audit_sink=sink)

    assert site.audit_sink is sink
    assert type(DynamoAdminSite(name="default").audit_sink).__name__ == "BackOfficeAuditSink"


def test_partition_read_queries_one_partition_in_its_bounds_and_direction():
    from dynamo_admin.paging import ListSource, Partition, Window, partition_read
    from orders.models import ORDERS_BY_STATUS, Order
    from tests.orders.test_admin import make_order

    orders = [make_order(hours_ago=h, status="paid") for h in (1, 2, 3, 4)]
    paid = ListSource(
        partitions=[Partition(ORDERS_BY_STATUS, "paid")], sort_attribute=Order.created_at
    )
    bounded = Window(True, True, low=orders[2].created_at, high=orders[1].created_at)

    newest = partition_read(paid.partitions[0], paid, bounded, limit=5)
    oldest = partition_read(paid.partitions[0], paid, Window(True, False), limit=1)

    assert [o.order_id for o in newest] == [orders[1].order_id, orders[2].order_id]
    assert [o.order_id for o in oldest] == [orders[3].order_id]


# --- lifted out: another Django project, its own PynamoDB model --------------------------------

OTHER_SETTINGS = """
SECRET_KEY = "another project"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "library.urls"
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "dynamo_admin", "library",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
STATIC_URL = "/static/"
USE_TZ = True
DYNAMO_ADMIN_PAGE_SIZE = 2
DYNAMO_ADMIN_AUDIT_SINK = "library.admin.PrintSink"
"""

OTHER_MODELS = """
import os
from pynamodb.attributes import UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

class Meta:
    host = os.environ["AWS_ENDPOINT_URL"]
    region = os.environ["AWS_REGION"]
    billing_mode = "PAY_PER_REQUEST"

class ShelfIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "shelf-index"
        projection = AllProjection()
    shelf = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute(range_key=True)

class Book(Model):
    class Meta(Meta):
        table_name = "library-books"
    isbn = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    shelf = UnicodeAttribute(default="all")
    version = VersionAttribute()
    shelf_index = ShelfIndex()
"""

OTHER_ADMIN = """
from django.contrib import admin
from django import forms
from dynamo_admin.declarations import Column
from dynamo_admin.options import DynamoModelAdmin
from dynamo_admin.paging import ListSource, Partition
from dynamo_admin.shapes import dynamo_shape
from library.models import Book

class PrintSink:
    def record(self, **entry):
        print("AUDIT", entry["user"], entry["action"], entry["after"])
    def history(self, **kwargs):
        return []
    def recent(self, **kwargs):
        return []

class BookForm(forms.Form):
    title = forms.CharField()

def book_retitle(*, isbn, version, title):  # the project's service
    book = Book(isbn=isbn, version=version)
    book.update(actions=[Book.title.set(title)])
    return book

class BookAdmin(DynamoModelAdmin):
    list_columns = [Column("title", "Title", link=True), Column("isbn", "ISBN")]
    list_order_label = "by title"
    form_class = BookForm

    def list_source(self, request, filters):
        return ListSource([Partition(Book.shelf_index, "all")], Book.title, descending=False)
    def item_get(self, object_id):
        try:
            return Book.get(object_id, consistent_read=True)
        except Book.DoesNotExist:
            return None
    def item_key(self, item):
        return item.isbn
    def item_sort_value(self, item):
        return item.title
    def item_save(self, request, item, version, changed):
        return book_retitle(isbn=item.isbn, version=version, title=changed["title"])

admin.site.register(dynamo_shape(app_label="library", name="Book", key="isbn"), BookAdmin)
"""

OTHER_RUN = """
import re, django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from library.models import Book

call_command("migrate", verbosity=0)
Book.create_table(wait=True)
for isbn, title in [("1", "Dune"), ("2", "Emma"), ("3", "Ulysses")]:
    Book(isbn=isbn, title=title).save()
client = Client()
client.force_login(User.objects.create_superuser("lib", "lib@example.com", "pw"))
first = client.get("/admin/library/book/").content.decode()
following = re.search(r'href="([^"]+)" class="next"', first).group(1).replace("&amp;", "&")
second = client.get("/admin/library/book/" + following).content.decode()
page = client.get("/admin/library/book/2/change/").content.decode()
token = re.search(r'name="_once" value="([^"]+)"', page).group(1)
tokenless = client.post("/admin/library/book/2/change/", {"title": "Forged", "_version": 1})
print("TOKENLESS", Book.get("2").title)
saved = client.post(
    "/admin/library/book/2/change/", {"title": "Emma (1815)", "_version": 1, "_once": token}
)
print("FIRST", re.findall(r'/admin/library/book/(\\d)/change/', first))
print("SECOND", re.findall(r'/admin/library/book/(\\d)/change/', second))
print("SAVED", saved.status_code, Book.get("2").title)
"""


def test_another_django_project_lists_and_edits_its_own_models(tmp_path, local_stack):
    project = tmp_path / "other"
    shutil.copytree(PACKAGE, project / "dynamo_admin", ignore=shutil.ignore_patterns("__pycache__"))
    library = project / "library"
    library.mkdir()
    (library / "__init__.py").write_text("")
    (library / "settings.py").write_text(OTHER_SETTINGS)
    (library / "models.py").write_text(OTHER_MODELS)
    (library / "admin.py").write_text(OTHER_ADMIN)
    (library / "urls.py").write_text(
        "from django.contrib import admin\nfrom django.urls import path\n"
        'urlpatterns = [path("admin/", admin.site.urls)]\n'
    )
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(project),  # the lifted copy only: none of this project's packages
        "DJANGO_SETTINGS_MODULE": "library.settings",
        **{k: v for k, v in local_stack.environment().items() if k.startswith("AWS_")},
    }

    done = subprocess.run(
        [sys.executable, "-c", OTHER_RUN],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "FIRST ['1', '2']" in done.stdout  # A-Z by title, two a page
    assert "SECOND ['3']" in done.stdout
    assert "TOKENLESS Emma" in done.stdout  # a form without its one-time token saves nothing
    assert "SAVED 302 Emma (1815)" in done.stdout
    assert "AUDIT lib change {'title': 'Emma (1815)'}" in done.stdout


def test_adding_a_declaration_twice_keeps_one():
    from dynamo_admin.declarations import RelatedList, declaration_insert

    first, second = RelatedList("A", [], list), RelatedList("B", [], list)
    again = RelatedList("B", ["x"], list)

    once = declaration_insert([first], second, before=None)
    twice = declaration_insert(once, again, before="A")

    assert [r.title for r in once] == ["A", "B"]
    assert [(r.title, r.columns) for r in twice] == [("B", ["x"]), ("A", [])]


def test_an_app_extends_another_apps_admin_without_changing_its_class():
    """payments adds its lists, searches and actions to the order admin through an extension
    registered for "orders.order": the order admin's class keeps only its own declarations,
    and its pages show both (refund and sync first, as registered)."""
    from django.contrib import admin

    from orders.admin import OrderAdmin
    from tickets.admin_site import admin_modules_load

    admin_modules_load()
    order_admin = next(a for a in admin.site._registry.values() if isinstance(a, OrderAdmin))

    assert "refund" not in [a.name for a in OrderAdmin.object_actions]
    assert "Payments" not in [r.title for r in OrderAdmin.related_lists]
    assert [a.name for a in order_admin.get_object_actions()] == [
        "refund", "sync_payment", "cancel", "retry_fulfillment", "void_retry", "void_accept",
        "change_contact", "resend_confirmation", "resend_tickets", "add_note",
    ]  # fmt: skip
    assert [r.title for r in order_admin.get_related_lists()] == [
        "Items", "Customer", "Payments", "Refunds", "Fulfillment attempts", "Tickets",
        "E-mails to the buyer", "Timeline",
    ]  # fmt: skip
    searches = [s.title for s in order_admin.get_search_fields()]
    assert searches[-2:] == ["PaymentIntent id", "charge id"]
