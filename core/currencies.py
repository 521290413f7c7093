"""ISO 4217 currencies and their minor units: which codes are money, and how many decimals.

The table is ISO 4217's List One (the active codes with their minor units, as published by
SIX Financial Information, the standard's maintenance agency, at
https://www.six-group.com/en/products-services/financial-information/data-standards.html),
without the codes that are no money one sells tickets in (precious metals, SDR, testing,
bond-market units: ``XAU``, ``XDR``, ``XTS``, ``XXX``, ...). It is a table here rather than a
dependency because the packages that carry it (``babel``, ``pycountry``) weigh several MiB
and the Lambda package has 15 MiB in all; update it from the list above when ISO amends it.

Amounts are stored as Stripe counts them: an integer in the currency's smallest unit. Stripe
agrees with ISO except for a few currencies (https://docs.stripe.com/currencies): it counts
``MGA`` with no decimals and ``ISK`` with two (whole krónur only), so ``currency_exponent``
(how amounts are stored) and ``currency_decimals`` (what staff may type) can differ.
"""

from __future__ import annotations

from decimal import Decimal

# Minor units other than 2 (ISO 4217 List One).
_NOT_TWO = {
    "bif": 0, "clp": 0, "djf": 0, "gnf": 0, "isk": 0, "jpy": 0, "kmf": 0, "krw": 0, "pyg": 0,
    "rwf": 0, "ugx": 0, "uyi": 0, "vnd": 0, "vuv": 0, "xaf": 0, "xof": 0, "xpf": 0,
    "bhd": 3, "iqd": 3, "jod": 3, "kwd": 3, "lyd": 3, "omr": 3, "tnd": 3,
    "clf": 4, "uyw": 4,
}  # fmt: skip

# Minor unit 2 (ISO 4217 List One).
_TWO = """
aed afn all amd aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob bov brl bsd btn bwp byn bzd
cad cdf che chf chw cny cop cou crc cup cve czk dkk dop dzd egp ern etb eur fjd fkp gbp gel
ghs gip gmd gtq gyd hkd hnl htg huf idr ils inr irr jmd kes kgs khr kpw kyd kzt lak lbp lkr
lrd lsl mad mdl mga mkd mmk mnt mop mru mur mvr mwk mxn mxv myr mzn nad ngn nio nok npr nzd
pab pen pgk php pkr pln qar ron rsd rub sar sbd scr sdg sek sgd shp sle sos srd ssp stn svc
syp szl thb tjs tmt top try ttd twd tzs uah usd usn uyu uzs ved ves wst xcd xcg yer zar zmw
zwg
""".split()

ISO_4217_MINOR_UNITS: dict[str, int] = {**{code: 2 for code in _TWO}, **_NOT_TWO}

# Where Stripe counts a currency's smallest unit differently from ISO.
_STRIPE_EXPONENT = {"mga": 0, "isk": 2}


def currency_valid(code: str) -> bool:
    """Whether ``code`` (any case) is an active ISO 4217 currency code."""
    return code.lower() in ISO_4217_MINOR_UNITS


def currency_exponent(code: str) -> int:
    """How many decimals an amount's stored integer carries (``usd`` 2: 4900 is 49.00)."""
    code = code.lower()
    return _STRIPE_EXPONENT.get(code, ISO_4217_MINOR_UNITS.get(code, 2))


def currency_decimals(code: str) -> int:
    """How many decimals staff may type (``jpy`` 0, ``usd`` 2, ``kwd`` 3)."""
    code = code.lower()
    return min(ISO_4217_MINOR_UNITS.get(code, 2), currency_exponent(code))


def amount_major(amount: int, currency: str) -> Decimal:
    """``4900, "usd"`` -> ``Decimal("49.00")``: stored minor units in major units."""
    exponent = currency_exponent(currency)
    return (Decimal(int(amount)) / (10**exponent)).quantize(Decimal(1).scaleb(-exponent))


def amount_minor(value: Decimal, currency: str) -> int:
    """``Decimal("49.00"), "usd"`` -> ``4900``. Raises ``ValueError`` when ``value`` has more
    decimals than the currency allows (``49.001`` USD, ``10.5`` JPY)."""
    decimals = currency_decimals(currency)
    if value != value.quantize(Decimal(1).scaleb(-decimals)):
        if decimals == 0:
            raise ValueError(f"{currency.upper()} amounts are whole numbers (at most 0 decimals)")
        raise ValueError(f"{currency.upper()} amounts have at most {decimals} decimals")
    return int(value.scaleb(currency_exponent(currency)).to_integral_value())
