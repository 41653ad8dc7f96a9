"""Every error is problem details with the contract's `code`, and a refused request changes
nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from boxoffice.app import create_app
from boxoffice.db import Database
from boxoffice.tables import idempotency_key, point_history, users
from tests import api, conftest
from tests.conftest import JWT_SECRET, ClientFactory

PROBLEM_JSON = "application/problem+json"
# Nothing listens on the discard port, so every connection is refused at once.
UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:9/nowhere"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    assert body["type"] == "about:blank"
    if code == "VALIDATION_ERROR":
        assert isinstance(body["errors"], list) and body["errors"]
    return body


async def ledger_state(db: Database) -> tuple[Any, ...]:
    """Everything a refused charge or sign-up must leave as it was."""
    async with db.reading() as conn:
        user_rows = (await conn.execute(select(users.c.id, users.c.balance))).all()
        entries = (await conn.execute(select(func.count()).select_from(point_history))).scalar()
    return tuple(sorted(tuple(row) for row in user_rows)), entries


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"",
        b"null",
        b"[]",
        b'"text"',
        b'{"name": "Kim", "email": "kim@example.com", "password": "secret123"',
        b"\xff",
    ],
)
async def test_malformed_json_is_a_validation_error(
    client: httpx.AsyncClient, db: Database, content: bytes
) -> None:
    response = await client.post(
        "/users", content=content, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert await ledger_state(db) == ((), 0)


@pytest.mark.parametrize(
    "body",
    [
        {"name": 5, "email": "kim@example.com", "password": api.PASSWORD},
        {"name": "Kim", "password": api.PASSWORD},
        {"name": "", "email": "kim@example.com", "password": api.PASSWORD},
        {"name": "x" * 101, "email": "kim@example.com", "password": api.PASSWORD},
        {"name": "Kim", "email": "not-an-email", "password": api.PASSWORD},
        {"name": "Kim", "email": ["kim@example.com"], "password": api.PASSWORD},
        {"name": "Line\nbreak", "email": "kim@example.com", "password": api.PASSWORD},
        {"name": "Kim", "email": "kim@example.com"},
        {"name": "Kim", "email": "kim@example.com", "password": "seven77"},
        {"name": "Kim", "email": "kim@example.com", "password": "x" * 129},
        {"name": "Kim", "email": "kim@example.com", "password": 12345678},
        {"name": "Kim", "email": "kim@example.com", "password": None},
    ],
)
async def test_bad_sign_up_bodies_are_refused(
    client: httpx.AsyncClient, db: Database, body: dict[str, Any]
) -> None:
    assert_problem(await client.post("/users", json=body), 422, "VALIDATION_ERROR")
    assert await ledger_state(db) == ((), 0)


@pytest.mark.parametrize("amount", [0, -1, -10_000, 1.5, "abc", None, [100], {"won": 1}, 10**30])
async def test_bad_charge_amounts_change_nothing(
    client: httpx.AsyncClient, db: Database, amount: Any
) -> None:
    user = await api.sign_up(client)
    await api.charge(client, user, 5_000)
    before = await ledger_state(db)
    response = await client.post(
        "/users/me/balance/charge", json={"amount": amount}, headers=user["headers"]
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert await ledger_state(db) == before
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 5_000


async def test_a_charge_over_the_maximum_is_refused(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(max_charge=50_000)
    user = await api.sign_up(client)
    assert (await api.charge(client, user, 50_000)).status_code == 200
    before = await ledger_state(db)
    assert_problem(await api.charge(client, user, 50_001), 422, "VALIDATION_ERROR")
    assert await ledger_state(db) == before


async def test_a_charge_without_a_body_is_refused(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    response = await client.post("/users/me/balance/charge", headers=user["headers"])
    assert_problem(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", ""])
async def test_limit_outside_one_to_a_hundred_is_refused(
    client: httpx.AsyncClient, limit: str
) -> None:
    user = await api.sign_up(client)
    for path, headers in [("/concerts", {}), ("/users/me/point-history", user["headers"])]:
        response = await client.get(path, params={"limit": limit}, headers=headers)
        assert_problem(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("limit", ["1", "100"])
async def test_limit_bounds_are_accepted(client: httpx.AsyncClient, limit: str) -> None:
    assert (await client.get("/concerts", params={"limit": limit})).status_code == 200


def signed(claims: dict[str, Any], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def _bad_authorizations(user_id: int) -> list[dict[str, str]]:
    now = datetime.now(UTC)
    live = {"sub": str(user_id), "iat": now, "exp": now + timedelta(hours=1)}
    return [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + signed(live, secret="another-secret-of-sufficient-length!!")},
        {"Authorization": "Bearer " + signed({**live, "exp": now - timedelta(seconds=5)})},
        {"Authorization": "Bearer " + signed({"sub": str(user_id)})},
        {"Authorization": "Bearer " + signed({**live, "sub": "kim"})},
        {"Authorization": "Bearer " + signed({**live, "sub": "0"})},
        {"Authorization": "Bearer " + signed({**live, "sub": str(2**70)})},
        {"Authorization": "Bearer " + jwt.encode(live, key=None, algorithm="none")},
    ]


async def test_bad_bearer_tokens_are_unauthenticated(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    await api.charge(client, user, 1_000)
    before = await ledger_state(db)
    for headers in _bad_authorizations(user["id"]):
        for method, path, body in [
            ("GET", "/users/me", None),
            ("GET", "/users/me/balance", None),
            ("GET", "/users/me/point-history", None),
            ("POST", "/users/me/balance/charge", {"amount": 100}),
        ]:
            response = await client.request(method, path, json=body, headers=headers)
            assert_problem(response, 401, "UNAUTHENTICATED")
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="boxoffice"'
    assert await ledger_state(db) == before


# Bodies the user routes would accept, so that nothing but the token can be wrong.
_BODIES: dict[str, dict[str, Any]] = {
    "/api/v1/users/me/balance/charge": {"amount": 100},
    "/api/v1/reservations": {"seat_id": 1},
    "/api/v1/payments": {"reservation_id": 1},
}


def _user_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with every id 1) of every API operation that acts for a user: those the
    OpenAPI document marks with the bearer scheme."""
    return [
        (method.upper(), re.sub(r"\{[a-z_]+\}", "1", path))
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if any("BearerToken" in scheme for scheme in operation.get("security", []))
    ]


