"""A URLconf for tests of what happens when a view fails: the real routes plus one that raises
an error carrying a secret, as a careless library might."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from core.config import secrets_get
from tickets.urls import handler400, handler404, handler500, urlpatterns  # noqa: F401


def leaky_view(request: HttpRequest) -> HttpResponse:
    key = secrets_get().stripe_api_key
    raise RuntimeError(f"could not reach Stripe with key {key}")


urlpatterns = [*urlpatterns, path("leaky", leaky_view)]
