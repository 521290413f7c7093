from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    # The orders app's admin plug-ins (the dashboard, the vendor's health banner) are
    # registered from ``orders/admin.py``, which the admin imports on its first use
    # (``tickets.admin_apps``).

    def ready(self) -> None:
        from integrations.vendor_client import vendor_sessions_reset
        from tickets.snapstart import on_restore

        on_restore(vendor_sessions_reset)  # a SnapStart copy opens its own connections
