"""Routes of the payments app, included at the root by ``tickets.urls``."""

from django.urls import path

from payments.apis import StripeWebhookApi

urlpatterns = [
    path("webhooks/stripe", StripeWebhookApi.as_view(), name="stripe-webhook"),
]
