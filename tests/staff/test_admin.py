"""Staff accounts managed from the admin: creating one, ending someone's sessions, audit."""

from __future__ import annotations

import pytest
from django.test import Client

from core.audit import audit_history
from staff.services import staff_get
from tests.admin_forms import act, edit, edit_form
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.usefixtures("aws")


def test_an_admin_creates_a_staff_account_who_can_then_sign_in(staff_client):
    admin = staff_client("admin", "ada")

    response = admin.post(
        "/admin/staff/staff/add/",
        {
            "username": "newbie",
            "email": "newbie@staff.example",
            "role": "support",
            "password": "a perfectly long passphrase",
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    assert staff_get(username="newbie").role == "support"
    assert Client().login(username="newbie", password="a perfectly long passphrase")
    history = audit_history(object_type="staff.staff", object_id="newbie")
    assert [(e.staff, e.action) for e in history] == [("ada", "add")]
    assert "password" not in history[0].after


def test_a_weak_password_is_refused_when_an_admin_creates_an_account(staff_client):
    admin = staff_client("admin", "ada")

    response = admin.post(
        "/admin/staff/staff/add/",
        {"username": "weak", "role": "viewer", "password": "123", "is_active": "on"},
    )

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert staff_get(username="weak") is None


def test_an_admin_ends_another_staff_members_sessions(staff_client):
    sam = staff_client("support", "sam")
    admin = staff_client("admin", "ada")

    page = act(admin, "/admin/staff/staff/sam/", "sign_out", follow=True).content.decode()

    assert "Ended 1 session(s) of sam" in page
    assert sam.get("/admin/").status_code == 302
    assert admin.get("/admin/").status_code == 200


def test_two_admins_editing_one_account_the_second_is_told(staff_client):
    make = staff_client("support", "sam")  # noqa: F841 - the account being edited
    first = staff_client("admin", "ada")
    second = staff_client("admin", "bob")
    first_form = edit_form(first, "/admin/staff/staff/sam/")
    second_form = edit_form(second, "/admin/staff/staff/sam/")

    ok = first.post(
        "/admin/staff/staff/sam/change/",
        {**first_form, "email": "sam@new.example", "role": "finance", "is_active": "on"},
    )
    late = second.post(
        "/admin/staff/staff/sam/change/",
        {**second_form, "email": "sam@other.example", "role": "viewer", "is_active": "on"},
        follow=True,
    )

    assert ok.status_code == 302
    told = late.content.decode()
    assert "was changed by someone else since you opened the page" in told
    assert "ada ran “Change”" in told and "Changed email, role" in told  # who, and what
    assert staff_get(username="sam").role == "finance"
    assert Client().login(username="sam", password=STAFF_PASSWORD)


def test_an_admin_cannot_demote_or_disable_themselves(staff_client):
    admin = staff_client("admin", "ada")

    response = edit(
        admin,
        "/admin/staff/staff/ada/",
        {"email": "ada@staff.example", "role": "viewer", "is_active": "on"},
    )

    assert "cannot take away your own admin role" in response.content.decode()
    assert staff_get(username="ada").role == "admin"


def test_an_admin_sets_a_forgotten_password_and_the_old_sessions_end(staff_client):
    sam = staff_client("support", "sam")
    admin = staff_client("admin", "ada")

    page = act(
        admin,
        "/admin/staff/staff/sam/",
        "set_password",
        {"new_password": "a brand new passphrase"},
        follow=True,
    ).content.decode()

    assert "Set a new password for sam" in page
    assert sam.get("/admin/").status_code == 302
    assert Client().login(username="sam", password="a brand new passphrase")
    assert not Client().login(username="sam", password=STAFF_PASSWORD)
