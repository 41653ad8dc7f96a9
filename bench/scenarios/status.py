"""Queue status: GET /queue/status with each user's X-Queue-Token, the users taken in turn."""

from __future__ import annotations

from bench.fixtures import User
from bench.wrk import Request

ENDPOINT = "GET /queue/status"


def requests(people: list[User]) -> list[Request]:
    return [Request("GET", "/api/v1/queue/status", headers=_headers(user)) for user in people]


def _headers(user: User) -> tuple[tuple[str, str], ...]:
    return tuple(user.headers.items())
