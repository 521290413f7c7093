from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Orders reach payments only through this one small interface (orders.payment_port).
        from orders.payment_port import payment_gateway_set
        from payments.order_gateway import StripePaymentGateway
        from payments.stripe_client import stripe_client_reset
        from tickets.snapstart import on_restore

        payment_gateway_set(StripePaymentGateway())
        on_restore(stripe_client_reset)  # a SnapStart copy builds its own Stripe client
