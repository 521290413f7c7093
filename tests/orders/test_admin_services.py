"""The services behind the admin's edits: customers, ticket types (the capacity rule) and staff
accounts (nobody demotes or disables themselves), called directly against the emulator."""

from __future__ import annotations

import pytest
from django.test import Client

from core.dynamodb import utc_now_iso
from core.exceptions import Conflict, ValidationFailed
from orders.models import Customer, TicketType
from orders.selectors import catalog_list, customer_get, ticket_type_get
from orders.services.customers import customer_update
from orders.services.ticket_types import ticket_type_create, ticket_type_update
from staff.selectors import staff_account_get, staff_get
from staff.services import staff_password_set, staff_update
from tests.conftest import STAFF_PASSWORD
from tests.factories import order_create
from tests.factories import ticket_type_create as ticket_type_make

pytestmark = pytest.mark.usefixtures("aws")


def customer_make() -> Customer:
    now = utc_now_iso()
    customer = Customer(
        customer_id="cus_ada",
        email="ada@example.com",
        name="Ada Lovelace",
        phone="+44 20 7946 0000",
        created_at=now,
        updated_at=now,
    )
    customer.save()
    return customer


# --- customers -------------------------------------------------------------------------------


def test_a_customer_update_writes_the_changes_and_moves_the_version_on():
    customer = customer_make()

    updated = customer_update(
        customer_id="cus_ada", version=customer.version, changes={"name": "Ada King", "phone": ""}
    )

    stored = customer_get(customer_id="cus_ada", consistent=True)
    assert (stored.name, stored.phone, stored.email) == ("Ada King", None, "ada@example.com")
    assert stored.version == updated.version == customer.version + 1


def test_a_customer_update_from_a_stale_read_is_refused_and_writes_nothing():
    customer = customer_make()
    customer_update(customer_id="cus_ada", version=customer.version, changes={"name": "First"})

    with pytest.raises(Conflict):
        customer_update(customer_id="cus_ada", version=customer.version, changes={"name": "Late"})

    assert customer_get(customer_id="cus_ada", consistent=True).name == "First"


def test_a_customer_that_does_not_exist_is_not_created_by_an_update():
    with pytest.raises(Conflict):
        customer_update(customer_id="cus_nobody", version=1, changes={"name": "Ghost"})

    assert customer_get(customer_id="cus_nobody", consistent=True) is None


def test_the_e_mail_and_an_empty_name_are_refused():
    customer = customer_make()

    with pytest.raises(ValidationFailed):
        customer_update(customer_id="cus_ada", version=customer.version, changes={"email": "x@y"})
    with pytest.raises(ValidationFailed):
        customer_update(customer_id="cus_ada", version=customer.version, changes={"name": " "})

    assert customer_get(customer_id="cus_ada", consistent=True).version == customer.version


# --- ticket types ----------------------------------------------------------------------------


def test_a_new_ticket_type_starts_with_every_seat_free_and_in_the_catalog():
    created = ticket_type_create(
        sku="balcony",
        name="Balcony",
        unit_amount=7900,
        currency="USD",
        capacity=40,
        active=True,
    )

    stored = ticket_type_get(sku="balcony")
    assert (stored.capacity, stored.available, stored.currency) == (40, 40, "usd")
    assert created.sku in [t.sku for t in catalog_list()]


def test_a_second_ticket_type_with_the_same_sku_is_refused():
    ticket_type_make("ga", available=10)

    with pytest.raises(Conflict, match="exists already"):
        ticket_type_create(
            sku="ga", name="Other", unit_amount=1, currency="usd", capacity=None, active=False
        )

    assert ticket_type_get(sku="ga").available == 10


def test_a_capacity_change_moves_the_seats_left_by_the_same_amount_even_after_sales():
    ticket_type_make("ga", available=100)
    order_create(items=[("ga", 3)])  # three seats reserved (bumps the version)
    read = ticket_type_get(sku="ga")

    ticket_type_update(sku="ga", version=read.version, changes={"capacity": 120})

    after = ticket_type_get(sku="ga")
    assert (after.capacity, after.available) == (120, 117)


