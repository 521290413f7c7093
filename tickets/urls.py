"""URL configuration: the storefront API at the root, the staff admin under /admin/.

Built for a short cold start: importing this module loads only the storefront's views. The
admin's URLs (and with them every app's ``admin`` module) are built the first time a path
under ``admin/`` is resolved or a URL is reversed: ``path`` is given the admin's URLconf as a
module *name*, which Django's ``URLResolver`` imports on first use (``include`` would import it
here). The OpenAPI schema view (drf-spectacular, which pulls in ``django.test``) is imported
when ``/schema`` is first asked for.
"""

from django.urls import include, path

from tickets import views

urlpatterns = [
    path("health", views.health, name="health"),
    path("schema", views.schema, name="schema"),
    path("", include("orders.urls")),
    path("admin/", ("tickets.admin_urls", "admin", "admin")),
    path("", include("payments.urls")),
]

handler400 = "core.exceptions.bad_request"
handler404 = "core.exceptions.not_found"
handler500 = "core.exceptions.server_error"
