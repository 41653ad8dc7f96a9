"""Use cases of the waiting room: join a line, see where a token stands, leave, and the
admission that guards seat listing, holds and payments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from boxoffice.db import Database
from boxoffice.errors import ConcertNotFound, QueueNotAdmitted, QueueTokenInvalid, UserNotFound
from boxoffice.queue import repository
from boxoffice.queue.backend import Ticket, WaitingRoom
from boxoffice.queue.schemas import LineOut, TicketOut
from boxoffice.statuses import TicketStatus
from boxoffice.users.standing import ensure_not_blocked


async def join(
    db: Database, room: WaitingRoom, concert_id: int, user_id: int
) -> tuple[TicketOut, bool]:
    """The user's place in the concert's line: the live one they have, or a new one at the end.
    The flag says whether it is new."""
    async with db.reading() as conn:
        check = await repository.check_join(conn, concert_id, user_id)
    if not check.concert_found:
        raise ConcertNotFound(f"Concert {concert_id} does not exist.")
    if not check.user_found:
        raise UserNotFound(f"User {user_id} does not exist.")
    # Read before the join, not under a lock: a join racing a block may still take a place,
    # but the place buys nothing, as holds and payments check the block themselves.
    ensure_not_blocked(user_id, check.user_blocked_at)
    ticket, created = await room.join(concert_id, user_id, check.sale_opens_at)
    return _out(ticket), created


async def line(db: Database, room: WaitingRoom, concert_id: int) -> LineOut:
    async with db.reading() as conn:
        found = await repository.concert_exists(conn, concert_id)
    if not found:
        raise ConcertNotFound(f"Concert {concert_id} does not exist.")
    stats = await room.stats(concert_id)
    return LineOut(
        waiting=stats.waiting,
        active=stats.active,
        admitted_per_minute=stats.admitted_per_minute,
        oldest_wait_seconds=stats.oldest_wait_seconds,
    )


async def status(room: WaitingRoom, token: str | None, user_id: int) -> TicketOut:
    """Where the token stands. Asking is what keeps a waiting place: one left without a status
    request (or an open events stream, which asks for it) for the idle time is given up."""
    return _out(await _own_ticket(room, token, user_id, keep_alive=True))


async def leave(room: WaitingRoom, token: str | None, user_id: int) -> None:
    ticket = await _own_ticket(room, token, user_id)
    if ticket.status != TicketStatus.EXPIRED:
        await room.leave(ticket.token)


@dataclass(frozen=True)
class Admission:
    """An ACTIVE ticket of the user: it lets them list seats, hold and pay in one concert."""

    concert_id: int
    token: str = field(repr=False)
    user_id: int
    # When the admission ends; a seat-map stream opened with it ends then too.
    until: datetime | None = None

    def require(self, concert_id: int) -> None:
        """Refuse a request about another concert than the one admitted to."""
        if concert_id != self.concert_id:
            raise QueueTokenInvalid("This queue token was issued for another concert.")


async def require_admission(
    db: Database, room: WaitingRoom, token: str | None, user_id: int, concert_id: int
) -> Admission:
    """The admission, when the request's concert is known beforehand (the web pages)."""
    found = await admission(db, room, token, user_id)
    found.require(concert_id)
    return found


async def admission(db: Database, room: WaitingRoom, token: str | None, user_id: int) -> Admission:
    """The admission an ACTIVE token of this user gives. Which concert the request is about is
    checked against it (`Admission.require`) once that concert is known, so an admitted token
    costs no database work here."""
    try:
        ticket = await _own_ticket(room, token, user_id)
        _require_active(ticket)
    except (QueueTokenInvalid, QueueNotAdmitted):
        # A block gives up the user's places in line (`operator.blocking`): a blocked user is
        # told why, as the hold or payment behind this gate would have told them.
        await _refuse_if_blocked(db, user_id)
        raise
    return Admission(ticket.concert_id, ticket.token, user_id, ticket.active_until)


async def _refuse_if_blocked(db: Database, user_id: int) -> None:
    async with db.reading() as conn:
        blocked_at = await repository.blocked_at(conn, user_id)
    ensure_not_blocked(user_id, blocked_at)


def _require_active(ticket: Ticket) -> None:
    if ticket.status == TicketStatus.WAITING and ticket.opens_at is not None:
        raise QueueNotAdmitted(
            f"The sale opens at {_iso(ticket.opens_at)}; your place in line is drawn then.",
            position=None,
            opens_at=_iso(ticket.opens_at),
        )
    if ticket.status == TicketStatus.WAITING:
        raise QueueNotAdmitted(
            f"You are number {ticket.position} in line; wait for your turn.",
            position=ticket.position,
        )
    if ticket.status != TicketStatus.ACTIVE:
        raise QueueTokenInvalid("This queue token has expired; join the line again.")


async def _own_ticket(
    room: WaitingRoom,
    token: str | None,
    user_id: int,
    keep_alive: bool = False,
) -> Ticket:
    if not token:
        raise QueueTokenInvalid("An X-Queue-Token header is required.")
    ticket = await room.look_up(token, keep_alive=keep_alive)
    if ticket is None or ticket.user_id != user_id:
        raise QueueTokenInvalid("This queue token is unknown or belongs to someone else.")
    return ticket


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        token=ticket.token,
        concert_id=ticket.concert_id,
        status=ticket.status,
        position=ticket.position,
        eta_seconds=ticket.eta_seconds,
        active_until=ticket.active_until,
        opens_at=ticket.opens_at,
    )
