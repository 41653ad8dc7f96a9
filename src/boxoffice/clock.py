"""The service's one notion of "now". Every process compares times with it, never the database's."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
