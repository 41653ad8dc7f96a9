"""The waiting-room interface that both backends (Redis, database) implement, and the few
things they share: what a token looks like, what its status says, and how the order of the
people who arrive before a sale opens is drawn."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from boxoffice.statuses import TicketStatus

# An expired token keeps answering its status this long, so that a client learns what happened.
EXPIRED_TOKEN_MEMORY = timedelta(minutes=15)

# Draws `bits` random bits. Production draws from the operating system's cryptographic source;
# a test may hand a seeded generator to a backend to make a statistical test repeatable.
Draw = Callable[[int], int]
CRYPTOGRAPHIC_DRAW: Draw = secrets.randbits

# How the pre-queue is put in random order. Each place taken before the opening gets a key of
# DRAW_BITS random bits from `Draw`, kept inside the backend and never shown (the position is
# null until the opening); the line orders the pre-queue by these keys, ahead of everyone who
# comes after the opening. Sorting by independent uniform keys is a uniformly random
# permutation of whoever is still in the pre-queue at the opening (two equal keys among n, at
# odds of about n²/2^53, are ordered by the random token on Redis and drawn again on the
# database). So the opening itself has nothing
# to compute: it is the moment admission starts from the head of that order, which happens once
# and for good however many processes cross it together.
DRAW_BITS = 52


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
    # Set while the sale has not opened: the place in line is drawn at that moment.
    opens_at: datetime | None = None


@dataclass(frozen=True)
class LineStats:
    """What an operator sees of one line."""

    waiting: int
    active: int
    admitted_per_minute: float
    oldest_wait_seconds: int | None

    @property
    def people(self) -> int:
        return self.waiting + self.active


def busiest(lines: list[tuple[int, LineStats]], limit: int) -> list[tuple[int, LineStats]]:
    """The lines with anyone in them, most people first (then by concert), at most `limit`."""
    occupied = [line for line in lines if line[1].people > 0]
    return sorted(occupied, key=lambda line: (-line[1].people, line[0]))[:limit]


class WaitingRoom(Protocol):
    async def join(
        self, concert_id: int, user_id: int, opens_at: datetime | None
    ) -> tuple[Ticket, bool]:
        """The user's live ticket for this concert, or a new one: in the pre-queue while the
        sale has not opened, else at the end of the line. The flag is True when the ticket is
        new. `opens_at` is the concert's sale opening as the caller read it; a line that
        already knows its opening keeps its own (see `reschedule`)."""

    async def look_up(self, token: str, keep_alive: bool = False) -> Ticket | None:
        """The ticket with its current status and position; None when unknown or forgotten.
        With `keep_alive`, a waiting ticket counts as asked about now (see the idle time)."""

    async def leave(self, token: str) -> None:
        """Give up the place, waiting or admitted; the next in line moves up."""

    async def give_up_places(self, user_id: int) -> None:
        """Give up the user's place, waiting or admitted, in every line (the operator has
        blocked them); those behind move up."""

    async def finish(self, concert_id: int, user_id: int) -> None:
        """The user is done in this concert (paid with no other live hold): expire their
        admission and give the place to the next in line."""

    async def reschedule(self, concert_id: int, opens_at: datetime | None) -> None:
        """Move the line's sale opening (None or a past time: open now). Raises
        SaleAlreadyOpen when the line has opened and `opens_at` is in the future."""

    async def stats(self, concert_id: int) -> LineStats:
        """The line's counts, admission rate and longest current wait."""

    async def busiest_lines(self, limit: int) -> list[tuple[int, LineStats]]:
        """The concerts whose lines have people waiting or admitted, with their stats, most
        people first, at most `limit` of them."""

    async def tick(self) -> None:
        """Open lines whose sale opening has come, give up places left idle, expire
        admissions past their time and admit the next in every line. Runs in the background
        in every process; joins, leaves and finishes admit on their own too."""

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
