"""Customers' phone numbers: kept in E.164 (``+14155550100``), shown in the international
format (``+1 415-555-0100``), validated with Google's libphonenumber (``phonenumberslite``:
the metadata without the geocoding and carrier tables, which the Lambda package need not
carry).

A number must carry its country code (``+44 20 7946 0000``): the buyers are international,
so there is no default region to guess one from.

``phonenumbers`` (about 25 ms and 60 modules) is imported when a number is first checked or
shown, not with this module: the API's views import it, and most cold starts (the catalog,
Stripe's webhooks, orders without a phone) never touch a number.
"""

from __future__ import annotations

PHONE_HELP = "With its country code, e.g. +1 415 555 0100 or +44 20 7946 0000."


class PhoneInvalid(ValueError):
    pass


def phone_e164(text: str) -> str:
    """``text`` as E.164; raises ``PhoneInvalid`` (its message for the person typing) for
    anything that is not a possible, valid number with a country code."""
    import phonenumbers

    text = text.strip()
    if not text.startswith(("+", "00")):
        raise PhoneInvalid(f"Type the number with its country code. {PHONE_HELP}")
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise PhoneInvalid(f"This is not a phone number. {PHONE_HELP}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneInvalid(f"This is not a valid phone number. {PHONE_HELP}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str | None) -> str:
    """A stored number as staff read it (international format); text stored before numbers
    were checked is shown as it is."""
    if not e164:
        return ""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
