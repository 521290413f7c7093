"""Staff roles (``staff.roles``) and what Django's admin asks of an account
(``staff.models.Staff``): roles are cumulative, only an admin manages staff, a disabled
account can do nothing. Pure: the accounts are built in memory, no server is started."""

from __future__ import annotations

import itertools

import pytest

from staff.models import Staff
from staff.roles import ROLE_CHOICES, ROLE_PERMISSIONS, Role, role_permissions

ORDER = [Role.VIEWER, Role.SUPPORT, Role.FINANCE, Role.ADMIN]


def test_each_role_can_do_everything_the_one_before_it_can_and_more():
    for lower, higher in itertools.pairwise(ORDER):
        assert ROLE_PERMISSIONS[lower] < ROLE_PERMISSIONS[higher], (lower, higher)


@pytest.mark.parametrize(
    ("permission", "lowest"),
    [
        ("orders.view_order", Role.VIEWER),
        ("orders.cancel_order", Role.SUPPORT),
        ("orders.sync_payment_order", Role.SUPPORT),
        ("orders.refund_order", Role.FINANCE),
        ("orders.change_tickettype", Role.FINANCE),
        ("staff.change_staff", Role.ADMIN),
    ],
)
def test_a_permission_starts_at_its_role(permission, lowest):
    granted = [role for role in ORDER if Staff(username="u", role=role).has_perm(permission)]

    assert granted == ORDER[ORDER.index(lowest) :]


def test_every_role_offered_in_the_form_has_permissions():
    assert [value for value, _ in ROLE_CHOICES] == [r.value for r in ORDER]
    assert all(role_permissions(value) for value, _ in ROLE_CHOICES)


def test_only_an_active_admin_is_a_superuser_and_only_an_admin_sees_the_staff_app():
    admin, finance = Staff(username="a", role="admin"), Staff(username="f", role="finance")

    assert admin.is_superuser and not finance.is_superuser
    assert admin.has_module_perms("staff") and not finance.has_module_perms("staff")
    assert finance.has_module_perms("orders")


def test_a_disabled_account_can_do_nothing():
    disabled = Staff(username="gone", role="admin", is_active=False)

    assert not disabled.is_staff and not disabled.is_superuser
    assert disabled.get_all_permissions() == set()
    assert not disabled.has_perm("orders.view_order")
    assert not disabled.has_module_perms("orders")


def test_an_unknown_role_in_a_hand_edited_item_grants_nothing():
    assert role_permissions("superadmin") == frozenset()
    assert not Staff(username="typo", role="superadmin").has_perm("orders.view_order")