def test_a_capacity_below_the_seats_sold_is_refused():
    ticket_type_make("ga", available=10)
    order_create(items=[("ga", 8)])
    read = ticket_type_get(sku="ga")

    with pytest.raises(ValidationFailed, match="More seats are sold"):
        ticket_type_update(sku="ga", version=read.version, changes={"capacity": 7})

    after = ticket_type_get(sku="ga")
    assert (after.capacity, after.available) == (10, 2)


def test_a_capacity_edit_read_before_a_sale_is_refused_as_a_conflict():
    ticket_type_make("ga", available=10)
    read = ticket_type_get(sku="ga")
    order_create(items=[("ga", 8)])  # sold while the editor's page was open

    with pytest.raises(Conflict):
        ticket_type_update(sku="ga", version=read.version, changes={"capacity": 5})

    assert ticket_type_get(sku="ga").available == 2


def test_unlimited_and_limited_capacities_and_the_catalog_follow_the_edit():
    ticket_type_make("stream", available=None)

    first = ticket_type_get(sku="stream")
    ticket_type_update(
        sku="stream", version=first.version, changes={"capacity": 50, "active": False}
    )
    limited = ticket_type_get(sku="stream")
    ticket_type_update(sku="stream", version=limited.version, changes={"capacity": None})
    unlimited = ticket_type_get(sku="stream")

    assert (limited.capacity, limited.available, limited.catalog_key) == (50, 50, None)
    assert "stream" not in [t.sku for t in catalog_list()]
    assert (unlimited.capacity, unlimited.available) == (None, None)


def test_seats_left_cannot_be_edited_directly():
    ticket_type_make("ga", available=10)

    with pytest.raises(ValidationFailed):
        ticket_type_update(sku="ga", version=1, changes={"available": 500})

    assert TicketType.get("ga").available == 10


# --- staff -----------------------------------------------------------------------------------


def test_an_admin_cannot_demote_or_disable_themselves(make_staff):
    make_staff("admin", "ada")
    version = staff_account_get(username="ada").version

    for changes in ({"role": "viewer"}, {"is_active": False}):
        with pytest.raises(ValidationFailed, match="cannot take away your own admin role"):
            staff_update(username="ada", version=version, changes=changes, acting_username="ada")

    ada = staff_get(username="ada")
    assert (ada.role, ada.is_active, ada.version) == ("admin", True, version)


def test_an_admin_edits_their_own_e_mail(make_staff):
    make_staff("admin", "ada")
    version = staff_account_get(username="ada").version

    staff_update(
        username="ada", version=version, changes={"email": "ada@new.example"}, acting_username="ada"
    )

    assert staff_get(username="ada").email == "ada@new.example"


def test_another_admin_disables_an_account_and_its_sessions_end(staff_client):
    sam = staff_client("support", "sam")
    staff_client("admin", "ada")
    version = staff_account_get(username="sam").version

    staff_update(
        username="sam", version=version, changes={"is_active": False}, acting_username="ada"
    )

    assert staff_get(username="sam").is_active is False
    assert sam.get("/admin/").status_code == 302  # signed out


def test_a_staff_edit_from_a_stale_read_is_refused(make_staff):
    make_staff("support", "sam")
    version = staff_account_get(username="sam").version
    staff_update(username="sam", version=version, changes={"role": "finance"}, acting_username="a")

    with pytest.raises(Conflict):
        staff_update(
            username="sam", version=version, changes={"role": "viewer"}, acting_username="a"
        )

    assert staff_get(username="sam").role == "finance"


def test_a_new_password_replaces_the_old_one_and_ends_the_sessions(staff_client):
    sam = staff_client("support", "sam")

    ended = staff_password_set(username="sam", password="a brand new passphrase")

    assert ended == 1
    assert sam.get("/admin/").status_code == 302
    assert Client().login(username="sam", password="a brand new passphrase")
    assert not Client().login(username="sam", password=STAFF_PASSWORD)
