from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    # The admin's plug-ins (health banners, the needs-attention queue) register in
    # payments/admin.py, which the admin imports on its first use (``tickets.admin_apps``).

    def ready(self) -> None:
        # Orders reach payments only through this one small interface (orders.payment_port).
        from orders.payment_port import payment_gateway_set
        from orders.timeline import timeline_source_register
        from payments.order_gateway import StripePaymentGateway
        from payments.selectors import order_payment_events
        from payments.stripe_client import stripe_client_reset
        from tickets.snapstart import on_restore

        payment_gateway_set(StripePaymentGateway())
        on_restore(stripe_client_reset)  # a SnapStart copy builds its own Stripe client
        # An order's timeline shows its payment attempts and refunds (orders.timeline).
        timeline_source_register(order_payment_events)
