"""URLs of the back office's function (``tickets.settings_backoffice``): the admin under
``/admin/`` (built on first use, as in ``tickets.urls``) and ``/health``. Nothing of the
storefront's API or Stripe's webhooks."""

from django.urls import path

from tickets import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("admin/", ("tickets.admin_urls", "admin", "admin")),
]

handler400 = "core.exceptions.bad_request"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
