"""The second factor (issue 29): required per role, enrolled at the first sign-in after it
becomes required, a TOTP code or a recovery code counts once, and an admin's reset."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.test import Client

from staff.models import SessionRecord
from staff.services import staff_account_get, staff_get
from tests.admin_forms import act, edit
from tests.conftest import STAFF_PASSWORD, staff_totp_code

pytestmark = pytest.mark.usefixtures("aws")


def _password(browser: Client, username: str, password: str = STAFF_PASSWORD):
    return browser.post(
        "/admin/login/?next=/admin/orders/order/", {"username": username, "password": password}
    )


def _enroll_with_app(browser: Client) -> tuple[str, list[str]]:
    """Go through the enrollment page with an authenticator app: (its secret, the recovery
    codes shown)."""
    page = browser.get("/admin/login/enroll/").content.decode()
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    assert "otpauth://totp/" in page
    shown = browser.post("/admin/login/enroll/", {"code": pyotp.TOTP(secret).now()})
    assert shown.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", shown.content.decode())
    return secret, codes


def test_finance_enrolls_an_app_at_the_first_sign_in_and_is_asked_for_it_next_time(make_staff):
    make_staff("finance", "fin", factor=False)
    browser = Client()

    answer = _password(browser, "fin")
    assert answer["Location"] == "/admin/login/enroll/"
    assert browser.get("/admin/").status_code == 302  # not signed in before the factor
    secret, codes = _enroll_with_app(browser)

    assert len(codes) == 10 and len(set(codes)) == 10
    assert browser.get("/admin/").status_code == 200
    from core.audit import audit_entries_of

    (added,) = [e for e in audit_entries_of(object_type="staff.staff", object_id="fin")]
    assert added.summary == "fin added a second factor: an authenticator app."
    assert secret not in str(vars(added))
    later = Client()
    assert _password(later, "fin")["Location"] == "/admin/login/factor/"
    later.get("/admin/login/factor/")
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the enrollment spent this step's
    done = later.post("/admin/login/factor/", {"code": code})
    assert done.status_code == 302 and done["Location"] == "/admin/orders/order/"
    assert later.get("/admin/").status_code == 200


def test_a_totp_code_counts_once(make_staff):
    make_staff("admin", "ada")
    code = staff_totp_code("ada")
    first, second = Client(), Client()
    for browser in (first, second):
        _password(browser, "ada")
        browser.get("/admin/login/factor/")

    assert first.post("/admin/login/factor/", {"code": code}).status_code == 302
    replay = second.post("/admin/login/factor/", {"code": code})
    assert "was not accepted" in replay.content.decode()
    assert second.get("/admin/").status_code == 302


def test_a_recovery_code_signs_in_once(make_staff):
    make_staff("finance", "fin", factor=False)
    enrolling = Client()
    _password(enrolling, "fin")
    _, codes = _enroll_with_app(enrolling)

    lost_phone = Client()
    _password(lost_phone, "fin")
    lost_phone.get("/admin/login/factor/")
    assert lost_phone.post("/admin/login/factor/", {"code": codes[3].upper()}).status_code == 302
    again = Client()
    _password(again, "fin")
    again.get("/admin/login/factor/")
    assert (
        "was not accepted"
        in again.post("/admin/login/factor/", {"code": codes[3]}).content.decode()
    )


def test_a_support_member_needs_no_factor_until_promoted_to_finance(make_staff, staff_client):
    make_staff("support", "sam")
    assert _password(Client(), "sam")["Location"] == "/admin/orders/order/"

    admin = staff_client("admin", "ada")
    edit(
        admin,
        "/admin/staff/staff/sam/",
        {"email": "sam@staff.example", "role": "finance", "is_active": "on"},
    )
    assert staff_get(username="sam").role == "finance"
    assert _password(Client(), "sam")["Location"] == "/admin/login/enroll/"


def test_too_many_wrong_codes_end_the_second_step(make_staff):
    make_staff("admin", "ada")
    browser = Client()
    _password(browser, "ada")
    browser.get("/admin/login/factor/")
    for n in range(5):
        browser.post("/admin/login/factor/", {"code": f"12345{n}"})

    gone = browser.post("/admin/login/factor/", {"code": staff_totp_code("ada")})
    assert gone.status_code == 302 and gone["Location"] == "/admin/login/"
    assert browser.get("/admin/").status_code == 302


def test_an_admin_resets_a_colleagues_factor_audited_and_their_sessions_end(
    make_staff, staff_client
):
    colleague = staff_client("finance", "fin")
    admin = staff_client("admin", "ada")
    page = admin.get("/admin/staff/staff/fin/change/").content.decode()
    assert "an authenticator app" in page and "Reset second factor" in page

    done = act(admin, "/admin/staff/staff/fin/", "reset_factors", follow=True).content.decode()

    assert "Reset the second factor of fin" in done
    assert colleague.get("/admin/").status_code == 302
    assert list(SessionRecord.gsi1.query("STAFF#fin")) == []
    history = admin.get("/admin/staff/staff/fin/history/").content.decode()
    assert "Reset the second factor of fin" in history and "ada" in history
    assert _password(Client(), "fin")["Location"] == "/admin/login/enroll/"


def test_a_viewer_cannot_reset_factors(make_staff, staff_client):
    make_staff("finance", "fin")
    viewer = staff_client("viewer", "vic")
    version = staff_account_get(username="fin").version
    viewer.post("/admin/staff/staff/fin/action/reset_factors/", {"_version": version})
    assert _password(Client(), "fin")["Location"] == "/admin/login/factor/"


def test_the_second_step_without_a_password_first_goes_back_to_sign_in(client):
    assert client.get("/admin/login/factor/")["Location"] == "/admin/login/"
    assert client.post("/admin/login/enroll/", {"code": "123456"})["Location"] == "/admin/login/"


def test_a_support_member_opts_in_to_an_app_from_the_second_factor_page(staff_client):
    browser = staff_client("support", "sam")
    page = browser.get("/admin/second-factor/").content.decode()
    assert "You sign in with your password alone" in page
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)

    added = browser.post(
        "/admin/second-factor/", {"action": "totp", "code": pyotp.TOTP(secret).now()}
    ).content.decode()

    assert "Your second factor was added" in added
    assert len(re.findall(r"<li><code>[a-z2-7-]+</code></li>", added)) == 10
    assert _password(Client(), "sam")["Location"] == "/admin/login/factor/"
    renewed = browser.post("/admin/second-factor/", {"action": "recovery"}).content.decode()
    assert "Your new recovery codes" in renewed


def test_a_wrong_code_adds_no_app(staff_client):
    browser = staff_client("support", "sam")
    browser.get("/admin/second-factor/")
    refused = browser.post("/admin/second-factor/", {"action": "totp", "code": "000000"})
    assert "That did not work" in refused.content.decode()
    assert _password(Client(), "sam")["Location"] == "/admin/orders/order/"
