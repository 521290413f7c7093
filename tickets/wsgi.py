"""WSGI entry point: Zappa's handler and the local server both serve this application."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tickets.settings")

application = get_wsgi_application()
