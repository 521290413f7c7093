"""How the back office shows money and times: amounts in major units with their currency
(stored as minor units, as Stripe counts them), times in one format, in UTC, saying so."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from core.currencies import amount_major, amount_minor, currency_decimals


def label(code: str | None) -> str:
    """A state code as staff read it: ``pending_payment`` -> ``Pending payment``."""
    return code.replace("_", " ").capitalize() if code else "-"


def money_format(amount: int | None, currency: str) -> str:
    """``4900, "usd"`` -> ``"USD 49.00"``; ``1500, "jpy"`` -> ``"JPY 1,500"``: the stored
    minor units in major units, with the currency, as staff read and type them."""
    if amount is None:
        return "-"
    major = amount_major(amount, currency)
    return f"{currency.upper()} {major:,.{currency_decimals(currency)}f}"


def money_minor_units(value: Any, currency: str) -> int:
    """A decimal typed by staff (``12.50``) in the currency's minor units (``1250``); raises
    ``ValueError`` for more decimals than the currency has."""
    return amount_minor(Decimal(value), currency)


TIME_FORMAT = "%Y-%m-%d %H:%M:%S UTC"  # the one way the admin shows a time


def when(value: str | datetime | None) -> str:
    """``2026-11-25T12:44:05.205725Z`` (or an aware datetime) -> ``2026-11-25 12:44:05 UTC``:
    the one time format of the admin, in lists, pages, history and the dashboard."""
    if not value:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def when_short(value: str | datetime | None) -> str:
    """The same as ``when``: kept for callers written before the one format (a list column
    once dropped the seconds and the timezone)."""
    return when(value)


def today() -> date:
    """Today in UTC: the day buckets and the dashboard are UTC days."""
    return datetime.now(UTC).date()


def date_or_none(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
