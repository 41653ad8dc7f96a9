"""Sign-up with a password and login: Argon2id hashes only, one answer for every wrong login."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from argon2 import extract_parameters
from sqlalchemy import select, update

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.tables import users
from tests import api
from tests.conftest import ClientFactory
from tests.crowd import insert_funded_users
from tests.integration.test_errors import assert_problem


async def stored_hash(db: Database, user_id: int) -> str | None:
    async with db.reading() as conn:
        value: str | None = (
            await conn.execute(select(users.c.password_hash).where(users.c.id == user_id))
        ).scalar_one()
    return value


async def test_a_password_is_stored_only_as_an_argon2id_hash(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client, password="pässwörd with spaces")
    stored = await stored_hash(db, user["id"])
    assert stored is not None and stored.startswith("$argon2id$")
    assert "pässwörd" not in stored
    # The cost comes from the settings (the tests' cheap profile).
    parameters = extract_parameters(stored)
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (1, 8, 1)
    other = await api.sign_up(client, password="pässwörd with spaces")
    assert await stored_hash(db, other["id"]) != stored  # salted


async def test_sign_up_answers_no_hash(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", json={"name": "Kim", "email": "kim@example.com", "password": api.PASSWORD}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"id", "name", "email", "balance", "created_at", "access_token"}


async def test_login_with_the_right_password_gives_a_working_token(
    client: httpx.AsyncClient,
) -> None:
    user = await api.sign_up(client)
    response = await api.log_in(client, user["email"].upper(), user["password"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 7 * 24 * 3600
    me = await client.get("/users/me", headers=api.bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == user["id"]


async def test_expires_in_follows_the_token_lifetime(make_client: ClientFactory) -> None:
    client = await make_client(access_token_ttl_seconds=900)
    user = await api.sign_up(client)
    response = await api.log_in(client, user["email"], user["password"])
    assert response.json()["expires_in"] == 900


async def test_a_wrong_password_and_an_unknown_email_get_one_answer(
    client: httpx.AsyncClient,
) -> None:
    user = await api.sign_up(client)
    answers: list[dict[str, Any]] = []
    for email, password in [
        (user["email"], user["password"] + "!"),
        (user["email"], user["password"].upper()),
        (user["email"], ""),
        ("nobody@example.com", user["password"]),
        ("not an email at all", user["password"]),
    ]:
        response = await client.post("/auth/token", json={"email": email, "password": password})
        if password == "":
            assert_problem(response, 422, "VALIDATION_ERROR")
            continue
        answers.append(assert_problem(response, 401, "INVALID_CREDENTIALS"))
        assert "access_token" not in response.text
    assert all(answer == answers[0] for answer in answers), answers


async def test_an_account_without_a_password_cannot_log_in(
    client: httpx.AsyncClient, db: Database
) -> None:
    """Accounts from before passwords (and bulk-seeded ones) have no hash: refused like any
    wrong password, while their tokens keep working."""
    async with db.transaction() as conn:
        [user_id] = await insert_funded_users(conn, ["old@example.com"], 0, utcnow())
    assert await stored_hash(db, user_id) is None
    wrong = await api.log_in(client, "old@example.com", "")
    assert_problem(wrong, 422, "VALIDATION_ERROR")
    for password in ("anything-at-all", "$argon2id$"):
        assert_problem(
            await api.log_in(client, "old@example.com", password), 401, "INVALID_CREDENTIALS"
        )


async def test_a_damaged_stored_hash_is_refused_not_a_crash(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    async with db.transaction() as conn:
        await conn.execute(
            update(users).where(users.c.id == user["id"]).values(password_hash="garbage")
        )
    response = await api.log_in(client, user["email"], user["password"])
    assert_problem(response, 401, "INVALID_CREDENTIALS")


async def test_a_hash_made_with_old_costs_is_upgraded_at_login(
    make_client: ClientFactory, db: Database
) -> None:
    cheap = await make_client()
    user = await api.sign_up(cheap)
    dearer = await make_client(password_time_cost=2, password_memory_kib=16)
    assert (await api.log_in(dearer, user["email"], user["password"])).status_code == 200
    stored = await stored_hash(db, user["id"])
    assert stored is not None
    parameters = extract_parameters(stored)
    assert (parameters.time_cost, parameters.memory_cost) == (2, 16)
    # The same password still opens the account, through either server.
    assert (await api.log_in(dearer, user["email"], user["password"])).status_code == 200
    assert (await api.log_in(cheap, user["email"], user["password"])).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "kim@example.com"},
        {"password": api.PASSWORD},
        {"email": 5, "password": api.PASSWORD},
        {"email": "kim@example.com", "password": 12345678},
        {"email": "kim@example.com", "password": None},
        {"email": "", "password": api.PASSWORD},
        {"email": "kim@example.com", "password": "x" * 129},
        {"email": "k" * 321, "password": api.PASSWORD},
        [],
    ],
)
async def test_bad_login_bodies_are_validation_errors(client: httpx.AsyncClient, body: Any) -> None:
    assert_problem(await client.post("/auth/token", json=body), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("password", ["1234567", "x" * 129])
async def test_a_password_outside_8_to_128_characters_is_refused_at_sign_up(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await client.post(
        "/users", json={"name": "Kim", "email": "kim@example.com", "password": password}
    )
    body = assert_problem(response, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["loc"] == ["body", "password"]
    assert_problem(await api.log_in(client, "kim@example.com", password), *_refusal(password))


def _refusal(password: str) -> tuple[int, str]:
    # Nobody can have such a password; a too long one is not even read.
    return (422, "VALIDATION_ERROR") if len(password) > 128 else (401, "INVALID_CREDENTIALS")


@pytest.mark.parametrize("password", ["12345678", "x" * 128, "한글 비밀번호입니다"])
async def test_passwords_of_8_to_128_characters_are_accepted(
    client: httpx.AsyncClient, password: str
) -> None:
    user = await api.sign_up(client, password=password)
    assert (await api.log_in(client, user["email"], password)).status_code == 200
