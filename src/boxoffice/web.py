"""Shared HTTP pieces: request-scoped dependencies, id types, problem-details documentation."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.errors import ValidationFailed

MAX_ID = 2**63 - 1

PROBLEM_JSON = "application/problem+json"


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def settings(request: Request) -> Settings:
    current: Settings = request.app.state.settings
    return current


Db = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(settings)]


class ContractRoute(APIRoute):
    """A route whose unreadable body is the contract's 422 VALIDATION_ERROR. FastAPI turns JSON
    syntax errors into validation errors itself, but answers a body that is not UTF-8 at all
    with a bare 400, which the contract does not have."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_unreadable_body(request: Request) -> Response:
            try:
                return await handle(request)
            except HTTPException as error:
                if error.status_code != 400:
                    raise
                raise ValidationFailed(
                    "The request body cannot be read as JSON.",
                    errors=[{"loc": ["body"], "msg": str(error.detail), "type": "json_invalid"}],
                ) from error

        return handle_unreadable_body


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
