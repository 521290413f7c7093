from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    # The orders app's admin pages (the dashboard) are plugged in from ``orders/admin.py``,
    # which the admin imports on its first use (``tickets.admin_apps``).
