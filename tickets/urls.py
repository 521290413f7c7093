"""URL configuration: the storefront API at the root, the staff admin under /admin/."""

from django.urls import include, path

from tickets import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("", include("payments.urls")),
]

handler400 = "tickets.exceptions.bad_request"
handler404 = "tickets.exceptions.not_found"
handler500 = "tickets.exceptions.server_error"
