"""The admin site's URLs, imported by ``tickets.urls`` only when first needed (its module
docstring says why)."""

from django.contrib import admin

urlpatterns = admin.site.get_urls()  # loads the apps' admin modules first (admin_site.py)
