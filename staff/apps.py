from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"
    # The staff app's admin parts (its sign-in form, its "sign out everywhere" page) are
    # plugged in from ``staff/admin.py``, which the admin imports on its first use
    # (``tickets.admin_apps``): a storefront request never loads them.
