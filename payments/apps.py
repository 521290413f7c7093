from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Orders reach payments only through this one small interface (orders.payment_port).
        from orders.payment_port import payment_gateway_set
        from payments.order_gateway import StripePaymentGateway

        payment_gateway_set(StripePaymentGateway())

        # Stripe's health banners on the admin index and dashboard.
        from payments.selectors import integration_banners
        from tickets.health import health_source_register

        health_source_register(integration_banners)

        # The needs-attention queue (its actions reach both apps, so it lives here).
        from payments.admin_attention import site_urls
        from tickets.admin_views import site_urls_register

        site_urls_register(site_urls)

        # An order's timeline shows its payment attempts and refunds (orders.timeline).
        from orders.timeline import timeline_source_register
        from payments.selectors import order_payment_events

        timeline_source_register(order_payment_events)
