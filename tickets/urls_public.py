"""URLs of the public API's function (``tickets.settings_public``): the storefront's API,
Stripe's webhooks, ``/health`` and ``/schema``. Nothing under ``/admin/``."""

from django.urls import include, path

from tickets import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("schema", views.schema, name="schema"),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
]

handler400 = "core.exceptions.bad_request"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
