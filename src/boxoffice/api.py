"""Shared HTTP pieces: request-scoped dependencies, id types, problem-details documentation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from boxoffice.config import Settings
from boxoffice.db import Database

MAX_ID = 2**63 - 1

PROBLEM_JSON = "application/problem+json"


async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def settings(request: Request) -> Settings:
    current: Settings = request.app.state.settings
    return current


Db = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(settings)]


def path_id(description: str) -> Any:
    return Path(ge=1, le=MAX_ID, description=description)


BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Problem(BaseModel):
    """RFC 9457 problem details, with the service's `code`."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None
    position: int | None = None


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer with."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Problem details"}
        for status in statuses
    }


# Every route may meet a malformed request or an unreachable database.
COMMON_PROBLEMS = problems(422, 503)
