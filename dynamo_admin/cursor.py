"""Page tokens: where the next (older) or previous (newer) page starts, signed and opaque.

A token holds a direction (``next``/``prev``), the sort value and the key of the row at the
page's edge; it is signed (Django's ``signing``, the project's ``SECRET_KEY``) so a hand-made
token cannot steer a query, and it holds no personal data. A token that fails its signature is
ignored: the list starts from its first page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

CURSOR_SALT = "dynamo_admin.cursor"
NEXT, PREV = "next", "prev"


@dataclass(frozen=True)
class Cursor:
    direction: str  # NEXT or PREV
    sort_value: str
    key: str

    @property
    def going_next(self) -> bool:
        return self.direction == NEXT

    @property
    def position(self) -> tuple[str, str]:
        return (self.sort_value, self.key)


def cursor_encode(*, direction: str, sort_value: str, key: str) -> str:
    return signing.dumps({"d": direction, "s": sort_value, "k": key}, salt=CURSOR_SALT)


def cursor_decode(token: str | None) -> Cursor | None:
    """The cursor in ``token``, or None (no token, a forged or damaged one, a wrong shape)."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=CURSOR_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("d") not in {NEXT, PREV}:
        return None
    return Cursor(data["d"], str(data.get("s", "")), str(data.get("k", "")))
