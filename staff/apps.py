from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff"

    def ready(self) -> None:
        # The project package imports no app: the staff app plugs in its sign-in form and
        # its admin page.
        from django.contrib import admin

        from staff.forms import StaffAuthenticationForm
        from staff.site_urls import site_urls
        from tickets.admin_views import site_urls_register

        admin.site.login_form = StaffAuthenticationForm
        site_urls_register(site_urls)
