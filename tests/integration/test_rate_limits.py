"""Rate limits against bots: sign-ups per client address, queue joins per client address, holds
per user; 429 RATE_LIMITED with Retry-After; counted once for all server processes (in the
database, or in Redis under BOXOFFICE_REDIS_PREFIX); X-Forwarded-For believed only from
BOXOFFICE_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis

from boxoffice.db import Database
from tests import api, backends, booking
from tests.conftest import ClientFactory, empty_tables
from tests.servers import clients_for, running_servers

LIMIT = 3
LIMITED = {
    "rate_limit_auth": f"{LIMIT}/minute",
    "rate_limit_join": f"{LIMIT}/minute",
    "rate_limit_hold": f"{LIMIT}/minute",
}
_emails = itertools.count()
PASSWORD = "correct horse battery staple"


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def sign_up(client: httpx.AsyncClient, address: str) -> httpx.Response:
    email = f"bot{next(_emails)}-{uuid.uuid4().hex[:8]}@example.com"
    return await client.post(
        "/users",
        json={"name": "Bot", "email": email, "password": PASSWORD},
        headers=from_address(address),
    )


async def log_in(client: httpx.AsyncClient, email: str, address: str) -> httpx.Response:
    return await client.post(
        "/auth/token",
        json={"email": email, "password": PASSWORD},
        headers=from_address(address),
    )


# --- across two server processes, on each store ------------------------------------------------


@pytest.fixture(
    params=[("sqlite", "database"), ("postgres", "database"), ("postgres", "redis")],
    ids=["sqlite", "postgres", "redis"],
)
def servers(request: pytest.FixtureRequest) -> Iterator[tuple[list[str], str, str | None]]:
    """Two server processes with the limits at 3 a minute, trusting 127.0.0.1 as a proxy;
    yields their URLs, the database URL and the Redis prefix (None on the database store)."""
    backend, store = request.param
    database_url: str = request.getfixturevalue(f"{backend}_url")
    settings: dict[str, str] = {**LIMITED, "trusted_proxies": "127.0.0.1"}
    prefix = None
    if store == "redis":
        prefix = f"boxoffice-test-{uuid.uuid4().hex[:8]}:"
        settings |= {"redis_url": request.getfixturevalue("redis_url"), "redis_prefix": prefix}
    try:
        with running_servers(database_url, count=2, **settings) as bases:
            yield list(bases), database_url, prefix
    finally:
        asyncio.run(empty_tables(database_url))


async def test_limits_hold_across_processes(servers: tuple[list[str], str, str | None]) -> None:
    bases, database_url, prefix = servers
    async with clients_for(bases) as (one, two):
        alternate = itertools.cycle([one, two])

        # Sign-ups: three from one address, then 429 on either process; another address is fine.
        answers = [await sign_up(next(alternate), "203.0.113.7") for _ in range(LIMIT + 2)]
        assert [a.status_code for a in answers[:LIMIT]] == [201] * LIMIT
        for refused in answers[LIMIT:]:
            assert_rate_limited(refused)
        assert (await sign_up(two, "203.0.113.8")).status_code == 201

        db = Database(database_url)
        try:
            fans = await booking.create_users(db, LIMIT + 2)
        finally:
            await db.dispose()
        concert = await api.create_concert(one)

        # Joins: per address, whoever the user is.
        joins = [
            await next(alternate).post(
                f"/concerts/{concert['id']}/queue/tokens",
                headers={**fan["headers"], **from_address("198.51.100.1")},
            )
            for fan in fans[: LIMIT + 1]
        ]
        assert [j.status_code for j in joins[:LIMIT]] == [201] * LIMIT
        assert_rate_limited(joins[LIMIT])
        elsewhere = await two.post(
            f"/concerts/{concert['id']}/queue/tokens",
            headers={**fans[LIMIT + 1]["headers"], **from_address("198.51.100.2")},
        )
        assert elsewhere.status_code == 201

        # Holds: per user, whatever the address; counted before the queue gate.
        holder, other = fans[0], fans[1]
        holds = [
            await next(alternate).post(
                "/reservations",
                json={"seat_id": 1},
                headers={**holder["headers"], **from_address(f"192.0.2.{n}")},
            )
            for n in range(LIMIT + 1)
        ]
        assert [booking.code(h) for h in holds[:LIMIT]] == ["QUEUE_TOKEN_INVALID"] * LIMIT
        assert_rate_limited(holds[LIMIT])
        not_limited = await one.post("/reservations", json={"seat_id": 1}, headers=other["headers"])
        assert booking.code(not_limited) == "QUEUE_TOKEN_INVALID"

    if prefix is not None:
        redis = aioredis.from_url(backends.REDIS_URL)
        try:
            keys = [key.decode() async for key in redis.scan_iter(match="*ratelimit*")]
        finally:
            await redis.aclose()
        mine = [key for key in keys if key.startswith(prefix)]
        assert mine, keys  # the counters live under the deployment's prefix


# --- the client address -------------------------------------------------------------------------


async def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(
    make_client: ClientFactory,
) -> None:
    client = await make_client(**LIMITED)  # no trusted proxies: the peer is the address
    answers = [await sign_up(client, f"203.0.113.{n}") for n in range(LIMIT + 1)]
    assert [a.status_code for a in answers[:LIMIT]] == [201] * LIMIT
    assert_rate_limited(answers[LIMIT])


def test_a_served_process_believes_no_forwarded_address_unless_told(sqlite_url: str) -> None:
    # The HTTP server itself must not rewrite the client address from X-Forwarded-For (uvicorn
    # does by default for a peer on 127.0.0.1): only BOXOFFICE_TRUSTED_PROXIES says whom to
    # believe, and by default nobody is.
    try:
        with running_servers(sqlite_url, count=1, **LIMITED) as (base,):
            answers = [asyncio.run(_sign_up_at(base, f"203.0.113.{n}")) for n in range(LIMIT + 1)]
    finally:
        asyncio.run(empty_tables(sqlite_url))
    assert [a.status_code for a in answers[:LIMIT]] == [201] * LIMIT
    assert_rate_limited(answers[LIMIT])


async def _sign_up_at(base: str, address: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await sign_up(client, address)


async def test_behind_a_trusted_proxy_a_client_cannot_choose_its_address(
    make_client: ClientFactory,
) -> None:
    # The proxy appends the address it saw; whatever the client wrote before it is not believed.
    client = await make_client(**LIMITED, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    answers = [
        await sign_up(client, f"203.0.113.{n}, 198.51.100.5, 10.1.2.3") for n in range(LIMIT + 1)
    ]
    assert [a.status_code for a in answers[:LIMIT]] == [201] * LIMIT
    assert_rate_limited(answers[LIMIT])
    assert (await sign_up(client, "198.51.100.6, 10.1.2.3")).status_code == 201


async def test_logins_and_sign_ups_share_one_limit(make_client: ClientFactory) -> None:
    client = await make_client(**LIMITED)
    user = (await sign_up(client, "ignored")).json()
    answers = [await log_in(client, user["email"], "ignored") for _ in range(LIMIT)]
    assert [a.status_code for a in answers[: LIMIT - 1]] == [200] * (LIMIT - 1)
    assert_rate_limited(answers[LIMIT - 1])
    assert_rate_limited(await sign_up(client, "ignored"))


async def test_the_limits_are_configuration(make_client: ClientFactory) -> None:
    client = await make_client(rate_limit_auth="1/minute")
    assert (await sign_up(client, "ignored")).status_code == 201
    assert_rate_limited(await sign_up(client, "ignored"))
