"""A database engine that has no database: ``transaction.atomic`` works, every query raises.

Django's admin wraps its change and delete views in ``transaction.atomic``, and a few contrib
apps open a connection "just in case". With the stock dummy backend (``DATABASES = {}``) those
blocks fail before our code runs. This engine lets a transaction begin and end as a no-op (there
is nothing to commit: every write went to DynamoDB already) while anything that would really
talk to a relational database (a cursor, a savepoint commit, introspection, a migration) raises
``NoRelationalDatabase`` at once, so a stray ORM query is a loud bug in tests, never a silent
dependency on SQL.

It must never grow a way to run SQL: the whole project assumes there is none.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.dummy import base as dummy


class NoRelationalDatabase(ImproperlyConfigured):
    """Something tried to use the ORM; everything persistent lives in DynamoDB.

    An ``ImproperlyConfigured``, as the stock dummy backend raises, because Django itself
    expects that from a database-less project: ``runserver``'s pending-migrations check
    catches it and moves on, where any other exception would stop the server."""


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise NoRelationalDatabase(
        "This project has no relational database: use the PynamoDB models "
        "(a Django ORM query reached the database layer)."
    )


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


class DatabaseOperations(dummy.DatabaseOperations):
    quote_name = _refuse


class DatabaseWrapper(dummy.DatabaseWrapper):
    vendor = "none"
    display_name = "no relational database"
    ops_class = DatabaseOperations

    # Transactions: begin, commit and roll back are no-ops, so atomic blocks enter and leave.
    ensure_connection = _nothing
    connect = _nothing
    _commit = _nothing
    _rollback = _nothing
    _set_autocommit = _nothing
    _savepoint = _nothing
    _savepoint_commit = _nothing
    _savepoint_rollback = _nothing

    # Anything that would run SQL refuses.
    _cursor = _refuse
    create_cursor = _refuse
    cursor = _refuse
    chunked_cursor = _refuse

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.autocommit = True  # as a real connection would be, so atomic() begins "a transaction"

    def get_autocommit(self) -> bool:
        return self.autocommit

    def _start_transaction_under_autocommit(self) -> None:
        return None
