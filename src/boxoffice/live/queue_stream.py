"""The queue stream: a token's status, sent at once and again whenever it changes.

It looks the status up every second, the same way `GET /queue/status` does: that keeps a
waiting place alive (a place nobody asks about is given up) and notices an admission within a
second, on whichever process admitted it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from boxoffice.errors import DomainError
from boxoffice.live import sse
from boxoffice.queue import service
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.schemas import TicketOut
from boxoffice.statuses import TicketStatus

log = logging.getLogger("boxoffice.live")

POLL_SECONDS = 1.0


def _what_changes(ticket: TicketOut) -> tuple[object, ...]:
    return (ticket.status, ticket.position, ticket.eta_seconds, ticket.opens_at)


def _status_event(ticket: TicketOut) -> bytes:
    return sse.event("status", ticket.model_dump(mode="json"))


async def follow(
    room: WaitingRoom,
    token: str,
    user_id: int,
    first: TicketOut,
    poll_seconds: float = POLL_SECONDS,
) -> AsyncIterator[bytes]:
    """Events until the token is EXPIRED (that event is the last one)."""
    yield sse.RETRY + _status_event(first)
    current = first
    while current.status != TicketStatus.EXPIRED:
        await asyncio.sleep(poll_seconds)
        try:
            latest = await service.status(room, token, user_id)
        except DomainError as error:
            # The token was forgotten: nothing more will ever happen to it.
            log.info("queue stream ends: %s", error.detail)
            return
        except Exception as error:
            # Redis or the database is away for a moment: keep the stream, ask again later.
            log.warning("queue stream could not look up its token: %r", error)
            continue
        if _what_changes(latest) != _what_changes(current):
            yield _status_event(latest)
        current = latest
