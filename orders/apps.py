from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    # The orders app's admin plug-ins (the dashboard, the vendor's health banner) are
    # registered from ``orders/admin.py``, which the admin imports on its first use
    # (``tickets.admin_apps``).

    def ready(self) -> None:
        from integrations.vendor_client import vendor_sessions_reset
        from orders.personal_data import personal_data_module_register
        from tickets.snapstart import on_restore

        on_restore(vendor_sessions_reset)  # a SnapStart copy opens its own connections
        # Where a customer's personal data is kept (export, erasure): imported on first use.
        personal_data_module_register("orders.services.personal_data")