@pytest.mark.parametrize("with_key", [False, True], ids=["plain", "idempotency-key"])
async def test_a_token_for_a_user_that_does_not_exist_is_unauthenticated_everywhere(
    database_url: str, db: Database, with_key: bool
) -> None:
    """Signed with the right secret, unexpired, and naming no user: on every route that acts
    for a user (reads, lists, writes, with an Idempotency-Key or not) it is 401, and it leaves
    nothing behind."""
    now = datetime.now(UTC)
    ghost = signed({"sub": "987654", "iat": now, "exp": now + timedelta(hours=1)})
    headers = {**api.bearer(ghost), "X-Queue-Token": "1.not-a-token"}
    if with_key:
        headers["Idempotency-Key"] = "ghost-key"
    app = create_app(conftest.test_settings(database_url))
    routes = _user_routes(app)
    assert {
        ("GET", "/api/v1/users/me/point-history"),
        ("GET", "/api/v1/users/me/reservations"),
        ("POST", "/api/v1/users/me/balance/charge"),
        ("POST", "/api/v1/payments"),
        ("POST", "/api/v1/reservations"),
    } <= set(routes)
    async with api.app_client(conftest.test_settings(database_url), base_url="http://t") as client:
        for method, path in routes:
            response = await client.request(
                method, path, json=_BODIES.get(path), headers=headers, timeout=10
            )
            assert (response.status_code, response.json().get("code")) == (
                401,
                "UNAUTHENTICATED",
            ), (method, path, response.text)
    async with db.reading() as conn:
        keys = (await conn.execute(select(func.count()).select_from(idempotency_key))).scalar()
    assert keys == 0


