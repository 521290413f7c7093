"""New staff accounts start inactive and their owner is told why they cannot sign in; an admin
can unlock an account held by a sign-in delay (issue 14)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect

from tests.browser.test_admin_browser import sign_in
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.usefixtures("aws")

NEW_PASSWORD = "a long new passphrase 42"
WRONG = "Please enter the correct username and password"


def _try(page: Page, username: str, password: str) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def test_a_new_account_is_inactive_and_its_owner_is_told_so(make_staff, new_page):
    make_staff("admin", "ada")
    admin = new_page()
    sign_in(admin, "ada")
    admin.goto("/admin/staff/staff/add/")
    expect(admin.locator("#id_is_active")).not_to_be_checked()
    admin.fill("#id_username", "newbie")
    admin.fill("#id_email", "newbie@staff.example")
    admin.select_option("#id_role", "support")
    admin.fill("#id_password", NEW_PASSWORD)
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist .success")).to_contain_text("was added successfully")

    owner = new_page()
    _try(owner, "newbie", "not the password")
    expect(owner.locator(".errornote")).to_contain_text(WRONG)  # no hint without the password
    _try(owner, "newbie", NEW_PASSWORD)
    expect(owner.locator(".errornote")).to_contain_text("This account is not active yet")
    expect(owner.locator(".errornote")).not_to_contain_text(WRONG)
    _try(owner, "nobody", NEW_PASSWORD)
    expect(owner.locator(".errornote")).to_contain_text(WRONG)

    admin.goto("/admin/staff/staff/newbie/change/")
    admin.check("#id_is_active")
    admin.click("input[name=_save]")
    expect(admin.locator(".messagelist .success")).to_contain_text("was changed successfully")
    _try(owner, "newbie", NEW_PASSWORD)
    expect(owner.locator("#site-name")).to_contain_text("TicketsToHeaven back office")
    expect(owner.locator("#user-tools")).to_contain_text("newbie")


@override_settings(STAFF_SIGNIN_BASE_DELAY_SECONDS=600)
def test_unlock_lets_a_staff_member_held_by_a_delay_sign_in_again(make_staff, new_page):
    make_staff("admin", "ada")
    make_staff("support", "sam")
    admin = new_page()
    sign_in(admin, "ada")

    sam = new_page()
    for _ in range(6):
        _try(sam, "sam", "mistyped")
    expect(sam.locator(".errornote")).to_contain_text("Too many failed sign-ins")
    _try(sam, "sam", STAFF_PASSWORD)
    expect(sam.locator(".errornote")).to_contain_text("Too many failed sign-ins")

    admin.goto("/admin/staff/staff/sam/change/")
    expect(admin.locator("#content-main")).to_contain_text("Failed sign-ins (last hour)")
    admin.click("#action-unlock input[type=submit]")
    expect(admin.locator(".messagelist .success")).to_contain_text("Forgot the failed sign-ins")
    # The delay was the address's (all of this test's browsers share 127.0.0.1, as an
    # attacker behind the same NAT would): Unlock does not lift it for everyone there, the
    # one-time link frees the browser that opens it (issue 29, F7).
    link = admin.locator(".messagelist .info").inner_text().rsplit(": ", 1)[1].strip()
    _try(sam, "sam", STAFF_PASSWORD)
    expect(sam.locator(".errornote")).to_contain_text("Too many failed sign-ins")
    sam.goto(link)
    sam.click("#unlock")
    expect(sam.locator(".messagelist .success")).to_contain_text("This browser can sign in as sam")

    _try(sam, "sam", STAFF_PASSWORD)
    expect(sam.locator("#site-name")).to_contain_text("TicketsToHeaven back office")
    expect(sam.locator("#user-tools")).to_contain_text("sam")
