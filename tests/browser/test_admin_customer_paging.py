"""Next on the customer list is offered only while more customers can exist (issue 14): four
customers no longer lead to a dozen empty "0 results" pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.test_admin_browser import sign_in

pytestmark = pytest.mark.usefixtures("aws")


def test_next_is_offered_only_while_customers_can_exist(aws, make_staff, new_page):
    call_command("seed_demo")  # four customers, 30 days old
    make_staff("support", "sam")
    page = new_page()
    sign_in(page, "sam")

    page.goto("/admin/orders/customer/")
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    expect(page.locator(".paginator a.next")).to_have_count(0)
    expect(page.locator(".paginator")).not_to_contain_text("stopped at its limit")

    page.goto("/admin/orders/customer/?created__gte=2020-01-01")
    expect(page.locator("#result_list tbody tr")).to_have_count(4)
    expect(page.locator(".paginator a.next")).to_have_count(0)
