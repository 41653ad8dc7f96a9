"""HTTP pieces of the waiting room shared by the routers it guards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader

from boxoffice.api import path_id
from boxoffice.auth import CurrentUserId
from boxoffice.db import Database
from boxoffice.errors import (
    QueueNotAdmitted,
    QueueTokenInvalid,
    RateLimited,
    ServiceUnavailable,
    UserBlocked,
)
from boxoffice.problems import answers
from boxoffice.queue import service
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.service import Admission
from boxoffice.rate_limits import limit_holds

# A security scheme, so that the docs' Authorize button fills the header; the hidden header
# parameter beside it keeps the length check (a longer token is a 422, as it always was).
_queue_token_scheme = APIKeyHeader(
    name="X-Queue-Token",
    auto_error=False,
    scheme_name="QueueToken",
    description="The waiting-room `token` of `POST /concerts/{concert_id}/queue/tokens` "
    "(at most 512 characters).",
)


# The queue token as an admission check reads it: the security scheme, for the docs, and the
# header itself with its length check. They sit on the admission dependencies themselves rather
# than in a `QueueToken` node below them: every node FastAPI solves costs a hot route ~20 us of
# CPU, and a node below another is solved again wherever that other appears.
_QueueTokenScheme = Annotated[str | None, Security(_queue_token_scheme)]
_QueueTokenHeader = Annotated[
    str | None, Header(alias="X-Queue-Token", max_length=512, include_in_schema=False)
]


async def queue_token(
    _documented: _QueueTokenScheme, token: _QueueTokenHeader = None
) -> str | None:
    return token


QueueToken = Annotated[str | None, Depends(queue_token)]


@answers(ServiceUnavailable)
async def waiting_room(request: Request) -> WaitingRoom:
    room: WaitingRoom = request.app.state.waiting_room
    return room


Room = Annotated[WaitingRoom, Depends(waiting_room)]


async def _admission(request: Request, user_id: int, token: str | None) -> Admission:
    db: Database = request.app.state.db
    return await service.admission(db, await waiting_room(request), token, user_id)


@answers(QueueTokenInvalid, QueueNotAdmitted, UserBlocked, ServiceUnavailable)
async def admission(
    request: Request,
    user_id: CurrentUserId,
    _documented: _QueueTokenScheme,
    queue_token: _QueueTokenHeader = None,
) -> Admission:
    return await _admission(request, user_id, queue_token)


# "Admitted to this concert": the request's queue token is this user's ACTIVE one; the service
# holds it against the concert of the seat, schedule or reservation the request is about. The
# admission names its user, so a route that needs it asks for nothing else.
Admitted = Annotated[Admission, Depends(admission)]


@answers(RateLimited, QueueTokenInvalid, QueueNotAdmitted, UserBlocked, ServiceUnavailable)
async def holding_admission(
    request: Request,
    user_id: CurrentUserId,
    _documented: _QueueTokenScheme,
    queue_token: _QueueTokenHeader = None,
) -> Admission:
    """The same, for a hold: the user's hold rate limit first, so that a bot is turned away
    before its token is looked at."""
    await limit_holds(request, user_id)
    return await _admission(request, user_id, queue_token)


AdmittedToHold = Annotated[Admission, Depends(holding_admission)]


@answers(QueueTokenInvalid, QueueNotAdmitted, UserBlocked, ServiceUnavailable)
async def schedule_admission(
    request: Request,
    schedule_id: Annotated[int, path_id("Schedule id")],
    user_id: CurrentUserId,
    _documented: _QueueTokenScheme,
    queue_token: _QueueTokenHeader = None,
) -> Admission:
    """The same, for a route with a schedule in its path: a malformed id is answered (422)
    before the token is looked at, as it would be without a queue token."""
    return await _admission(request, user_id, queue_token)


AdmittedForSchedule = Annotated[Admission, Depends(schedule_admission)]
