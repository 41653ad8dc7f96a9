"""POST /admin/checkins: a genuine ticket gets in once; forged, altered and cancelled ones never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.tables import reservation
from boxoffice.tickets.codes import ticket_code
from tests import api, booking
from tests.conftest import JWT_SECRET, ClientFactory
from tests.integration.test_errors import assert_problem
from tests.tickets.purchase import Purchase, bought_seat

OPEN = {"queue_max_active": 10_000}
SETTINGS = Settings(_env_file=None, jwt_secret=JWT_SECRET)


async def ticket_of(client: httpx.AsyncClient, bought: Purchase) -> str:
    response = await client.get(
        f"/reservations/{bought.reservation['id']}/ticket", headers=bought.user["headers"]
    )
    assert response.status_code == 200, response.text
    code: str = response.json()["code"]
    return code


async def check_in(client: httpx.AsyncClient, code: Any) -> httpx.Response:
    return await client.post("/admin/checkins", json={"code": code}, headers=api.ADMIN)


async def test_a_ticket_checks_in_once(make_client: ClientFactory, db: Database) -> None:
    client = await make_client(**OPEN)
    bought = await bought_seat(client)
    code = await ticket_of(client, bought)
    before = datetime.now(UTC)
    first = await check_in(client, code)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"reservation_id", "seat_number", "schedule_id", "checked_in_at"}
    assert body["reservation_id"] == bought.reservation["id"]
    assert body["seat_number"] == bought.reservation["seat_number"] == "1"
    assert body["schedule_id"] == bought.schedule_id
    checked_in_at = datetime.fromisoformat(body["checked_in_at"])
    assert before - timedelta(seconds=1) <= checked_in_at <= datetime.now(UTC)
    async with db.reading() as conn:
        stored = (
            await conn.execute(
                select(reservation.c.checked_in_at).where(
                    reservation.c.id == bought.reservation["id"]
                )
            )
        ).scalar_one()
    assert stored == checked_in_at

    for again in (code, code.lower(), f"  {code}\n"):
        used = assert_problem(await check_in(client, again), 409, "TICKET_ALREADY_USED")
        assert datetime.fromisoformat(used["checked_in_at"]) == checked_in_at
    # The reservation is still the fan's confirmed ticket.
    ticket = await client.get(
        f"/reservations/{bought.reservation['id']}/ticket", headers=bought.user["headers"]
    )
    assert ticket.status_code == 200


async def test_forged_and_altered_codes_are_not_found(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**OPEN)
    first, second = await bought_seat(client), await bought_seat(client)
    code = await ticket_of(client, first)
    _, first_id, mac = code.split("-")
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    other_secret = Settings(_env_file=None, jwt_secret="another-secret-" + "x" * 32)
    forged = [
        f"BX1-{first_id}-{flipped}",  # one character of the signature changed
        f"BX1-{second.reservation['id']}-{mac}",  # another reservation's id, this signature
        f"BX1-{first_id}-{mac[:-1]}",  # a signature cut short
        f"BX2-{first_id}-{mac}",  # an unknown version
        ticket_code(other_secret, first.reservation["id"]),  # signed with another key
        f"BX1-{2**63}-{mac}",
        f"BX1-0{first_id}-{mac}",
        str(first.reservation["id"]),
        "BX1",
        "not a ticket",
    ]
    for fake in forged:
        assert_problem(await check_in(client, fake), 404, "TICKET_NOT_FOUND")
    # None of them let anyone in: the genuine code still works, once.
    assert (await check_in(client, code)).status_code == 200
    async with db.reading() as conn:
        used = (
            await conn.execute(
                select(reservation.c.id).where(reservation.c.checked_in_at.is_not(None))
            )
        ).scalars()
        assert list(used) == [first.reservation["id"]]


async def test_a_cancelled_reservations_code_no_longer_checks_in(
    make_client: ClientFactory,
) -> None:
    client = await make_client(**OPEN)
    bought = await bought_seat(client)
    code = await ticket_of(client, bought)
    cancelled = await client.post(
        f"/reservations/{bought.reservation['id']}/cancel", headers=bought.user["headers"]
    )
    assert cancelled.status_code == 200, cancelled.text
    assert_problem(await check_in(client, code), 404, "TICKET_NOT_FOUND")


async def test_a_hold_is_no_ticket_even_with_a_genuine_signature(
    make_client: ClientFactory,
) -> None:
    client = await make_client(**OPEN)
    held = await bought_seat(client, pay=False)
    code = ticket_code(SETTINGS, held.reservation["id"])
    assert_problem(await check_in(client, code), 404, "TICKET_NOT_FOUND")
    # Paid later, the same code is its ticket and checks in.
    paid = await client.post(
        "/payments", json={"reservation_id": held.reservation["id"]}, headers=held.headers
    )
    assert paid.status_code == 201, paid.text
    assert (await check_in(client, code)).status_code == 200


async def test_check_in_needs_the_admin_key(client: httpx.AsyncClient) -> None:
    code = ticket_code(SETTINGS, 1)
    for headers in ({}, {"X-Admin-Key": "wrong"}, {"X-Admin-Key": ""}):
        response = await client.post("/admin/checkins", json={"code": code}, headers=headers)
        assert_problem(response, 401, "ADMIN_KEY_INVALID")
    user = await api.sign_up(client)
    response = await client.post("/admin/checkins", json={"code": code}, headers=user["headers"])
    assert_problem(response, 401, "ADMIN_KEY_INVALID")


@pytest.mark.parametrize(
    "body", [{}, {"code": ""}, {"code": 5}, {"code": None}, {"code": "x" * 201}]
)
async def test_bad_check_in_bodies_are_validation_errors(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/admin/checkins", json=body, headers=api.ADMIN)
    assert_problem(response, 422, "VALIDATION_ERROR")


async def test_a_ticket_used_at_the_door_is_not_cancelled_or_refunded(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**OPEN)
    bought = await bought_seat(client)
    assert (await check_in(client, await ticket_of(client, bought))).status_code == 200
    balance = await booking.balance_of(db, bought.user["id"])

    refused = await client.post(
        f"/reservations/{bought.reservation['id']}/cancel", headers=bought.user["headers"]
    )

    problem = assert_problem(refused, 409, "RESERVATION_NOT_CANCELLABLE")
    assert "used" in problem["detail"]
    assert await booking.balance_of(db, bought.user["id"]) == balance
    still = await client.get(
        f"/reservations/{bought.reservation['id']}", headers=bought.user["headers"]
    )
    assert still.json()["status"] == "CONFIRMED"
    await booking.assert_audit_passes(db)
