from typing import Any

from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"
    # The staff app's admin parts (its sign-in form, its "sign out everywhere" page) are
    # plugged in from ``staff/admin.py``, which the admin imports on its first use
    # (``tickets.admin_apps``): a storefront request never loads them.

    def ready(self) -> None:
        # Django's auth saves its user (``last_login``, a new password) through ``save()``;
        # the model hands that to its service, set here so models never imports services.
        # Resolved on the first save, not here: a storefront cold start never loads services.
        from staff.models import Staff

        def staff_write(**kwargs: Any) -> None:
            from staff.services import staff_save

            staff_save(**kwargs)

        Staff.writer = staticmethod(staff_write)
