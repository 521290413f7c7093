"""URL configuration: the storefront API at the root, the staff admin under /admin/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from tickets import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("", include("orders.urls")),
    path("admin/", admin.site.urls),
    path("", include("payments.urls")),
]

handler400 = "tickets.exceptions.bad_request"
handler404 = "tickets.exceptions.not_found"
handler500 = "tickets.exceptions.server_error"
