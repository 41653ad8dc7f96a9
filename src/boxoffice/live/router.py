"""The event-stream endpoints. Both check everything before the stream starts, so a refused
request gets an ordinary problem+json answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse

from boxoffice.api import Db, path_id
from boxoffice.auth import CurrentUserId
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import SEAT
from boxoffice.errors import (
    QueueNotAdmitted,
    QueueTokenInvalid,
    ScheduleNotFound,
    ServiceUnavailable,
    UserBlocked,
)
from boxoffice.live import queue_stream, sse
from boxoffice.live.hub import LiveSeats
from boxoffice.problems import DocumentedRoute, answers
from boxoffice.queue import service as queue
from boxoffice.queue.gate import QueueToken, Room
from boxoffice.queue.schemas import QUEUE_TOKEN

router = APIRouter(tags=["live updates"], route_class=DocumentedRoute)

ScheduleId = Annotated[int, path_id("Schedule id")]
# Browsers' EventSource cannot send headers: the token may come in the query string instead.
QueueTokenParam = Annotated[
    str | None,
    Query(
        alias="queue_token",
        max_length=512,
        description="The waiting-room token, for clients that cannot send X-Queue-Token",
    ),
]
LastEventId = Annotated[
    str | None, Header(alias="Last-Event-ID", max_length=64, include_in_schema=False)
]
# A comment line this often keeps proxies and browsers from closing a quiet stream.
PING_SECONDS = 10
# A client that takes longer than this to accept one write is gone.
SEND_TIMEOUT_SECONDS = 30


@answers(ServiceUnavailable)
async def live_seats(request: Request) -> LiveSeats:
    live: LiveSeats = request.app.state.live_seats
    return live


Live = Annotated[LiveSeats, Depends(live_seats)]


def _event_stream(example: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "Server-sent events",
            "content": {"text/event-stream": {"schema": {"type": "string"}, "example": example}},
        }
    }


# Examples encoded as the streams encode their events.
QUEUE_EVENTS = _event_stream(
    (sse.RETRY + sse.event("status", {**QUEUE_TOKEN, "status": "WAITING"})).decode()
)
SEAT_EVENTS = _event_stream(
    (
        sse.RETRY
        + sse.event("snapshot", {"schedule_id": 3, "items": [SEAT]}, 1041)
        + sse.event(
            "seat",
            {"id": SEAT["id"], "seat_number": SEAT["seat_number"], "status": "UNAVAILABLE"},
            1042,
        )
    ).decode()
)


def _stream(events: AsyncIterator[bytes]) -> EventSourceResponse:
    return EventSourceResponse(
        events, ping=PING_SECONDS, send_timeout=SEND_TIMEOUT_SECONDS, sep="\n"
    )


@router.get(
    "/queue/events",
    response_class=EventSourceResponse,
    summary="Follow my place in line",
    responses=QUEUE_EVENTS,
)
@answers(QueueTokenInvalid)
async def queue_events(
    user_id: CurrentUserId,
    room: Room,
    queue_token: QueueToken = None,
    queue_token_param: QueueTokenParam = None,
) -> EventSourceResponse:
    """`status` events: the token status, at once and whenever it changes; the stream ends
    after `EXPIRED`."""
    token = queue_token or queue_token_param or ""
    first = await queue.status(room, token, user_id)
    return _stream(queue_stream.follow(room, token, user_id, first))


@router.get(
    "/schedules/{schedule_id}/seats/events",
    response_class=EventSourceResponse,
    summary="Follow a schedule's seats",
    responses=SEAT_EVENTS,
)
@answers(ScheduleNotFound, QueueTokenInvalid, QueueNotAdmitted, UserBlocked)
async def seat_events(
    schedule_id: ScheduleId,
    user_id: CurrentUserId,
    db: Db,
    room: Room,
    live: Live,
    queue_token: QueueToken = None,
    queue_token_param: QueueTokenParam = None,
    last_event_id: LastEventId = None,
) -> EventSourceResponse:
    """A `snapshot` (the seat list), then a `seat` event for every change, in commit order.
    With Last-Event-ID, what was missed since that event (or a fresh snapshot). The stream
    ends when the admission does: a reconnect then needs a new one."""
    schedule = await catalog.get_schedule(db, schedule_id)
    admission = await queue.require_admission(
        db, room, queue_token or queue_token_param, user_id, schedule.concert_id
    )
    # Loaded now, so that a database that cannot be reached is a 503, not a broken stream.
    await live.open_map(schedule_id)
    return _stream(live.stream(schedule_id, last_event_id, until=admission.until))
