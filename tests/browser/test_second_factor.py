"""The second factor in a real Chromium (issue 29): a passkey through Chromium's virtual
authenticator (WebAuthn over the DevTools protocol), and an authenticator app whose codes the
test computes from the secret the page shows, as the phone would.

The passkey tests use ``http://localhost:<port>``: a relying party id must be a domain (an IP
address is not one), and WebAuthn treats ``localhost`` over plain http as a secure context.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from staff.factors import factors_of
from tests.conftest import STAFF_PASSWORD

pytestmark = pytest.mark.usefixtures("aws")

SLOW = 30_000  # the virtual authenticator can be slow on a busy machine


@pytest.fixture
def localhost_page(chromium, live_server):
    """``localhost_page(authenticator=True)`` -> a page on http://localhost:<port> in a fresh
    context, with a virtual passkey authenticator attached when asked."""
    contexts = []
    base = live_server.replace("127.0.0.1", "localhost")

    def make(authenticator: bool = True) -> Page:
        context = chromium.new_context(base_url=base, viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(SLOW)
        contexts.append(context)
        page = context.new_page()
        if authenticator:
            cdp = context.new_cdp_session(page)
            cdp.send("WebAuthn.enable")
            cdp.send(
                "WebAuthn.addVirtualAuthenticator",
                {
                    "options": {
                        "protocol": "ctap2",
                        "transport": "internal",
                        "hasResidentKey": True,
                        "hasUserVerification": True,
                        "isUserVerified": True,
                        "automaticPresenceSimulation": True,
                    }
                },
            )
        return page

    yield make
    for context in contexts:
        context.close()


def _password(page: Page, username: str, password: str = STAFF_PASSWORD) -> None:
    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def _signed_in(page: Page, username: str) -> None:
    expect(page.locator("#site-name")).to_contain_text("TicketsToHeaven back office")
    expect(page.locator("#user-tools")).to_contain_text(username)


def test_finance_sets_up_a_passkey_at_first_sign_in_and_signs_in_with_it(
    make_staff, localhost_page, artifacts
):
    make_staff("finance", "fin", factor=False)
    page = localhost_page()

    _password(page, "fin")
    expect(page).to_have_url(re.compile(r"/admin/login/enroll/$"))
    page.screenshot(path=str(artifacts / "second-factor-enroll.png"))
    page.fill("#id_label", "Virtual key")
    page.click("#add-passkey")
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10, timeout=SLOW)
    page.click("#continue")
    _signed_in(page, "fin")
    assert [f.label for f in factors_of(username="fin") if f.sk.startswith("FACTOR#KEY#")] == [
        "Virtual key"
    ]

    # Signed out, the same browser (its authenticator holds the passkey) signs in with it.
    page.click("#logout-form button, #logout-form input[type=submit]")
    _password(page, "fin")
    expect(page).to_have_url(re.compile(r"/admin/login/factor/$"))
    page.click("#use-passkey")
    _signed_in(page, "fin")


def test_a_browser_without_the_passkey_is_not_let_in_by_another_authenticator(
    make_staff, localhost_page
):
    make_staff("admin", "ada", factor=False)
    owner = localhost_page()
    _password(owner, "ada")
    owner.click("#add-passkey")
    expect(owner.locator("#recovery-codes li")).to_have_count(10, timeout=SLOW)

    thief = localhost_page()  # the password, but another authenticator with no passkey of ada
    _password(thief, "ada")
    expect(thief).to_have_url(re.compile(r"/admin/login/factor/$"))
    thief.click("#use-passkey")
    expect(thief.locator("#passkey-status")).to_contain_text("did not answer", timeout=SLOW)
    thief.goto("/admin/")
    expect(thief).to_have_url(re.compile(r"/admin/login/"))


def test_an_authenticator_app_set_up_in_the_browser_gives_the_codes_to_sign_in(
    make_staff, new_page
):
    make_staff("admin", "ada", factor=False)
    page = new_page()
    _password(page, "ada")
    secret = page.locator("#totp-secret").inner_text().strip()
    app = pyotp.TOTP(secret)
    page.fill("#id_code", app.now())
    page.click("#totp-form input[type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    recovery = page.locator("#recovery-codes li").first.inner_text().strip()
    page.click("#continue")
    _signed_in(page, "ada")

    later = new_page()
    _password(later, "ada")
    later.fill("#id_code", "000000")
    later.click("#factor-form input[type=submit]")
    expect(later.locator(".errornote")).to_contain_text("was not accepted")
    later.fill("#id_code", app.at(time.time() + 30))  # the enrollment spent this step's code
    later.click("#factor-form input[type=submit]")
    _signed_in(later, "ada")

    lost_phone = new_page()
    _password(lost_phone, "ada")
    lost_phone.fill("#id_code", recovery)
    lost_phone.click("#factor-form input[type=submit]")
    _signed_in(lost_phone, "ada")


def test_a_member_with_an_app_adds_a_passkey_later_and_signs_in_with_it(make_staff, localhost_page):
    from tests.conftest import staff_totp_code

    make_staff("finance", "fin")  # the test app's code, enrolled
    page = localhost_page()
    _password(page, "fin")
    page.fill("#id_code", staff_totp_code("fin"))
    page.click("#factor-form input[type=submit]")
    _signed_in(page, "fin")
    page.click("#user-tools a[href='/admin/second-factor/']")
    page.fill("#id_label", "Laptop key")
    page.click("#add-passkey")
    expect(page.locator(".messagelist .success")).to_contain_text(
        "Your second factor was added", timeout=SLOW
    )
    expect(page.locator("#factors")).to_contain_text("Laptop key")

    page.click("#logout-form button, #logout-form input[type=submit]")
    _password(page, "fin")
    page.click("#use-passkey")
    _signed_in(page, "fin")
