from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class _StripeGatewayOnFirstUse:
    """The payments app's ``StripePaymentGateway``, imported when orders first need it: the
    gateway pulls in the Stripe client, the payment records and the sync service, which no
    catalog, health or admin login request uses (~20 ms of every other cold start)."""

    _gateway: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._gateway is None:
            from payments.order_gateway import StripePaymentGateway

            self._gateway = StripePaymentGateway()
        return getattr(self._gateway, name)


def _order_payment_events(order: Any) -> list[Any]:
    from payments.selectors import order_payment_events

    return order_payment_events(order)


def _stripe_unavailable() -> None:
    from payments.services import health

    health.stripe_call_failed()


def _stripe_answered() -> None:
    from payments.services import health

    health.stripe_call_succeeded()


def _stripe_client_reset() -> None:
    from integrations.stripe_client import stripe_client_reset

    stripe_client_reset()


class PaymentsConfig(AppConfig):
    name = "payments"
    # The admin's plug-ins (health banners, the needs-attention queue) register in
    # payments/admin.py, which the admin imports on its first use (``tickets.admin_apps``).

    def ready(self) -> None:
        # Orders reach payments only through this one small interface (orders.payment_port).
        from integrations.stripe_client import AnswerWatcher, answers_watch
        from orders.payment_port import payment_gateway_set
        from orders.personal_data import personal_data_module_register
        from orders.timeline import timeline_source_register
        from tickets.snapstart import on_restore

        payment_gateway_set(_StripeGatewayOnFirstUse())  # type: ignore[arg-type]
        on_restore(_stripe_client_reset)  # a SnapStart copy builds its own Stripe client
        # Whether Stripe answers feeds the admin's health banner (a write only on failure,
        # and on the first success after one).
        answers_watch(AnswerWatcher(unavailable=_stripe_unavailable, answered=_stripe_answered))
        # An order's timeline shows its payment attempts and refunds (orders.timeline).
        timeline_source_register(_order_payment_events)
        # A customer's payments, Stripe metadata and events are personal data sources.
        personal_data_module_register("payments.services.personal_data")
