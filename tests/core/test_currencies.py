"""Currencies and money as staff type and read them: pure logic, no servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.currencies import amount_major, amount_minor, currency_decimals, currency_valid
from core.formatting import money_format, money_minor_units, when


@pytest.mark.parametrize(
    ("code", "decimals"), [("usd", 2), ("EUR", 2), ("jpy", 0), ("kwd", 3), ("krw", 0)]
)
def test_each_currency_takes_its_own_decimals(code, decimals):
    assert currency_valid(code)
    assert currency_decimals(code) == decimals


@pytest.mark.parametrize("code", ["usx", "xxx", "xau", "us", "dollar", ""])
def test_codes_that_are_not_iso_4217_money_are_refused(code):
    assert not currency_valid(code)


def test_typed_amounts_become_minor_units_and_back():
    assert amount_minor(Decimal("49.00"), "usd") == 4900
    assert amount_minor(Decimal("1500"), "jpy") == 1500
    assert amount_minor(Decimal("1.234"), "kwd") == 1234
    assert amount_major(4900, "usd") == Decimal("49.00")
    assert money_minor_units("12.50", "usd") == 1250


@pytest.mark.parametrize(("typed", "code"), [("49.001", "usd"), ("10.5", "jpy"), ("1.2345", "kwd")])
def test_more_decimals_than_the_currency_has_are_refused(typed, code):
    with pytest.raises(ValueError, match="at most"):
        amount_minor(Decimal(typed), code)


def test_money_reads_in_major_units_with_the_currency():
    assert money_format(4900, "usd") == "USD 49.00"
    assert money_format(150000, "jpy") == "JPY 150,000"
    assert money_format(1234, "kwd") == "KWD 1.234"
    # Stripe counts ISK in hundredths, whole krónur only; MGA with no decimals.
    assert money_format(4900, "isk") == "ISK 49"
    assert amount_minor(Decimal("49"), "isk") == 4900


def test_every_time_reads_one_way_with_its_timezone():
    from datetime import UTC, datetime, timedelta, timezone

    assert when("2026-11-25T12:44:05.205725Z") == "2026-11-25 12:44:05 UTC"
    assert when(datetime(2026, 11, 25, 12, 44, 5, tzinfo=UTC)) == "2026-11-25 12:44:05 UTC"
    paris = timezone(timedelta(hours=1))
    assert when(datetime(2026, 11, 25, 13, 44, 5, tzinfo=paris)) == "2026-11-25 12:44:05 UTC"
    assert when(None) == "-"
