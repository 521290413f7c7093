"""A suite-wide guard: no log line of any test may carry personal data, a secret or a password.

``conftest.py`` installs ``LogGuard`` on the root logger for the whole test session. It formats
every record with the formatter production uses (``settings.LOGGING``'s, the one handler Lambda
writes to CloudWatch through) and remembers each line that carries

- a full e-mail address (``alice@example.com``, or URL-encoded ``alice%40example.com``; the
  masked form ``a***@example.com`` is what logs may hold),
- a phone number in international form (``+15551234567``, URL-encoded ``%2B15551234567``,
  with spaces or dashes; ``+1***`` is what logs may hold),
- a value typed into a search in a query string (``?q=Lovelace``; ``q=***`` may be logged),
- a secret of the local stack (Stripe keys, webhook secret, Django secret key, vendor key),
- a password the tests sign in with.

An automatic fixture fails the test during which such a line was written, naming the line.
The patterns are written here, apart from ``core.logging``'s masker, so a regression there
is caught rather than repeated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

FULL_EMAIL = re.compile(
    r"[A-Za-z0-9._+-]{2,}(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

FULL_PHONE = re.compile(r"(?:\+|%2B)\d{1,3}(?:[\s().-]|%20)*\d{3}(?:[\s().-]|%20)*\d{3,}")
SEARCH_VALUE = re.compile(r"[?&](?:q|search|query)=(?!\*\*\*)[^&\s\"]+")

# Every password a test signs in or sets (tests use these, through conftest.STAFF_PASSWORD or
# literally); add one here when a test uses a new one.
TEST_PASSWORDS = (
    "correct horse battery staple",
    "a perfectly long passphrase",
    "a brand new passphrase",
    "a much longer new passphrase",
    "a good passphrase",
)


class LogGuard(logging.Handler):
    def __init__(self, formatter: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter)
        self.forbidden = [s for s in (*secrets, *TEST_PASSWORDS) if s]
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is another test's concern
            return
        found = [value for value in self.forbidden if value in line]
        found += FULL_EMAIL.findall(line)
        found += FULL_PHONE.findall(line)
        found += SEARCH_VALUE.findall(line)
        if found:
            self.leaks.append(f"{record.name}: {found!r} in {line[:300]}")

    def take(self) -> list[str]:
        leaks, self.leaks = self.leaks, []
        return leaks


def log_guard_install(secrets: Iterable[str]) -> LogGuard:
    """Put a guard on the root logger, formatting records as production does."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    spec = settings.LOGGING["formatters"]["json"]
    guard = LogGuard(import_string(spec["()"])(), secrets)
    root = logging.getLogger()
    root.addHandler(guard)
    # The loggers that do not propagate to the root get the guard too.
    for name, config in settings.LOGGING.get("loggers", {}).items():
        if config.get("propagate") is False:
            logging.getLogger(name).addHandler(guard)
    return guard
