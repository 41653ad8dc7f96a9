"""The HTTP side of idempotency: the header, the request fingerprint, claims and replays.

`Idempotent` is a dependency of the routes that take an `Idempotency-Key`. It claims the key
before anything else of the request runs (a replay is answered even when, say, the queue
admission that the first request needed has ended since), and hands the route a recorder bound
to the claim and to the route's success status. The service passes that recorder to its unit of
work, which stores the answer in the same transaction as the work. When the request fails without
an answer stored, the key is given back for a retry.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from boxoffice.api import Db
from boxoffice.auth import CurrentUserId
from boxoffice.db import Database
from boxoffice.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from boxoffice.idempotency import store
from boxoffice.idempotency.store import AnswerRecorder, Claim, Replay
from boxoffice.problems import PROBLEM_JSON, answers

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="1-255 printable ASCII characters; a retry with the same key and body "
        "gets the first response again.",
    ),
]


class Replayed(Exception):
    """The request repeats one already answered: its stored answer is the response."""

    def __init__(self, replay: Replay) -> None:
        super().__init__("replayed")
        self.replay = replay


async def fingerprint(request: Request) -> str:
    """What makes two requests the same: method, path and the body's JSON value (key order and
    spacing aside)."""
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.hex()
    canonical = json.dumps([request.method, request.url.path, body], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


@asynccontextmanager
async def claimed(
    db: Database, user_id: int, key: str | None, request_fingerprint: str, success_status: int
) -> AsyncIterator[AnswerRecorder | None]:
    """Claim `key` for the work done inside the block, and give the recorder that stores its
    answer (None without a key). A request answered before raises `Replayed`; when the block
    fails without an answer stored, the key is given back."""
    if key is None:
        yield None
        return
    claim = await store.claim(db, user_id, key, request_fingerprint)
    if isinstance(claim, Replay):
        raise Replayed(claim)
    try:
        yield store.recorder(claim, success_status)
    except BaseException:
        await _release_quietly(db, claim)
        raise


@answers(IdempotencyKeyInUse, IdempotencyKeyReused)
async def idempotent(
    request: Request, user_id: CurrentUserId, db: Db, key: IdempotencyKey = None
) -> AsyncIterator[AnswerRecorder | None]:
    status = _success_status(request)
    async with claimed(db, user_id, key, await fingerprint(request), status) as recorder:
        yield recorder


# The recorder for this request's answer; None when it carries no Idempotency-Key.
Idempotent = Annotated[AnswerRecorder | None, Depends(idempotent)]


def _success_status(request: Request) -> int:
    status: int | None = getattr(request.scope.get("route"), "status_code", None)
    return status or 200


def replay_response(replay: Replay) -> JSONResponse:
    media_type = PROBLEM_JSON if replay.status >= 400 else "application/json"
    return JSONResponse(
        replay.body,
        status_code=replay.status,
        media_type=media_type,
        headers={"Idempotent-Replayed": "true"},
    )


async def _release_quietly(db: Database, claim: Claim) -> None:
    # If the database is out of reach, the claim's lease runs out and a retry takes it over.
    with contextlib.suppress(Exception):
        await store.release(db, claim)
