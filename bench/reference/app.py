"""A minimal FastAPI + asyncpg app on boxoffice's schema: one statement per request.

- `GET /concerts/{id}`: one row by primary key.
- `POST /reservations` (`{"seat_id", "user_id"}`): the seat's compare-and-set and the insert of
  the hold in one statement, a CTE. No authentication, no waiting room, no hold limit, no
  hand-over of an expired hold: the floor under what boxoffice does.

Run under uvicorn with uvloop and httptools, with as many workers as the service.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

DATABASE_URL = os.environ.get("REFERENCE_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres")
POOL_SIZE = int(os.environ.get("REFERENCE_POOL_SIZE", "20"))

READ = "SELECT id, title, duration FROM concert WHERE id = $1"
HOLD = """
WITH taken AS (
    UPDATE seat SET status = 'UNAVAILABLE', updated_at = now()
    WHERE id = $1 AND status = 'AVAILABLE'
    RETURNING id, schedule_id, price
)
INSERT INTO reservation
    (user_id, schedule_id, seat_id, amount, status, expires_at, created_at, updated_at)
SELECT $2, schedule_id, id, price, 'TEMPORARY', now() + interval '5 minutes', now(), now()
FROM taken
RETURNING id, schedule_id, seat_id, amount, expires_at
"""


class HoldIn(BaseModel):
    seat_id: int
    user_id: int


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(DATABASE_URL, min_size=1, max_size=POOL_SIZE)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/concerts/{concert_id}", response_model=None)
async def read(concert_id: int) -> dict[str, Any] | JSONResponse:
    row = await app.state.pool.fetchrow(READ, concert_id)
    if row is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    minutes = row["duration"].hour * 60 + row["duration"].minute
    return {"id": row["id"], "title": row["title"], "duration_minutes": minutes}


@app.post("/reservations", status_code=201, response_model=None)
async def hold(body: HoldIn) -> dict[str, Any] | JSONResponse:
    row = await app.state.pool.fetchrow(HOLD, body.seat_id, body.user_id)
    if row is None:
        return JSONResponse({"detail": "seat unavailable"}, status_code=409)
    return {
        "id": row["id"],
        "schedule_id": row["schedule_id"],
        "seat_id": row["seat_id"],
        "amount": int(row["amount"]),
        "status": "TEMPORARY",
        "expires_at": row["expires_at"].isoformat(),
    }
