"""Idempotency keys on the balance charge: a retry gets the first answer and charges nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.idempotency import store
from boxoffice.tables import idempotency_key, point_history
from tests import api
from tests.conftest import ClientFactory

CHARGE = "/users/me/balance/charge"


async def keyed_charge(
    client: httpx.AsyncClient, user: dict[str, Any], amount: int, key: str
) -> httpx.Response:
    return await client.post(
        CHARGE, json={"amount": amount}, headers={**user["headers"], "Idempotency-Key": key}
    )


async def balance_of(client: httpx.AsyncClient, user: dict[str, Any]) -> int:
    response = await client.get("/users/me/balance", headers=user["headers"])
    balance: int = response.json()["balance"]
    return balance


async def charges_of(db: Database, user_id: int) -> int:
    async with db.reading() as conn:
        count: int = (
            await conn.execute(
                select(func.count()).where(
                    point_history.c.user_id == user_id, point_history.c.type == "CHARGE"
                )
            )
        ).scalar_one()
    return count


async def test_same_key_and_body_replay_the_first_answer(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    first = await keyed_charge(client, user, 12_000, "order-1")
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    for _ in range(3):
        again = await keyed_charge(client, user, 12_000, "order-1")
        assert again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.headers["content-type"] == "application/json"
        assert again.json() == first.json()
    assert await balance_of(client, user) == 12_000
    assert await charges_of(db, user["id"]) == 1


async def test_a_replay_is_the_first_answer_even_after_later_changes(
    client: httpx.AsyncClient,
) -> None:
    user = await api.sign_up(client)
    first = await keyed_charge(client, user, 1_000, "k")
    await api.charge(client, user, 500)
    replay = await keyed_charge(client, user, 1_000, "k")
    assert replay.json() == first.json() == {**first.json(), "balance": 1_000}
    assert await balance_of(client, user) == 1_500


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    assert (await keyed_charge(client, user, 1_000, "order-2")).status_code == 200
    reused = await keyed_charge(client, user, 2_000, "order-2")
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await balance_of(client, user) == 1_000
    assert await charges_of(db, user["id"]) == 1


async def test_keys_are_per_user(client: httpx.AsyncClient) -> None:
    kim, lee = await api.sign_up(client, "Kim"), await api.sign_up(client, "Lee")
    # Another user's key is no reuse and no replay, whatever the body.
    for user, amount in ((kim, 3_000), (lee, 4_000)):
        response = await keyed_charge(client, user, amount, "shared-key")
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response.headers
        assert response.json()["user_id"] == user["id"]
    for user, amount in ((kim, 3_000), (lee, 4_000)):
        replay = await keyed_charge(client, user, amount, "shared-key")
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json()["user_id"] == user["id"]
    assert await balance_of(client, kim) == 3_000
    assert await balance_of(client, lee) == 4_000


async def test_distinct_keys_charge_separately(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    for key in ("a", "b", "c"):
        assert (await keyed_charge(client, user, 100, key)).status_code == 200
    assert await balance_of(client, user) == 300


async def test_a_refused_charge_frees_its_key(make_client: ClientFactory) -> None:
    client = await make_client(max_charge=1_000)
    user = await api.sign_up(client)
    refused = await keyed_charge(client, user, 5_000, "retry-me")
    assert refused.status_code == 422
    assert refused.json()["code"] == "VALIDATION_ERROR"
    # Nothing was done, so the key is free: the corrected request runs, it is not a reuse.
    corrected = await keyed_charge(client, user, 500, "retry-me")
    assert corrected.status_code == 200
    assert "Idempotent-Replayed" not in corrected.headers
    assert await balance_of(client, user) == 500


@pytest.mark.parametrize("key", [b"", b"x" * 256, "caf\u00e9".encode(), b"tab\there"])
async def test_malformed_keys_are_refused(client: httpx.AsyncClient, key: bytes) -> None:
    user = await api.sign_up(client)
    headers = [(name.encode(), value.encode()) for name, value in user["headers"].items()]
    headers.append((b"Idempotency-Key", key))
    response = await client.post(CHARGE, json={"amount": 100}, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert await balance_of(client, user) == 0


async def test_the_longest_key_is_accepted(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    key = "~ !" + "k" * 252
    assert (await keyed_charge(client, user, 100, key)).status_code == 200
    assert (await keyed_charge(client, user, 100, key)).headers["Idempotent-Replayed"] == "true"
    assert await balance_of(client, user) == 100


async def test_a_key_does_not_bypass_authentication(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    assert (await keyed_charge(client, user, 100, "mine")).status_code == 200
    stranger = await client.post(CHARGE, json={"amount": 100}, headers={"Idempotency-Key": "mine"})
    assert stranger.status_code == 401
    assert stranger.json()["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_key_in_flight_is_in_use(client: httpx.AsyncClient, db: Database) -> None:
    """The first request is held inside its work by a row lock the test takes on the user, so
    it is truly still running when the second arrives. NO KEY UPDATE blocks the balance update
    but not the claim's insert, whose foreign key only needs a KEY SHARE lock on the user."""
    user = await api.sign_up(client)
    async with db.engine.connect() as blocker:
        await blocker.begin()
        await blocker.execute(
            text("SELECT id FROM users WHERE id = :id FOR NO KEY UPDATE"), {"id": user["id"]}
        )
        first = asyncio.create_task(keyed_charge(client, user, 7_000, "slow"))
        await _claimed(db, user["id"], "slow")
        in_use = await keyed_charge(client, user, 7_000, "slow")
        assert in_use.status_code == 409
        assert in_use.headers["content-type"] == "application/problem+json"
        assert in_use.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
        # A different body under the same key is still a reuse, in flight or not.
        reused = await keyed_charge(client, user, 8_000, "slow")
        assert reused.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert not first.done()
        await blocker.rollback()
    done = await asyncio.wait_for(first, timeout=30)
    assert done.status_code == 200
    replay = await keyed_charge(client, user, 7_000, "slow")
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == done.json()
    assert await balance_of(client, user) == 7_000
    assert await charges_of(db, user["id"]) == 1


