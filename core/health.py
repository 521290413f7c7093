"""Integration-health banners on the admin index and dashboard: each app registers a source
(from its ``AppConfig.ready``) that says, from a marker or two it keeps, which outside system
is in trouble right now; this module collects them. The project package names no app.

A source must be cheap (a key lookup or one Query, never a Scan): it runs on every index and
dashboard view. One that fails is logged and skipped; a banner is never worth a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Banner:
    key: str  # stable, for the page's element id: "stripe-unreachable"
    title: str  # what is wrong, in a few words
    detail: str  # since when, how many, and what to do


BannerSource = Callable[[], list[Banner]]

_sources: list[BannerSource] = []


def health_source_register(source: BannerSource) -> None:
    if source not in _sources:
        _sources.append(source)


def health_banners() -> list[Banner]:
    """Every condition that lasts right now, from every registered source."""
    banners: list[Banner] = []
    for source in _sources:
        try:
            banners += source()
        except Exception:
            logger.warning("an integration-health source failed", exc_info=True)
    return banners
