"""How the back office shows money and times: minor units as Stripe counts them, UTC times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx",
                 "vnd", "vuv", "xaf", "xof", "xpf"}  # fmt: skip


def label(code: str | None) -> str:
    """A state code as staff read it: ``pending_payment`` -> ``Pending payment``."""
    return code.replace("_", " ").capitalize() if code else "-"


def money_format(amount: int | None, currency: str) -> str:
    """``4900, "usd"`` -> ``"USD 49.00"`` (minor units, as Stripe counts them)."""
    if amount is None:
        return "-"
    if currency.lower() in _ZERO_DECIMAL:
        return f"{currency.upper()} {amount:,}"
    return f"{currency.upper()} {amount / 100:,.2f}"


def money_minor_units(value: Any, currency: str) -> int:
    """A decimal typed by staff (``12.50``) in the currency's minor units (``1250``)."""
    factor = 1 if currency.lower() in _ZERO_DECIMAL else 100
    return int((Decimal(value) * factor).to_integral_value())


def when(value: str | None) -> str:
    """``2026-11-25T12:44:05.205725Z`` -> ``2026-11-25 12:44:05 UTC`` for reading."""
    if not value:
        return "-"
    return f"{value[:10]} {value[11:19]} UTC"


def when_short(value: str | None) -> str:
    """``2026-11-25T12:44:05.205725Z`` -> ``2026-11-25 12:44`` for list columns (UTC)."""
    return f"{value[:10]} {value[11:16]}" if value else "-"


def today() -> date:
    """Today in UTC: the day buckets and the dashboard are UTC days."""
    return datetime.now(UTC).date()


def date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
