"""The payments side of ``orders.payment_port``: what order services need from payments, done
with Stripe (``integrations.stripe_client``) and the payment records
(``payments.services.records``). Plugged in by ``PaymentsConfig.ready``.

This module decides nothing about orders; it turns Stripe's answers into the port's small
vocabulary (``PaymentStarted``, ``PaymentRefused``, ``PaymentMoving``, ``PaymentTaken``).
"""

from __future__ import annotations

import logging

from pynamodb.transactions import TransactWrite

from integrations import stripe_client
from orders.payment_port import PaymentMoving, PaymentRefused, PaymentStarted, PaymentTaken
from payments.services import health, records

logger = logging.getLogger(__name__)


class StripePaymentGateway:
    def payment_start(self, *, order_id: str, amount: int, currency: str) -> PaymentStarted:
        try:
            intent = stripe_client.payment_intent_create(
                order_id=order_id,
                amount=amount,
                currency=currency,
                idempotency_key=f"order:{order_id}",
            )
        except stripe_client.PaymentProviderError as error:
            raise PaymentRefused(str(error)) from None
        return PaymentStarted(intent.id, intent.client_secret or "", intent.status)

    def payment_record_new(
        self,
        writes: TransactWrite,
        *,
        order_id: str,
        started: PaymentStarted,
        amount: int,
        currency: str,
        at: str,
    ) -> None:
        records.payment_record_new(
            writes,
            payment_intent_id=started.payment_intent_id,
            order_id=order_id,
            status=started.status,
            amount=amount,
            currency=currency,
            at=at,
        )

    def payment_client_secret(self, *, payment_intent_id: str) -> str:
        intent = stripe_client.payment_intent_retrieve(payment_intent_id=payment_intent_id)
        return intent.client_secret or ""

    def payment_abandon(self, *, order_id: str, payment_intent_id: str) -> None:
        try:
            stripe_client.payment_intent_cancel(
                payment_intent_id=payment_intent_id, idempotency_key=f"abandon:{order_id}"
            )
        except (stripe_client.PaymentProviderUnavailable, stripe_client.PaymentProviderError):
            # Nobody has its client secret, so nobody can pay it; Stripe will leave it unpaid.
            logger.warning("could not cancel the payment intent of an abandoned order")

    def payment_cancel(self, *, order_id: str, payment_intent_id: str) -> None:
        try:
            stripe_client.payment_intent_cancel(
                payment_intent_id=payment_intent_id, idempotency_key=f"cancel:{order_id}"
            )
        except stripe_client.PaymentProviderNotFound:
            # Not in this Stripe account (demo data, or an account switch): nothing can be paid
            # on it, so the order may go.
            logger.warning("PaymentIntent unknown to Stripe", extra={"order_id": order_id})
        except stripe_client.PaymentProviderError:
            # Stripe refuses to cancel an intent that succeeded, is processing, or is canceled
            # already: which one decides.
            intent = stripe_client.payment_intent_retrieve(payment_intent_id=payment_intent_id)
            if intent.status == "succeeded":
                raise self._taken(intent) from None
            if intent.status != "canceled":
                raise PaymentMoving() from None
        records.payment_record_canceled(payment_intent_id=payment_intent_id)

    @staticmethod
    def _taken(intent: stripe_client.PaymentIntent) -> PaymentTaken:
        """The payment succeeded: on record first (a job found what no webhook announced, for
        the health banner), then the fact for orders."""
        first_news = records.payment_record_success(
            payment_intent_id=intent.id, charge_id=intent.latest_charge
        )
        if first_news:
            health.payment_found_without_webhook()
        return PaymentTaken(first_news=first_news)
