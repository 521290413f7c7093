"""A customer's personal data, wherever it is kept: the registry of its sources, the person
(``Subject``) each source is asked about, and the pure rules for replacing it.

Personal data here is a customer's name, e-mail and phone, and what staff wrote about them
(notes). It is kept in several tables and outside systems; each place is a **source**
registered here, and each source answers three questions about one person:

- ``export(subject)``: its records of the person, as JSON-ready dicts (GDPR articles 15/20);
- ``in_flight(subject)``: why the person cannot be erased now (money or tickets in flight), in
  words, or nothing;
- ``erase(subject)``: replace the person's data with ``subject.pseudonym``, and say how many
  records it changed. Must be safe to run again (the erasure resumes after a crash by running
  every source again) and must keep ids, amounts, dates and states.

Each app names the module holding its sources from its ``AppConfig.ready``; the module is
imported on the first export or erasure (not at start-up: cold starts stay lean) and its
``PERSONAL_DATA_SOURCES`` list read. The orders app's are in
``orders.services.personal_data``, the payments app's in ``payments.services.personal_data``
(the arrow runs payments -> orders). A new record type that names a customer joins with one line
in its app's ready():

    personal_data_module_register("orders.services.tickets_personal_data")

(or ``personal_data_source_register(PersonalDataSource("emails", export=..., erase=...))``
with the functions at hand).

This module reads and writes nothing itself; it must never log a subject's values.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox
NOTE_ERASED = "[note erased]"
# Keys whose value is personal data wherever they appear (an audit entry's before/after, a
# Stripe metadata map): replaced whole, whatever the value.
PERSONAL_KEYS = frozenset(
    {"name", "email", "phone", "text", "customer_name", "customer_email", "customer_phone"}
)
MIN_WORD = 3  # a name's word shorter than this is not searched for in free text alone


@dataclass(frozen=True)
class Pseudonym:
    """What replaces one person's data: the same for the same customer every time (derived
    from the customer id, which is random and names nobody), so an erasure that resumes
    writes exactly what its first run wrote, and records erased separately still agree."""

    tag: str

    @classmethod
    def for_customer(cls, customer_id: str) -> Pseudonym:
        return cls(hashlib.sha256(f"erasure:{customer_id}".encode()).hexdigest()[:12])

    @property
    def name(self) -> str:
        return f"Erased {self.tag}"

    @property
    def email(self) -> str:
        return f"erased-{self.tag}@{ERASED_DOMAIN}"

    @property
    def email_masked(self) -> str:
        return f"e***@{ERASED_DOMAIN}"


@dataclass
class Subject:
    """The person a request is about, as the customer record holds them now, with their
    orders (read once, by ``customer-id-index``) and the pseudonym that replaces them."""

    customer_id: str
    name: str
    email: str
    phone: str | None
    orders: list[Any] = field(default_factory=list)
    # Earlier values of the person's data found on the way (a name before a staff edit, in
    # the customer's history): searched for and replaced like the current ones.
    earlier: set[str] = field(default_factory=set)

    @property
    def pseudonym(self) -> Pseudonym:
        return Pseudonym.for_customer(self.customer_id)

    @property
    def payment_intent_ids(self) -> list[str]:
        return [o.payment_intent_id for o in self.orders if getattr(o, "payment_intent_id", None)]

    def values(self) -> list[str]:
        """Every form of the person's data that may appear in text: the name and its longer
        words, the e-mail (and its local part), the phone as stored and as digits."""
        found: set[str] = set()
        for value in [self.name, self.email, self.phone or "", *self.earlier]:
            value = (value or "").strip()
            if not value:
                continue
            found.add(value)
            if "@" in value:
                local = value.split("@", 1)[0]
                if len(local) >= MIN_WORD:
                    found.add(local)
            elif value.startswith("+"):
                found.add(value.lstrip("+"))
            else:
                found.update(w for w in re.split(r"[\s,]+", value) if len(w) >= MIN_WORD)
        found.discard(self.pseudonym.name)
        return sorted(found, key=len, reverse=True)  # longest first: "Ada Lovelace" before "Ada"


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    words = [re.escape(v) for v in values if v]
    if not words:
        return None
    # Whole words only: "Ada" is replaced in "Spoke with Ada", never inside "ord_xAdaq".
    return re.compile(r"(?<![\w@.+-])(?:" + "|".join(words) + r")(?![\w@-])", re.IGNORECASE)


def text_scrub(text: str | None, subject: Subject) -> str | None:
    """``text`` with every form of the person's data replaced by their pseudonym's name (the
    e-mail by the pseudonymous e-mail), or ``text`` unchanged."""
    if not text:
        return text
    pattern = _pattern(subject.values())
    if pattern is None:
        return text
    pseudonym = subject.pseudonym

    def replace(match: re.Match[str]) -> str:
        return pseudonym.email if "@" in match.group(0) else pseudonym.name

    return pattern.sub(replace, text)


def value_scrub(value: Any, subject: Subject, *, key: str = "") -> Any:
    """A JSON value with the person's data replaced: under a personal key whole (a note's
    text by ``NOTE_ERASED``, an e-mail by the pseudonymous one, a phone removed), elsewhere by
    ``text_scrub``; lists and objects walked."""
    if isinstance(value, dict):
        return {k: value_scrub(v, subject, key=k) for k, v in value.items()}
    if isinstance(value, list):
        return [value_scrub(v, subject, key=key) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if key in PERSONAL_KEYS:
        if key == "text":
            return NOTE_ERASED
        if "email" in key:
            return subject.pseudonym.email
        if "phone" in key:
            return ""
        return subject.pseudonym.name
    return text_scrub(value, subject)


def json_scrub(raw: str | None, subject: Subject) -> str | None:
    """A JSON document (an audit entry's before/after) with ``value_scrub`` applied."""
    if not raw:
        return raw
    try:
        parsed = json.loads(raw)
    except ValueError:
        return text_scrub(raw, subject)
    return json.dumps(value_scrub(parsed, subject), default=str, sort_keys=True)


def personal_values_in(raw: str | None) -> set[str]:
    """The values under personal keys of a JSON document (the name a staff edit replaced):
    what an erasure must also search for elsewhere."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value and key in PERSONAL_KEYS and key != "text":
            found.add(value)

    try:
        walk(json.loads(raw or "{}"))
    except ValueError:
        pass
    return found


# --- The registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonalDataSource:
    """One place that keeps personal data (see the module's docstring). ``section`` is its key
    in the export; ``order`` places its erasure among the others (outside systems first, the
    back-office records last): an erasure that stops halfway resumes from the start, and
    every source finds what it already did."""

    section: str
    export: Callable[[Subject], list[dict[str, Any]]] | None  # None: not in the export
    erase: Callable[[Subject], int] = lambda subject: 0
    in_flight: Callable[[Subject], list[str]] = lambda subject: []
    order: int = 50


_sources: dict[str, PersonalDataSource] = {}
_modules: list[str] = []


def personal_data_source_register(source: PersonalDataSource) -> None:
    """Add (or replace: registering twice changes nothing) a source of personal data."""
    _sources[source.section] = source


def personal_data_module_register(module: str) -> None:
    """Name a module whose ``PERSONAL_DATA_SOURCES`` (a list of ``PersonalDataSource``) are
    registered when first needed (call from ``AppConfig.ready``)."""
    if module not in _modules:
        _modules.append(module)


def personal_data_sources() -> list[PersonalDataSource]:
    """The registered sources, in erasure order."""
    for module in _modules:
        for source in importlib.import_module(module).PERSONAL_DATA_SOURCES:
            _sources.setdefault(source.section, source)
    return sorted(_sources.values(), key=lambda s: (s.order, s.section))
