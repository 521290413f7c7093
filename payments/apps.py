from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # Orders reach payments only through this one small interface (orders.payment_port).
        from orders.payment_port import payment_gateway_set
        from payments.order_gateway import StripePaymentGateway

        payment_gateway_set(StripePaymentGateway())
        # An order's timeline shows its payment attempts and refunds (orders.timeline).
        from orders.timeline import timeline_source_register
        from payments.selectors import order_payment_events

        timeline_source_register(order_payment_events)
