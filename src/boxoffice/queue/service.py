"""Use cases of the waiting room: join a line, see where a token stands, leave, and the check
that guards seat listing, holds and payments."""

from __future__ import annotations

from boxoffice.db import Database
from boxoffice.errors import ConcertNotFound, QueueNotAdmitted, QueueTokenInvalid, UserNotFound
from boxoffice.queue import repository
from boxoffice.queue.backend import Ticket, WaitingRoom
from boxoffice.queue.schemas import TicketOut


async def join(
    db: Database, room: WaitingRoom, concert_id: int, user_id: int
) -> tuple[TicketOut, bool]:
    """The user's place in the concert's line: the live one they have, or a new one at the end.
    The flag says whether it is new."""
    async with db.reading() as conn:
        concert_found, user_found = await repository.concert_and_user_exist(
            conn, concert_id, user_id
        )
    if not concert_found:
        raise ConcertNotFound(f"Concert {concert_id} does not exist.")
    if not user_found:
        raise UserNotFound(f"User {user_id} does not exist.")
    ticket, created = await room.join(concert_id, user_id)
    return _out(ticket), created


async def status(room: WaitingRoom, token: str | None, user_id: int) -> TicketOut:
    return _out(await _own_ticket(room, token, user_id))


async def leave(room: WaitingRoom, token: str | None, user_id: int) -> None:
    ticket = await _own_ticket(room, token, user_id)
    if ticket.status != "EXPIRED":
        await room.leave(ticket.token)


async def require_admission(
    room: WaitingRoom, token: str | None, user_id: int, concert_id: int
) -> None:
    """Pass only an ACTIVE token of this user for this concert."""
    ticket = await _own_ticket(room, token, user_id)
    require_same_concert(ticket.concert_id, concert_id)
    _require_active(ticket)


async def admitted_concert(room: WaitingRoom, token: str | None, user_id: int) -> int:
    """The concert an ACTIVE token of this user admits to. The caller checks it against the
    concert its request is about (`require_same_concert`) once it has looked that up, so that
    a refused token costs no database work."""
    ticket = await _own_ticket(room, token, user_id)
    _require_active(ticket)
    return ticket.concert_id


def require_same_concert(admitted_to: int, concert_id: int) -> None:
    if admitted_to != concert_id:
        raise QueueTokenInvalid("This queue token was issued for another concert.")


def _require_active(ticket: Ticket) -> None:
    if ticket.status == "WAITING":
        raise QueueNotAdmitted(
            f"You are number {ticket.position} in line; wait for your turn.",
            position=ticket.position,
        )
    if ticket.status != "ACTIVE":
        raise QueueTokenInvalid("This queue token has expired; join the line again.")


async def _own_ticket(room: WaitingRoom, token: str | None, user_id: int) -> Ticket:
    if not token:
        raise QueueTokenInvalid("An X-Queue-Token header is required.")
    ticket = await room.look_up(token)
    if ticket is None or ticket.user_id != user_id:
        raise QueueTokenInvalid("This queue token is unknown or belongs to someone else.")
    return ticket


def _out(ticket: Ticket) -> TicketOut:
    return TicketOut(
        token=ticket.token,
        concert_id=ticket.concert_id,
        status=ticket.status,
        position=ticket.position,
        eta_seconds=ticket.eta_seconds,
        active_until=ticket.active_until,
    )
