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
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from boxoffice.app import create_app
from boxoffice.auth import issue_access_token
from boxoffice.config import Settings
from boxoffice.migrate import upgrade
from tests import api, conftest

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


# The schema is loaded when the module is collected (pytest 9 no longer supports schemathesis'
# fixture-based loading), so the app is built here, on a database file that the module fixture
# migrates and seeds before the first request starts the app's lifespan.
_DIRECTORY = Path(tempfile.gettempdir()) / f"boxoffice-fuzz-{uuid.uuid4().hex}"
_SETTINGS = conftest.test_settings(f"sqlite:///{_DIRECTORY / 'fuzz.db'}")
_APP = create_app(_SETTINGS)
schema = schemathesis.openapi.from_dict(_APP.openapi())
# What schemathesis.openapi.from_asgi sets, without starting the app to fetch the document.
schema.app = _APP


@pytest.fixture(scope="module")
def credentials() -> Iterator[dict[str, str]]:
    _DIRECTORY.mkdir()
    upgrade(_SETTINGS.database_url)
    user_id = asyncio.run(_seed(_SETTINGS))
    try:
        yield {
            "Authorization": f"Bearer {issue_access_token(_SETTINGS, user_id)}",
            "X-Admin-Key": conftest.ADMIN_KEY,
        }
    finally:
        # The app's lifespan (and its sweeper) runs on schemathesis' own event loop thread.
        shutdown_lifespans()
        shutil.rmtree(_DIRECTORY, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case[Any], credentials: dict[str, str]
) -> None:
    # Valid credentials get the fuzzer past authentication to the handlers; missing and bad
    # credentials are covered by test_errors.py.
    case.call_and_validate(headers=credentials, checks=CHECKS)
