"""The API accepts the pages' session cookie in place of a bearer token; a state-changing
request authenticated by the cookie needs the CSRF header, one with a bearer token does not."""

from __future__ import annotations

import httpx

from boxoffice.db import Database
from tests import api
from tests.booking import balance_of
from tests.integration.test_errors import assert_problem

CSRF = "a-random-csrf-token-of-the-pages-0123456789"


def cookies(user: dict[str, object], csrf: str | None = CSRF) -> dict[str, str]:
    jar = {"boxoffice_session": str(user["access_token"])}
    if csrf is not None:
        jar["boxoffice_csrf"] = csrf
    return jar


async def cookie_request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    jar: dict[str, str],
    headers: dict[str, str] | None = None,
    json: object = None,
) -> httpx.Response:
    header = "; ".join(f"{name}={value}" for name, value in jar.items())
    return await client.request(
        method, path, json=json, headers={"Cookie": header, **(headers or {})}
    )


async def test_reading_with_the_session_cookie(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    me = await cookie_request(client, "GET", "/users/me", cookies(user, csrf=None))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]


async def test_a_bad_session_cookie_is_unauthenticated(client: httpx.AsyncClient) -> None:
    for value in ("garbage", "a.b.c"):
        response = await cookie_request(client, "GET", "/users/me", {"boxoffice_session": value})
        assert_problem(response, 401, "UNAUTHENTICATED")
    assert_problem(await client.get("/users/me"), 401, "UNAUTHENTICATED")


async def test_a_cookie_authenticated_charge_needs_the_csrf_header(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    jar = cookies(user)
    body = {"amount": 1_000}
    refused = [
        await cookie_request(client, "POST", "/users/me/balance/charge", jar, json=body),
        await cookie_request(
            client,
            "POST",
            "/users/me/balance/charge",
            jar,
            headers={"X-CSRF-Token": "another-token"},
            json=body,
        ),
        await cookie_request(
            client,
            "POST",
            "/users/me/balance/charge",
            cookies(user, csrf=None),
            headers={"X-CSRF-Token": CSRF},
            json=body,
        ),
        await cookie_request(
            client,
            "POST",
            "/users/me/balance/charge",
            jar,
            headers={"X-CSRF-Token": CSRF, "Origin": "https://evil.example"},
            json=body,
        ),
    ]
    for response in refused:
        assert_problem(response, 403, "CSRF_TOKEN_INVALID")
    assert await balance_of(db, user["id"]) == 0

    accepted = await cookie_request(
        client,
        "POST",
        "/users/me/balance/charge",
        jar,
        headers={"X-CSRF-Token": CSRF, "Origin": "http://testserver"},
        json=body,
    )
    assert accepted.status_code == 200, accepted.text
    assert await balance_of(db, user["id"]) == 1_000


async def test_a_bearer_token_needs_no_csrf_header(client: httpx.AsyncClient, db: Database) -> None:
    user = await api.sign_up(client)
    response = await client.post(
        "/users/me/balance/charge",
        json={"amount": 500},
        headers={**user["headers"], "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 200, response.text
    assert await balance_of(db, user["id"]) == 500
