from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # The project package imports no app: the orders app plugs its admin pages in.
        from orders.site_urls import site_urls
        from tickets.admin_views import site_urls_register

        site_urls_register(site_urls)

        from orders.services.fulfillment import breaker_banners
        from tickets.health import health_source_register

        health_source_register(breaker_banners)