async def test_unknown_ids_have_their_own_not_found_codes(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    for path, code in [
        ("/concerts/424242", "CONCERT_NOT_FOUND"),
        ("/concerts/424242/schedules", "CONCERT_NOT_FOUND"),
        ("/reservations/424242", "RESERVATION_NOT_FOUND"),
        ("/payments/424242", "PAYMENT_NOT_FOUND"),
    ]:
        assert_problem(await client.get(path, headers=user["headers"]), 404, code)


@pytest.mark.parametrize("bad_id", ["0", "-3", "abc", "1.5", str(2**63), "9" * 40])
async def test_malformed_path_ids_are_validation_errors(
    client: httpx.AsyncClient, bad_id: str
) -> None:
    user = await api.sign_up(client)
    for path in (
        f"/concerts/{bad_id}",
        f"/concerts/{bad_id}/schedules",
        f"/reservations/{bad_id}",
        f"/payments/{bad_id}",
    ):
        response = await client.get(path, headers=user["headers"])
        assert_problem(response, 422, "VALIDATION_ERROR")


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM_JSON
    assert missing.json()["status"] == 404 and missing.json()["code"]
    wrong_method = await client.delete("/concerts")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM_JSON
    assert wrong_method.json()["status"] == 405 and wrong_method.json()["code"]


async def test_an_email_is_taken_whatever_its_case(client: httpx.AsyncClient, db: Database) -> None:
    first = await client.post(
        "/users", json={"name": "Kim", "email": "kim@example.com", "password": api.PASSWORD}
    )
    assert first.status_code == 201
    before = await ledger_state(db)
    for email in ("kim@example.com", "KIM@Example.COM"):
        again = await client.post(
            "/users", json={"name": "Other", "email": email, "password": api.PASSWORD}
        )
        assert_problem(again, 409, "EMAIL_TAKEN")
    assert await ledger_state(db) == before


async def test_an_unreachable_database_is_service_unavailable() -> None:
    async with api.app_client(conftest.test_settings(UNREACHABLE_DATABASE)) as client:
        signed_up = await client.post(
            "/users", json={"name": "Kim", "email": "kim@example.com", "password": api.PASSWORD}
        )
        assert_problem(signed_up, 503, "SERVICE_UNAVAILABLE")
        assert signed_up.headers["Retry-After"] == "1"
        assert_problem(await client.get("/concerts"), 503, "SERVICE_UNAVAILABLE")


@pytest.mark.parametrize(
    "path",
    [
        "/users",
        "/auth/token",
        "/users/me/balance/charge",
        "/admin/concerts",
        "/admin/concerts/1/schedules",
        "/reservations",
        "/payments",
    ],
)
async def test_a_body_that_is_not_utf8_is_a_validation_error(
    client: httpx.AsyncClient, path: str
) -> None:
    user = await api.sign_up(client)
    response = await client.post(
        path,
        content=b'{"amount": "\xff\xfe"}',
        headers={**user["headers"], **api.ADMIN, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Content-Type": "text/plain"}, {"Content-Type": "application/x-www-form-urlencoded"}],
)
async def test_a_body_that_is_not_declared_json_is_refused(
    client: httpx.AsyncClient, db: Database, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/users",
        content=b'{"name": "Kim", "email": "kim@example.com", "password": "secret123"}',
        headers=headers,
    )
    assert_problem(response, 422, "VALIDATION_ERROR")
    assert await ledger_state(db) == ((), 0)


async def test_a_nul_character_is_a_validation_error_on_every_database(
    client: httpx.AsyncClient,
) -> None:
    """PostgreSQL text cannot hold NUL: refused before the database sees it, on both."""
    login = await client.post("/auth/token", json={"email": "\x00", "password": "whatever1"})
    assert_problem(login, 422, "VALIDATION_ERROR")
    search = await client.get("/admin/users", params={"email": "a\x00b"}, headers=api.ADMIN)
    assert_problem(search, 422, "VALIDATION_ERROR")
    concert = await client.post(
        "/admin/concerts", json={"title": "x\x00y", "duration_minutes": 90}, headers=api.ADMIN
    )
    assert_problem(concert, 422, "VALIDATION_ERROR")
