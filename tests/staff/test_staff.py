"""Staff accounts in DynamoDB: sign-in at /admin/, roles, sessions that can be
revoked, password change, and the createstaff command."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from staff.models import SessionRecord
from staff.services import staff_get, staff_sessions_revoke
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.usefixtures("aws")


def _csrf_login(browser: Client, username: str, password: str):
    page = browser.get("/admin/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    return browser.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token.decode()},
    )


def test_a_staff_member_signs_in_with_csrf_and_sees_the_admin_index(make_staff):
    make_staff("support", "sam")
    browser = Client(enforce_csrf_checks=True)

    response = _csrf_login(browser, "sam", STAFF_PASSWORD)

    assert response.status_code == 302
    index = browser.get("/admin/")
    assert index.status_code == 200
    assert b"TicketsToHeaven back office" in index.content
    assert b"sam" in index.content
    assert staff_get(username="sam").last_login is not None


def test_a_sign_in_without_the_csrf_token_is_refused(make_staff):
    make_staff("admin", "ada")
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/admin/login/", {"username": "ada", "password": STAFF_PASSWORD})

    assert response.status_code == 403


def test_a_wrong_password_does_not_sign_in(make_staff, client):
    make_staff("admin", "ada")

    response = client.post("/admin/login/", {"username": "ada", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter the correct username and password" in response.content
    assert client.get("/admin/").status_code == 302


def test_roles_map_to_django_permissions(make_staff):
    for role in ("viewer", "support", "finance", "admin"):
        make_staff(role)
    viewer, support, finance, admin = (
        staff_get(username=f"{r}-user") for r in ("viewer", "support", "finance", "admin")
    )

    assert viewer.has_perm("orders.view_order") and not viewer.has_perm("orders.cancel_order")
    assert support.has_perm("orders.cancel_order") and not support.has_perm("orders.refund_order")
    assert finance.has_perm("orders.refund_order") and not finance.has_perm("staff.view_staff")
    assert admin.has_perm("staff.change_staff") and admin.has_module_perms("staff")
    assert not viewer.has_module_perms("staff")


def test_the_session_lives_in_dynamodb_with_a_ttl_and_the_staff_member_on_gsi1(staff_client):
    staff_client("support", "sam")

    sessions = list(SessionRecord.gsi1.query("STAFF#sam"))

    assert len(sessions) == 1
    assert sessions[0].expires_at is not None


def test_sign_out_everywhere_ends_every_session(staff_client):
    laptop = staff_client("support", "sam")
    phone = Client()
    phone.post("/admin/login/", {"username": "sam", "password": STAFF_PASSWORD})
    assert phone.get("/admin/").status_code == 200

    laptop.post("/admin/sign-out-everywhere/")

    assert phone.get("/admin/").status_code == 302
    assert laptop.get("/admin/").status_code == 302


def test_disabling_an_account_ends_its_sessions_at_once(staff_client):
    browser = staff_client("support", "sam")
    staff = staff_get(username="sam")

    staff.is_active = False
    staff.save()

    assert browser.get("/admin/").status_code == 302
    assert list(SessionRecord.gsi1.query("STAFF#sam")) == []
    assert staff_sessions_revoke(username="sam") == 0


def test_a_password_change_through_djangos_view_keeps_this_session_and_ends_the_old_password(
    staff_client,
):
    browser = staff_client("viewer", "vic")
    new_password = "a much longer new passphrase"

    response = browser.post(
        "/admin/password_change/",
        {
            "old_password": STAFF_PASSWORD,
            "new_password1": new_password,
            "new_password2": new_password,
        },
    )

    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200
    assert staff_get(username="vic").check_password(new_password)
    assert not Client().login(username="vic", password=STAFF_PASSWORD)


def test_createstaff_with_flags_and_the_password_from_stdin(aws, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    out = io.StringIO()

    call_command(
        "createstaff",
        "--username=fin",
        "--email=fin@staff.example",
        "--role=finance",
        "--password-stdin",
        stdout=out,
    )

    staff = staff_get(username="fin")
    assert "created staff account 'fin' with role finance" in out.getvalue()
    assert staff.role == "finance" and staff.check_password("a long enough password")
    assert "a long enough password" not in out.getvalue()


def test_createstaff_refuses_a_taken_username_and_a_weak_password(make_staff):
    make_staff("admin", "ada")

    with pytest.raises(CommandError, match="exists already"):
        call_command(
            "createstaff", "--username=ada", "--role=admin", "--password=another long password"
        )
    with pytest.raises(CommandError, match="too short"):
        call_command("createstaff", "--username=bob", "--role=viewer", "--password=short")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_createstaff_asks_for_what_is_missing_when_run_at_a_terminal(aws, monkeypatch):
    answers = iter(["ines", "ines@staff.example", "auditor", "support"])
    passwords = iter(
        ["first try passphrase", "typo passphrase", "a good passphrase", "a good passphrase"]
    )
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(passwords))
    out, err = io.StringIO(), io.StringIO()

    call_command("createstaff", stdout=out, stderr=err)

    staff = staff_get(username="ines")
    assert staff.role == "support" and staff.email == "ines@staff.example"
    assert staff.check_password("a good passphrase")
    assert "The passwords differ" in err.getvalue()


@pytest.mark.parametrize(
    "unsafe", ["//evil.example/", "javascript:alert(1)", "https://evil.example/admin/", "///x"]
)
@pytest.mark.parametrize("role", ["support", "admin"])  # without and with the second step
def test_an_unsafe_next_lands_on_the_admin_index(make_staff, unsafe, role):
    """Issue 29, F5: an unsafe ``next`` went to /accounts/profile/, a 404."""
    from urllib.parse import quote

    from tests.conftest import staff_sign_in

    make_staff(role, "sam")
    browser = Client()

    answer = staff_sign_in(browser, "sam", next_url=quote(unsafe, safe=""))

    assert answer.status_code == 302 and answer["Location"] == "/admin/"
    assert browser.get(answer["Location"]).status_code == 200


def test_a_safe_next_is_followed_after_the_second_step(make_staff):
    from tests.conftest import staff_sign_in

    make_staff("finance", "fin")
    answer = staff_sign_in(Client(), "fin", next_url="/admin/orders/order/%3Fstatus%3Dpaid")
    assert answer["Location"] == "/admin/orders/order/?status=paid"
