from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "TicketsToHeaven"

    def ready(self) -> None:
        # The back-office table's shared models register their table (core.dynamodb) like an
        # app's models module would: `create_tables` sees it in either function.
        import core.models  # noqa: F401

        # Lambda SnapStart's hooks (tickets/snapstart.py); nothing happens outside Lambda.
        from tickets.snapstart import hooks_register

        hooks_register()
