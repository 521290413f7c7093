"""``python manage.py createstaff``: create a staff account in DynamoDB.

Interactive when run without flags on a terminal; scriptable with ``--username --email
--role`` and ``--password`` or, better (it stays out of shell history), ``--password-stdin``.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.exceptions import ApplicationError
from staff.roles import Role
from staff.services import staff_create

ROLES = [r.value for r in Role]


class Command(BaseCommand):
    help = "Create a staff account for the admin (stored in DynamoDB)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username")
        parser.add_argument("--email", default=None)
        parser.add_argument("--role", choices=ROLES)
        parser.add_argument("--password", help="prefer --password-stdin: this lands in history")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
        parser.add_argument(
            "--no-input", action="store_true", help="never prompt; fail if something is missing"
        )

    def _ask(self, label: str, default: str | None = None) -> str:
        suffix = f" [{default}]" if default else ""
        answer = input(f"{label}{suffix}: ").strip()
        return answer or (default or "")

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = not options["no_input"] and sys.stdin.isatty()
        username = options["username"]
        email = options["email"]
        role = options["role"]
        password = options["password"]
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")

        if interactive:
            username = username or self._ask("Username")
            email = email if email is not None else self._ask("E-mail", "")
            while role not in ROLES:
                role = self._ask(f"Role ({'/'.join(ROLES)})", Role.VIEWER.value)
            while not password:
                first = getpass.getpass("Password: ")
                if first != getpass.getpass("Password (again): "):
                    self.stderr.write("The passwords differ; try again.")
                    continue
                password = first
        missing = [n for n, v in (("--username", username), ("--role", role)) if not v]
        if not password:
            missing.append("--password or --password-stdin")
        if missing:
            raise CommandError(f"missing: {', '.join(missing)}")
        try:
            validate_password(password)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        try:
            staff_create(username=username, email=email or "", role=role, password=password)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"created staff account {username!r} with role {role}")
