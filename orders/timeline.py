"""What an order's timeline is made of: ``TimelineEvent``, one line of an order's story, and
the registry through which another app adds its own records to it.

``orders.selectors.order_timeline`` assembles the story from the order itself (created,
fulfillment attempts, tickets issued), the one audit log (``core.audit``: payments made,
cancels, expiry, refunds, disputes, webhook outcomes, staff edits, notes) and the sources
registered here. The payments app registers its payment attempts and refunds from its
``AppConfig.ready`` (the arrow runs payments -> orders, never back). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TimelineEvent:
    """One thing that happened to an order, as staff read it.

    ``at``: ISO 8601 UTC (sorts as text); ``kind``: a short code the page styles by
    (``created``, ``payment``, ``paid``, ``webhook``, ``fulfillment``, ``tickets``, ``refund``,
    ``cancel``, ``dispute``, ``note``, ``edit``, ``other``); ``title``: what happened;
    ``actor``: who or what did it, readable (``sam``, ``Stripe (system)``, ``Buyer``);
    ``ref``: an id other records may name (a refund id), so one fact is shown once."""

    at: str
    kind: str
    title: str
    actor: str
    detail: str = ""
    reason: str = ""
    system: bool = False
    ref: str = ""


TimelineSource = Callable[[Any], list[TimelineEvent]]

_sources: list[TimelineSource] = []


def timeline_source_register(source: TimelineSource) -> None:
    """Add ``source(order) -> events`` to every order's timeline (once; call from ``ready()``).
    A source reads by key or index, never Scans."""
    if source not in _sources:
        _sources.append(source)


def timeline_sources() -> list[TimelineSource]:
    return list(_sources)
