"""E-mail addresses: the one normal form customers are keyed by, and the masked form shown
where a full address would be personal data."""

from __future__ import annotations


def email_normalise(email: str) -> str:
    """Trimmed and lower-cased. (Gmail-style dot and plus folding is deliberately not done: it
    would merge addresses that other providers treat as different people.)"""
    return email.strip().lower()


def email_mask(email: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