async def _claimed(db: Database, user_id: int, key: str) -> None:
    """Wait until a request has claimed `key` (a condition, not a fixed sleep)."""
    query = select(func.count()).where(
        idempotency_key.c.user_id == user_id, idempotency_key.c.key == key
    )
    async with asyncio.timeout(30):
        while True:
            async with db.reading() as conn:
                if (await conn.execute(query)).scalar_one():
                    return
            await asyncio.sleep(0.01)


async def _key_row(db: Database, user_id: int, key: str) -> Any:
    async with db.reading() as conn:
        return (
            await conn.execute(
                select(idempotency_key).where(
                    idempotency_key.c.user_id == user_id, idempotency_key.c.key == key
                )
            )
        ).one()


async def test_an_abandoned_claim_is_taken_over_once_its_lease_runs_out(
    client: httpx.AsyncClient, db: Database
) -> None:
    """A process that died after claiming a key leaves the claim without an answer; a retry
    waits out the lease, then does the work itself."""
    kim, lee = await api.sign_up(client, "Kim"), await api.sign_up(client, "Lee")
    await keyed_charge(client, kim, 2_500, "crash")
    # The same request from another user has the same fingerprint (it is per user, not in it).
    fingerprint = (await _key_row(db, kim["id"], "crash")).fingerprint
    abandoned = await store.claim(db, lee["id"], "crash", fingerprint)
    assert isinstance(abandoned, store.Claim)
    in_use = await keyed_charge(client, lee, 2_500, "crash")
    assert in_use.status_code == 409 and in_use.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
    async with db.transaction() as conn:
        await conn.execute(
            update(idempotency_key)
            .where(idempotency_key.c.id == abandoned.id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    taken_over = await keyed_charge(client, lee, 2_500, "crash")
    assert taken_over.status_code == 200 and "Idempotent-Replayed" not in taken_over.headers
    replay = await keyed_charge(client, lee, 2_500, "crash")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await balance_of(client, lee) == 2_500
    assert await charges_of(db, lee["id"]) == 1


async def test_keys_are_kept_a_day_and_then_forgotten(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    await keyed_charge(client, user, 100, "recent")
    await keyed_charge(client, user, 100, "old")

    async def age(key: str, hours: float) -> None:
        async with db.transaction() as conn:
            await conn.execute(
                update(idempotency_key)
                .where(idempotency_key.c.user_id == user["id"], idempotency_key.c.key == key)
                .values(created_at=utcnow() - timedelta(hours=hours))
            )

    await age("recent", 24)
    await age("old", 26)
    # The app's sweeper may purge first; either way the old key is gone, the recent one kept.
    await store.purge_expired(db)
    async with db.reading() as conn:
        kept = (
            await conn.execute(
                select(idempotency_key.c.key).where(idempotency_key.c.user_id == user["id"])
            )
        ).scalars()
        assert list(kept) == ["recent"]
    recent = await keyed_charge(client, user, 100, "recent")
    assert recent.headers["Idempotent-Replayed"] == "true"
    forgotten = await keyed_charge(client, user, 100, "old")
    assert forgotten.status_code == 200 and "Idempotent-Replayed" not in forgotten.headers
    assert await balance_of(client, user) == 300


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_a_slow_request_and_the_retry_that_took_over_its_key_charge_once(
    client: httpx.AsyncClient, db: Database
) -> None:
    """A request outlives its claim's lease (held here by a row lock), a retry takes the key
    over, and both reach the end of their work: only one of them may commit."""
    user = await api.sign_up(client)
    async with db.engine.connect() as blocker:
        await blocker.begin()
        await blocker.execute(
            text("SELECT id FROM users WHERE id = :id FOR NO KEY UPDATE"), {"id": user["id"]}
        )
        slow = asyncio.create_task(keyed_charge(client, user, 9_000, "lease"))
        await _claimed(db, user["id"], "lease")
        async with db.transaction() as conn:
            await conn.execute(
                update(idempotency_key)
                .where(idempotency_key.c.user_id == user["id"])
                .values(locked_until=utcnow() - timedelta(seconds=1))
            )
        retry = asyncio.create_task(keyed_charge(client, user, 9_000, "lease"))
        await _lease_renewed(db, user["id"], "lease")
        await blocker.rollback()
    answers = await asyncio.wait_for(asyncio.gather(slow, retry), timeout=30)
    done = [a for a in answers if a.status_code == 200]
    assert len(done) == 1, [a.text for a in answers]
    others = [a for a in answers if a is not done[0]]
    assert [a.json()["code"] for a in others] == ["IDEMPOTENCY_KEY_IN_USE"]
    replay = await keyed_charge(client, user, 9_000, "lease")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == done[0].json()
    assert await balance_of(client, user) == 9_000
    assert await charges_of(db, user["id"]) == 1


async def _lease_renewed(db: Database, user_id: int, key: str) -> None:
    """Wait until a retry has taken over the expired claim on `key`."""
    query = select(idempotency_key.c.locked_until).where(
        idempotency_key.c.user_id == user_id, idempotency_key.c.key == key
    )
    async with asyncio.timeout(30):
        while True:
            async with db.reading() as conn:
                locked_until = (await conn.execute(query)).scalar_one()
            if locked_until is not None and locked_until > utcnow():
                return
            await asyncio.sleep(0.01)
