"""Error types: the package's own, plus the project's, named in settings.

A write (a project's service) that finds the item changed since the editor read it raises a
*conflict*: the page says "changed by someone else" and shows the current values, when the
item's version did move (the admin reads it again); otherwise the conflict's own message is
shown, since the write was refused for another reason. A write that
refuses for a reason staff should read raises a *user error*: its message is shown. Projects
name their own exception classes in ``DYNAMO_ADMIN_CONFLICT_ERRORS`` and
``DYNAMO_ADMIN_USER_ERRORS`` (or override ``DynamoModelAdmin.conflict_errors`` /
``user_errors``); anything else propagates (a bug, a 500 in tests).
"""

from __future__ import annotations


class Conflict(Exception):
    """The item changed since the page read it: nothing was written."""


class ActionRefused(Exception):
    """A change or action refused with a message for staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def error_message(error: BaseException) -> str:
    """What staff read: the exception's ``message`` attribute, else its text."""
    message = getattr(error, "message", None)
    return str(message) if message else str(error)
