"""The operator blocks and unblocks users: a block ends the user's live holds at once, and a
blocked user's joins, holds, payments and charges are refused with 403 USER_BLOCKED. On SQLite
and PostgreSQL with the waiting room in the database, and on PostgreSQL with it in Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.liveness import is_live_hold
from boxoffice.tables import reservation, seat_change
from tests import api, booking, rooms
from tests.api import ADMIN
from tests.conftest import ClientFactory

# The three deployments of the waiting room (see tests/rooms.py).
room_and_backend = rooms.room_and_backend
room = rooms.room
backend = rooms.backend
room_settings = rooms.room_settings


@pytest.fixture
async def shop(make_client: ClientFactory, room_settings: dict[str, Any]) -> httpx.AsyncClient:
    return await make_client(**booking.OPEN_DOORS, hold_limit=40, **room_settings)


@pytest.fixture(autouse=True)
async def audited(db: Database) -> AsyncIterator[None]:
    """Every scenario leaves data that `boxoffice audit` accepts."""
    yield
    await booking.assert_audit_passes(db)


async def block(client: httpx.AsyncClient, user_id: int) -> dict[str, Any]:
    response = await client.post(f"/admin/users/{user_id}/block", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def unblock(client: httpx.AsyncClient, user_id: int) -> dict[str, Any]:
    response = await client.post(f"/admin/users/{user_id}/unblock", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused_as_blocked(response: httpx.Response) -> bool:
    return booking.outcome(response) == (403, "USER_BLOCKED")


async def live_holds_of(db: Database, user_id: int) -> int:
    async with db.reading() as conn:
        count = await conn.execute(
            select(func.count())
            .select_from(reservation)
            .where(reservation.c.user_id == user_id, is_live_hold(utcnow()))
        )
        return int(count.scalar_one())


async def test_block_and_unblock_answer_the_account_and_the_user_list_shows_it(
    shop: httpx.AsyncClient,
) -> None:
    fan = await api.sign_up(shop)
    await api.charge(shop, fan, 5_000)

    blocked = await block(shop, fan["id"])
    assert blocked["blocked"] is True and blocked["blocked_at"] is not None
    assert (blocked["id"], blocked["email"], blocked["balance"]) == (fan["id"], fan["email"], 5_000)
    listed = await shop.get("/admin/users", params={"email": fan["email"]}, headers=ADMIN)
    assert [(u["id"], u["blocked"]) for u in listed.json()["items"]] == [(fan["id"], True)]
    # Blocking again changes nothing, not even the time of the block.
    assert await block(shop, fan["id"]) == blocked

    unblocked = await unblock(shop, fan["id"])
    assert (unblocked["blocked"], unblocked["blocked_at"]) == (False, None)
    listed = await shop.get("/admin/users", params={"email": fan["email"]}, headers=ADMIN)
    assert [u["blocked"] for u in listed.json()["items"]] == [False]
    assert await unblock(shop, fan["id"]) == unblocked


async def test_a_block_ends_live_holds_at_once_and_leaves_paid_tickets(
    shop: httpx.AsyncClient, db: Database
) -> None:
    concert = await api.create_concert(shop)
    schedule = await api.create_schedule(shop, concert["id"], seat_count=4, price=10_000)
    seats = await booking.seat_ids(db, schedule["id"])
    fan, other = await api.sign_up(shop), await api.sign_up(shop)
    await api.charge(shop, fan, 10_000)
    fan_queue = await booking.admitted(shop, fan, concert["id"])
    other_queue = await booking.admitted(shop, other, concert["id"])
    bought = await booking.held(shop, fan_queue, seats[0])
    holds = [await booking.held(shop, fan_queue, seat) for seat in seats[1:3]]
    await booking.paid(shop, fan_queue, bought["id"])

    await block(shop, fan["id"])

    reservations = await shop.get("/users/me/reservations", headers=fan["headers"])
    assert {r["id"]: r["status"] for r in reservations.json()["items"]} == {
        bought["id"]: "CONFIRMED",
        holds[0]["id"]: "CANCELLED",
        holds[1]["id"]: "CANCELLED",
    }
    # The seats are back on sale at once: another fan takes one before any sweep.
    assert await booking.seat_statuses(shop, other_queue, schedule["id"]) == {
        seats[0]: "UNAVAILABLE",
        seats[1]: "AVAILABLE",
        seats[2]: "AVAILABLE",
        seats[3]: "AVAILABLE",
    }
    await booking.held(shop, other_queue, seats[1])
    # The live seat maps read the seat change log: both seats went back on sale there.
    async with db.reading() as conn:
        logged = await conn.execute(
            select(seat_change.c.seat_id, seat_change.c.status)
            .where(seat_change.c.schedule_id == schedule["id"])
            .order_by(seat_change.c.id)
        )
        changes = [tuple(row) for row in logged]
    # (One statement freed both, in no particular order.)
    assert set(changes[-3:-1]) == {(seats[1], "AVAILABLE"), (seats[2], "AVAILABLE")}
    assert changes[-1] == (seats[1], "UNAVAILABLE")
    await booking.wait_until_folded(db, schedule["id"], expected=2)


async def test_a_blocked_user_cannot_join_hold_pay_or_charge_until_unblocked(
    shop: httpx.AsyncClient, db: Database
) -> None:
    concert = await api.create_concert(shop)
    other_concert = await api.create_concert(shop, title="Another")
    schedule = await api.create_schedule(shop, concert["id"], seat_count=3, price=10_000)
    seats = await booking.seat_ids(db, schedule["id"])
    fan = await api.sign_up(shop)
    await api.charge(shop, fan, 50_000)
    queue = await booking.admitted(shop, fan, concert["id"])
    hold = await booking.held(shop, queue, seats[0])

    await block(shop, fan["id"])

    # The block gave up the admission; the token's refusal still says why.
    assert refused_as_blocked(await booking.hold(shop, queue, seats[1]))
    assert refused_as_blocked(await booking.pay(shop, queue, hold["id"]))
    assert refused_as_blocked(await booking.pay(shop, queue, hold["id"], idempotency_key="k1"))
    joined = await shop.post(
        f"/concerts/{other_concert['id']}/queue/tokens", headers=fan["headers"]
    )
    assert refused_as_blocked(joined)
    assert refused_as_blocked(await api.charge(shop, fan, 1_000))
    keyed = {**fan["headers"], "Idempotency-Key": "charge-1"}
    charge = await shop.post("/users/me/balance/charge", json={"amount": 1_000}, headers=keyed)
    assert refused_as_blocked(charge)
    assert charge.json()["title"] == "User blocked"
    # Reading is still allowed: the balance is untouched and nothing was paid.
    balance = await shop.get("/users/me/balance", headers=fan["headers"])
    assert balance.json()["balance"] == 50_000
    history = await shop.get("/users/me/point-history", headers=fan["headers"])
    assert [entry["type"] for entry in history.json()["items"]] == ["CHARGE"]

    await unblock(shop, fan["id"])

    # The refused charge kept nothing under its key: the same request now goes through.
    charge = await shop.post("/users/me/balance/charge", json={"amount": 1_000}, headers=keyed)
    assert charge.status_code == 200, charge.text
    joined = await shop.post(
        f"/concerts/{other_concert['id']}/queue/tokens", headers=fan["headers"]
    )
    assert joined.status_code == 201, joined.text
    # The place in line went with the block: the old token buys nothing, a new one does.
    assert booking.code(await booking.hold(shop, queue, seats[1])) == "QUEUE_TOKEN_INVALID"
    queue = await booking.admitted(shop, fan, concert["id"])
    again = await booking.held(shop, queue, seats[1])
    await booking.paid(shop, queue, again["id"])


async def test_a_block_gives_the_users_places_in_line_to_those_behind(
    make_client: ClientFactory, room_settings: dict[str, Any]
) -> None:
    # One admitted at a time: the blocked fan's admission would keep the next fan out for the
    # whole BOXOFFICE_QUEUE_ACTIVE_TTL_SECONDS, and the fan's waiting place elsewhere would
    # stand ahead of others although it can buy nothing.
    client = await make_client(queue_max_active=1, **room_settings)
    concert, other = await api.create_concert(client), await api.create_concert(client)
    bot, next_fan, first_elsewhere = [await api.sign_up(client) for _ in range(3)]
    await booking.admitted(client, bot, concert["id"])
    waiting = await _join(client, next_fan, concert["id"])
    await booking.admitted(client, first_elsewhere, other["id"])
    bot_elsewhere = await _join(client, bot, other["id"])
    assert (waiting["status"], waiting["position"]) == ("WAITING", 1)
    assert (bot_elsewhere["status"], bot_elsewhere["position"]) == ("WAITING", 1)

    await block(client, bot["id"])

    assert (await _status(client, next_fan, waiting["token"]))["status"] == "ACTIVE"
    assert (await _status(client, bot, bot_elsewhere["token"]))["status"] == "EXPIRED"


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> dict[str, Any]:
    response = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def _status(client: httpx.AsyncClient, user: dict[str, Any], token: str) -> dict[str, Any]:
    headers = {**user["headers"], "X-Queue-Token": token}
    response = await client.get("/queue/status", headers=headers)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


async def test_holds_racing_a_block_leave_the_user_no_live_hold(
    shop: httpx.AsyncClient, db: Database
) -> None:
    """Whatever the interleaving, each hold either lands before the block (and the block ends
    it) or is refused: a blocked user never keeps a live hold."""
    concert = await api.create_concert(shop)
    schedule = await api.create_schedule(shop, concert["id"], seat_count=30)
    seats = await booking.seat_ids(db, schedule["id"])
    fan = await api.sign_up(shop)
    queue = await booking.admitted(shop, fan, concert["id"])

    async def block_meanwhile() -> None:
        await asyncio.sleep(0.05)
        await block(shop, fan["id"])

    answers, _ = await asyncio.gather(
        asyncio.gather(*(booking.hold(shop, queue, seat) for seat in seats)), block_meanwhile()
    )

    outcomes = {booking.outcome(answer) for answer in answers}
    assert outcomes <= {(201, None), (403, "USER_BLOCKED")}, outcomes
    assert await live_holds_of(db, fan["id"]) == 0
    await booking.wait_until_folded(db, schedule["id"], expected=30)


async def test_blocking_needs_the_admin_key_and_a_known_user(shop: httpx.AsyncClient) -> None:
    fan = await api.sign_up(shop)
    for action in ("block", "unblock"):
        path = f"/admin/users/{fan['id']}/{action}"
        unauthenticated = await shop.post(path)
        assert booking.outcome(unauthenticated) == (401, "ADMIN_KEY_INVALID")
        assert booking.outcome(await shop.post(path, headers=fan["headers"]))[0] == 401
        missing = await shop.post(f"/admin/users/{fan['id'] + 1000}/{action}", headers=ADMIN)
        assert booking.outcome(missing) == (404, "USER_NOT_FOUND")
        for bad in ("0", "abc", "1.0", str(2**63)):
            malformed = await shop.post(f"/admin/users/{bad}/{action}", headers=ADMIN)
            assert booking.outcome(malformed) == (422, "VALIDATION_ERROR"), bad
    # None of that blocked anyone.
    listed = await shop.get("/admin/users", headers=ADMIN)
    assert [u["blocked"] for u in listed.json()["items"]] == [False]
