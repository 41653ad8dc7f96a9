"""Shared HTTP pieces: request-scoped dependencies and id types."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from pydantic import BeforeValidator, Field, Strict, StringConstraints
from pydantic.fields import FieldInfo
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.errors import ServiceUnavailable
from boxoffice.problems import answers

MAX_ID = 2**63 - 1

# The database or Redis did not answer: a 503 that changed nothing, never a 500.
UNREACHABLE = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


@answers(ServiceUnavailable)
async def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def settings(request: Request) -> Settings:
    current: Settings = request.app.state.settings
    return current


Db = Annotated[Database, Depends(database)]
AppSettings = Annotated[Settings, Depends(settings)]


_DECIMAL_DIGITS = re.compile(r"[0-9]+")


def _decimal_digits_only(value: Any) -> Any:
    """Left alone, pydantic reads "1.0", "+1" or " 1" as 1: a number in a URL is digits only."""
    if isinstance(value, str) and not _DECIMAL_DIGITS.fullmatch(value):
        raise ValueError("must be a whole number written in decimal digits")
    return value


def _digits_only(parameter: FieldInfo) -> Any:
    # The validator rides in the parameter's own metadata, so `Annotated[int, path_id(...)]`
    # gets it without every route having to name it.
    parameter.metadata.append(BeforeValidator(_decimal_digits_only))
    return parameter


def path_id(description: str) -> Any:
    return _digits_only(Path(ge=1, le=MAX_ID, description=description))


def query_count(low: int, high: int, description: str) -> Any:
    return _digits_only(Query(ge=low, le=high, description=description))


# One line of text: no control characters. PostgreSQL text cannot even hold NUL, so without
# this a NUL would be a database error on one backend and stored on the other.
ONE_LINE = r"^[^\x00-\x1f\x7f]+$"


def one_line(max_length: int) -> StringConstraints:
    """A trimmed, non-empty line of at most `max_length` characters."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=ONE_LINE
    )


# A whole number in a JSON body: a JSON integer, never `true`, `"12"`, `1.0` or `1e3`.
JsonInt = Annotated[int, Strict()]
BodyId = Annotated[JsonInt, Field(ge=1, le=MAX_ID)]
