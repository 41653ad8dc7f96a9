"""The waiting-room interface that both backends (Redis, database) implement, and the few
things they share: what a token looks like and what its status says."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

TicketStatus = Literal["WAITING", "ACTIVE", "EXPIRED"]

# An expired token keeps answering its status this long, so that a client learns what happened.
EXPIRED_TOKEN_MEMORY = timedelta(minutes=15)


@dataclass(frozen=True)
class Ticket:
    """One user's place in one concert's line, as of the moment it was read."""

    token: str
    concert_id: int
    user_id: int
    status: TicketStatus
    position: int | None = None
    eta_seconds: int | None = None
    active_until: datetime | None = None


class WaitingRoom(Protocol):
    async def join(self, concert_id: int, user_id: int) -> tuple[Ticket, bool]:
        """The user's live ticket for this concert, or a new one at the end of the line.
        The flag is True when the ticket is new."""

    async def look_up(self, token: str) -> Ticket | None:
        """The ticket with its current status and position; None when unknown or forgotten."""

    async def leave(self, token: str) -> None:
        """Give up the place, waiting or admitted; the next in line moves up."""

    async def finish(self, concert_id: int, user_id: int) -> None:
        """The user is done in this concert (paid with no other live hold): expire their
        admission and give the place to the next in line."""

    async def tick(self) -> None:
        """Expire admissions past their time and admit the next in every line. Runs in the
        background in every process; joins, leaves and finishes admit on their own too."""

    async def ping(self) -> None:
        """Raise when the backend cannot be reached."""


def new_token(concert_id: int) -> str:
    """An unguessable token. It starts with the concert id so that a backend finds the line
    without another lookup; clients treat it as opaque."""
    return f"{concert_id}.{secrets.token_urlsafe(24)}"


def concert_of_token(token: str) -> int | None:
    head, dot, tail = token.partition(".")
    if not dot or not tail or not head.isdigit() or len(head) > 18:
        return None
    return int(head)


def eta_seconds(position: int, rate_per_second: float | None) -> int | None:
    """Seconds until admission at the admission rate observed lately; None before any."""
    if not rate_per_second or rate_per_second <= 0:
        return None
    return max(1, round(position / rate_per_second))
