"""How the back office shows money, states and times (``core.formatting``). Pure: no server."""

from __future__ import annotations

from datetime import date

import pytest

from core.formatting import (
    date_or_none,
    label,
    money_format,
    money_minor_units,
    when,
    when_short,
)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (4900, "usd", "USD 49.00"),
        (123456789, "eur", "EUR 1,234,567.89"),
        (5, "usd", "USD 0.05"),
        (0, "usd", "USD 0.00"),
        (4900, "jpy", "JPY 4,900"),  # no minor unit: yen are counted whole
        (1500, "KRW", "KRW 1,500"),
        (None, "usd", "-"),
    ],
)
def test_money_is_shown_from_minor_units_in_its_currency(amount, currency, shown):
    assert money_format(amount, currency) == shown


@pytest.mark.parametrize(
    ("typed", "currency", "minor"),
    [("12.50", "usd", 1250), ("12.5", "usd", 1250), ("0.01", "usd", 1), ("4900", "jpy", 4900)],
)
def test_an_amount_typed_by_staff_becomes_minor_units(typed, currency, minor):
    assert money_minor_units(typed, currency) == minor


def test_minor_units_round_and_never_come_from_float_error():
    assert money_minor_units("0.29", "usd") == 29  # float: 0.29 * 100 == 28.999999999999996
    with pytest.raises(ValueError, match="at most 2 decimals"):  # never rounded silently
        money_minor_units("10.005", "usd")


def test_states_read_as_words():
    assert label("pending_payment") == "Pending payment"
    assert label("paid") == "Paid"
    assert label(None) == "-" == label("")


def test_times_are_shown_one_way_in_utc():
    stamp = "2026-11-25T12:44:05.205725Z"

    assert when(stamp) == "2026-11-25 12:44:05 UTC"
    assert when_short(stamp) == when(stamp)  # one format everywhere (issue 14)
    assert when(None) == "-" == when_short("")


def test_a_day_typed_in_a_filter_is_a_date_or_nothing():
    assert date_or_none("2026-11-25") == date(2026, 11, 25)
    assert date_or_none("2026-02-30") is None
    assert date_or_none("yesterday") is None
    assert date_or_none(None) is None
