from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "TicketsToHeaven"

    def ready(self) -> None:
        # Lambda SnapStart's hooks (tickets/snapstart.py); nothing happens outside Lambda.
        from tickets.snapstart import hooks_register

        hooks_register()
