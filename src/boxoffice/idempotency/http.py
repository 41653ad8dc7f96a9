"""The HTTP side of idempotency: the header, the request fingerprint, replays."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from boxoffice.db import Database
from boxoffice.errors import DomainError
from boxoffice.idempotency import store
from boxoffice.idempotency.store import Claim, Replay

R = TypeVar("R")

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


def fingerprint(request: Request, body: BaseModel) -> str:
    canonical = json.dumps(
        [request.method, request.url.path, body.model_dump(mode="json")], sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def run_idempotently(
    db: Database,
    user_id: int,
    key: str | None,
    request_fingerprint: str,
    work: Callable[[Claim | None], Awaitable[R]],
) -> R | JSONResponse:
    """Run `work` once per key. `work` stores its answer with `store.remember` in its own
    transaction; errors that changed nothing free the key for a retry."""
    if key is None:
        return await work(None)
    claimed = await store.claim(db, user_id, key, request_fingerprint)
    if isinstance(claimed, Replay):
        return replay_response(claimed)
    try:
        result = await work(claimed)
    except BaseException as error:
        kept = isinstance(error, DomainError) and error.keeps_changes and claimed.remembered
        if not kept:
            await _release_quietly(db, claimed)
        raise
    if not claimed.remembered:
        raise RuntimeError("idempotent work finished without remembering its response")
    return result


def replay_response(replay: Replay) -> JSONResponse:
    media_type = "application/problem+json" if replay.status >= 400 else "application/json"
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
