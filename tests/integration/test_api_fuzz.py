"""Property-based fuzzing of every documented operation from the app's own OpenAPI document.

Whatever schemathesis sends, valid or not, the service never answers 5xx, and every answer is
one the document promises: a documented status, a documented content type, a body that fits
the documented schema. Generation is derandomized so that CI runs the same cases every time.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

from boxoffice.app import create_app
from boxoffice.auth import issue_access_token
from boxoffice.config import Settings
from boxoffice.migrate import upgrade
from tests import api, backends, conftest

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


async def _seed(app_settings: Settings) -> int:
    """A user and a little catalog, so that small generated ids sometimes exist."""
    async with api.app_client(app_settings) as client:
        user = await api.sign_up(client, "Fuzz")
        await api.charge(client, user, 1_000_000)
        for title in ("First", "Second"):
            concert = await api.create_concert(client, title)
            await api.create_schedule(client, concert["id"], seat_count=5)
        user_id: int = user["id"]
        return user_id


async def _forget(settings: Settings) -> None:
    """Leave the shared test database and Redis as the other tests expect them: empty."""
    await conftest.empty_tables(settings.database_url)
    if settings.redis_url:
        client = aioredis.from_url(settings.redis_url)
        await client.flushdb()
        await client.aclose()


# The schemas are loaded when the module is collected (pytest 9 no longer supports schemathesis'
# fixture-based loading), so the apps are built here, each on a database that its module fixture
# migrates and seeds before the first request starts the app's lifespan: SQLite with the
# database-backed waiting room, and PostgreSQL with Redis.
_DIRECTORY = Path(tempfile.gettempdir()) / f"boxoffice-fuzz-{uuid.uuid4().hex}"
_SQLITE = conftest.test_settings(f"sqlite:///{_DIRECTORY / 'fuzz.db'}")
_POSTGRES = conftest.test_settings(backends.POSTGRES_URL, redis_url=backends.REDIS_URL)


def _schema(app_settings: Settings) -> OpenApiSchema:
    app = create_app(app_settings)
    loaded = schemathesis.openapi.from_dict(app.openapi())
    # What schemathesis.openapi.from_asgi sets, without starting the app to fetch the document.
    loaded.app = app
    return loaded


sqlite_schema = _schema(_SQLITE)
postgres_schema = _schema(_POSTGRES)


def _headers(app_settings: Settings, user_id: int) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {issue_access_token(app_settings, user_id)}",
        "X-Admin-Key": conftest.ADMIN_KEY,
    }


@pytest.fixture(scope="module")
def sqlite_credentials() -> Iterator[dict[str, str]]:
    _DIRECTORY.mkdir()
    upgrade(_SQLITE.database_url)
    user_id = asyncio.run(_seed(_SQLITE))
    try:
        yield _headers(_SQLITE, user_id)
    finally:
        # The app's lifespan (and its sweeper) runs on schemathesis' own event loop thread.
        shutdown_lifespans()
        shutil.rmtree(_DIRECTORY, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_credentials(postgres_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    asyncio.run(_forget(_POSTGRES))
    user_id = asyncio.run(_seed(_POSTGRES))
    try:
        yield _headers(_POSTGRES, user_id)
    finally:
        shutdown_lifespans()
        asyncio.run(_forget(_POSTGRES))


def _builds_a_big_schedule(case: schemathesis.Case[Any]) -> bool:
    """A schedule of up to 100,000 seats is a valid request that takes seconds to build (and
    holds SQLite's one writer meanwhile); the fuzzer learns nothing from it that a small one
    does not teach. The documented examples give it a valid start time, so the boundary
    values of the other fields now reach the handler."""
    body = case.body if isinstance(case.body, dict) else {}
    seat_count = body.get("seat_count")
    seats = body.get("seats")
    return (
        case.method == "POST"
        and case.path.endswith("/schedules")
        and (
            (isinstance(seat_count, int) and seat_count > BIG_SCHEDULE)
            or (isinstance(seats, list) and len(seats) > BIG_SCHEDULE)
        )
    )


BIG_SCHEDULE = 1000
# Generous, for a busy CI machine: a timed-out request fails the run.
REQUEST_TIMEOUT_SECONDS = 60


def _call_and_validate(case: schemathesis.Case[Any], credentials: dict[str, str]) -> None:
    if _builds_a_big_schedule(case):
        return
    case.call_and_validate(headers=credentials, checks=CHECKS, timeout=REQUEST_TIMEOUT_SECONDS)


# Derandomized: CI runs the same cases every time. Enough examples per operation to reach past
# validation into the handlers, few enough that both backends take about a minute.
EXAMPLES = 40


# Valid credentials get the fuzzer past authentication to the handlers; missing and bad
# credentials are covered by test_errors.py.
@sqlite_schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_on_sqlite(
    case: schemathesis.Case[Any], sqlite_credentials: dict[str, str]
) -> None:
    _call_and_validate(case, sqlite_credentials)


@postgres_schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_on_postgres_and_redis(
    case: schemathesis.Case[Any], postgres_credentials: dict[str, str]
) -> None:
    _call_and_validate(case, postgres_credentials)
