"""Seat holds through the HTTP API: taking, reading, listing, cancelling, expiring."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.clock import utcnow
from boxoffice.db import Database, for_update
from boxoffice.money import MAX_BALANCE
from boxoffice.tables import reservation, seat, users
from tests import api, booking
from tests.conftest import ClientFactory


@pytest.fixture(autouse=True)
async def audited(db: Database) -> AsyncIterator[None]:
    """Every scenario leaves data that `boxoffice audit` accepts."""
    yield
    await booking.assert_audit_passes(db)


async def _shop(
    make_client: ClientFactory, seats: int = 4, price: int = 10_000, **settings: Any
) -> tuple[httpx.AsyncClient, dict[str, Any], dict[str, Any]]:
    client = await make_client(**{**booking.OPEN_DOORS, **settings})
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=seats, price=price)
    return client, concert, schedule


async def _customer(
    client: httpx.AsyncClient, concert_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    user = await api.sign_up(client)
    return user, await booking.admitted(client, user, concert_id)


async def test_a_hold_is_temporary_for_the_hold_ttl_and_costs_the_seat_price(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**booking.OPEN_DOORS, hold_ttl_seconds=120)
    concert = await api.create_concert(client)
    schedule = await booking.create_schedule_with_seats(client, concert["id"], [9_000, 25_000])
    user, headers = await _customer(client, concert["id"])
    seat_id = (await booking.seat_ids(db, schedule["id"]))[1]

    before = utcnow()
    response = await booking.hold(client, headers, seat_id)
    after = utcnow()

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "TEMPORARY"
    assert body["amount"] == 25_000
    assert (body["user_id"], body["schedule_id"], body["seat_id"], body["seat_number"]) == (
        user["id"],
        schedule["id"],
        seat_id,
        "A2",
    )
    ttl = timedelta(seconds=120)
    assert before + ttl <= booking.parse_time(body["expires_at"]) <= after + ttl
    assert before <= booking.parse_time(body["created_at"]) <= after
    read = await client.get(f"/reservations/{body['id']}", headers=user["headers"])
    assert read.status_code == 200
    assert read.json() == body


async def test_a_held_seat_is_unavailable_in_the_listing_and_the_count(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client, seats=3)
    _, headers = await _customer(client, concert["id"])
    first, second, third = await booking.seat_ids(db, schedule["id"])
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 3

    await booking.held(client, headers, second)

    assert await booking.seat_statuses(client, headers, schedule["id"]) == {
        first: "AVAILABLE",
        second: "UNAVAILABLE",
        third: "AVAILABLE",
    }
    free = await client.get(
        f"/schedules/{schedule['id']}/seats", params={"status": "AVAILABLE"}, headers=headers
    )
    assert [item["id"] for item in free.json()["items"]] == [first, third]
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 2


async def test_a_held_seat_cannot_be_held_again(make_client: ClientFactory, db: Database) -> None:
    client, concert, schedule = await _shop(make_client)
    _, holder = await _customer(client, concert["id"])
    _, rival = await _customer(client, concert["id"])
    seat_id = (await booking.seat_ids(db, schedule["id"]))[0]
    await booking.held(client, holder, seat_id)

    for headers in (rival, holder):
        again = await booking.hold(client, headers, seat_id)
        assert booking.outcome(again) == (409, "SEAT_UNAVAILABLE"), again.text
    async with db.reading() as conn:
        count = (
            await conn.execute(
                select(func.count())
                .select_from(reservation)
                .where(reservation.c.seat_id == seat_id)
            )
        ).scalar_one()
    assert count == 1
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 3


async def test_holding_an_unknown_seat_is_not_found(make_client: ClientFactory) -> None:
    client, concert, _ = await _shop(make_client)
    _, headers = await _customer(client, concert["id"])

    response = await booking.hold(client, headers, 987_654)

    assert booking.outcome(response) == (404, "SEAT_NOT_FOUND")


async def test_holds_stop_at_the_hold_limit_per_schedule(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client, seats=3, hold_limit=2)
    other_schedule = await api.create_schedule(client, concert["id"], seat_count=1)
    _, headers = await _customer(client, concert["id"])
    one, two, three = await booking.seat_ids(db, schedule["id"])

    first = await booking.held(client, headers, one)
    await booking.held(client, headers, two)
    refused = await booking.hold(client, headers, three)

    assert booking.outcome(refused) == (409, "HOLD_LIMIT_REACHED"), refused.text
    elsewhere = (await booking.seat_ids(db, other_schedule["id"]))[0]
    assert (await booking.hold(client, headers, elsewhere)).status_code == 201
    cancelled = await client.post(f"/reservations/{first['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert (await booking.hold(client, headers, three)).status_code == 201
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 1


async def test_a_reservation_is_visible_to_its_owner_only(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client)
    owner, headers = await _customer(client, concert["id"])
    stranger, _ = await _customer(client, concert["id"])
    mine = await booking.held(client, headers, (await booking.seat_ids(db, schedule["id"]))[0])

    assert (await client.get(f"/reservations/{mine['id']}", headers=owner["headers"])).json() == (
        mine
    )
    peek = await client.get(f"/reservations/{mine['id']}", headers=stranger["headers"])
    assert booking.outcome(peek) == (404, "RESERVATION_NOT_FOUND")
    cancel = await client.post(f"/reservations/{mine['id']}/cancel", headers=stranger["headers"])
    assert booking.outcome(cancel) == (404, "RESERVATION_NOT_FOUND")
    unknown = await client.get("/reservations/987654", headers=owner["headers"])
    assert booking.outcome(unknown) == (404, "RESERVATION_NOT_FOUND")
    anonymous = await client.get(f"/reservations/{mine['id']}")
    assert booking.outcome(anonymous) == (401, "UNAUTHENTICATED")
    still = await client.get(f"/reservations/{mine['id']}", headers=owner["headers"])
    assert still.json()["status"] == "TEMPORARY"
    theirs = await client.get("/users/me/reservations", headers=stranger["headers"])
    assert theirs.json() == {"items": [], "next_cursor": None}


async def test_my_reservations_are_listed_newest_first_in_pages(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client, seats=4)
    user, headers = await _customer(client, concert["id"])
    _, other = await _customer(client, concert["id"])
    seats = await booking.seat_ids(db, schedule["id"])
    mine = [await booking.held(client, headers, seat_id) for seat_id in seats[:3]]
    await booking.held(client, other, seats[3])
    cancelled = await client.post(f"/reservations/{mine[0]['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200

    first = await client.get("/users/me/reservations", params={"limit": 2}, headers=headers)
    assert first.status_code == 200
    page = first.json()
    assert [r["id"] for r in page["items"]] == [mine[2]["id"], mine[1]["id"]]
    assert page["items"][0] == mine[2]
    assert page["next_cursor"] is not None
    rest = await client.get(
        "/users/me/reservations",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=headers,
    )
    assert rest.status_code == 200
    assert [(r["id"], r["status"]) for r in rest.json()["items"]] == [(mine[0]["id"], "CANCELLED")]
    assert rest.json()["next_cursor"] is None
    everything = await client.get("/users/me/reservations", headers=headers)
    assert [r["id"] for r in everything.json()["items"]] == [r["id"] for r in reversed(mine)]
    assert all(r["user_id"] == user["id"] for r in everything.json()["items"])


async def test_cancelling_a_hold_frees_the_seat_at_once(
    make_client: ClientFactory, db: Database
) -> None:
    # The sweeper runs once at start and then not for an hour: nothing here waits on it.
    client, concert, schedule = await _shop(make_client, seats=2, sweep_interval_seconds=3600)
    _, headers = await _customer(client, concert["id"])
    _, next_fan = await _customer(client, concert["id"])
    seat_id = (await booking.seat_ids(db, schedule["id"]))[0]
    mine = await booking.held(client, headers, seat_id)

    response = await client.post(f"/reservations/{mine['id']}/cancel", headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {**mine, "status": "CANCELLED"}
    assert (await booking.seat_statuses(client, headers, schedule["id"]))[seat_id] == "AVAILABLE"
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 2
    taken = await booking.held(client, next_fan, seat_id)
    assert taken["status"] == "TEMPORARY"
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 1


async def test_cancelling_a_booking_before_the_show_refunds_it(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client, seats=2, price=12_000)
    user, headers = await _customer(client, concert["id"])
    _, next_fan = await _customer(client, concert["id"])
    assert (await api.charge(client, user, 50_000)).status_code == 200
    seat_id = (await booking.seat_ids(db, schedule["id"]))[0]
    mine = await booking.held(client, headers, seat_id)
    payment = await booking.paid(client, headers, mine["id"])
    assert await booking.balance_of(db, user["id"]) == 38_000

    response = await client.post(f"/reservations/{mine['id']}/cancel", headers=user["headers"])

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELLED"
    assert await booking.balance_of(db, user["id"]) == 50_000
    history = await client.get("/users/me/point-history", headers=user["headers"])
    assert [(e["type"], e["amount"]) for e in history.json()["items"]] == [
        ("REFUND", 12_000),
        ("USE", 12_000),
        ("CHARGE", 50_000),
    ]
    refunded = await client.get(f"/payments/{payment['id']}", headers=user["headers"])
    assert refunded.json() == {**payment, "status": "CANCELLED"}
    assert (await booking.seat_statuses(client, next_fan, schedule["id"]))[seat_id] == "AVAILABLE"
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 2
    assert (await booking.hold(client, next_fan, seat_id)).status_code == 201


@pytest.mark.parametrize("paid", [True, False], ids=["booking", "hold"])
async def test_nothing_is_cancelled_once_the_show_has_started(
    make_client: ClientFactory, db: Database, paid: bool
) -> None:
    client = await make_client(**booking.OPEN_DOORS)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=1)
    user, headers = await _customer(client, concert["id"])
    assert (await api.charge(client, user, 10_000)).status_code == 200
    mine = await booking.held(client, headers, (await booking.seat_ids(db, schedule["id"]))[0])
    if paid:
        await booking.paid(client, headers, mine["id"])
    await booking.move_start(db, schedule["id"])

    response = await client.post(f"/reservations/{mine['id']}/cancel", headers=user["headers"])

    assert booking.outcome(response) == (409, "RESERVATION_NOT_CANCELLABLE"), response.text
    read = await client.get(f"/reservations/{mine['id']}", headers=user["headers"])
    # A hold stays as it was until it expires; a booking stays paid, with no refund.
    assert read.json()["status"] == ("CONFIRMED" if paid else "TEMPORARY")
    assert await booking.balance_of(db, user["id"]) == (0 if paid else 10_000)


async def test_cancelling_twice_is_refused_and_refunds_once(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client, seats=2)
    user, headers = await _customer(client, concert["id"])
    assert (await api.charge(client, user, 10_000)).status_code == 200
    hold_seat, booked_seat = await booking.seat_ids(db, schedule["id"])
    a_hold = await booking.held(client, headers, hold_seat)
    a_booking = await booking.held(client, headers, booked_seat)
    await booking.paid(client, headers, a_booking["id"])

    for reservation_id in (a_hold["id"], a_booking["id"]):
        first = await client.post(f"/reservations/{reservation_id}/cancel", headers=headers)
        assert first.status_code == 200, first.text
        second = await client.post(f"/reservations/{reservation_id}/cancel", headers=headers)
        assert booking.outcome(second) == (409, "RESERVATION_NOT_CANCELLABLE"), second.text

    assert await booking.balance_of(db, user["id"]) == 10_000
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 2


async def test_an_expired_hold_lets_the_seat_go_before_any_sweep(
    make_client: ClientFactory, db: Database
) -> None:
    # The sweeper runs once at start, then not for an hour: expiry must not depend on it.
    client, concert, schedule = await _shop(
        make_client, seats=3, hold_ttl_seconds=3, sweep_interval_seconds=3600, hold_limit=1
    )
    owner, headers = await _customer(client, concert["id"])
    _, next_fan = await _customer(client, concert["id"])
    assert (await api.charge(client, owner, 100_000)).status_code == 200
    first, second, _ = await booking.seat_ids(db, schedule["id"])
    mine = await booking.held(client, headers, first)
    assert booking.outcome(await booking.hold(client, headers, second)) == (
        409,
        "HOLD_LIMIT_REACHED",
    )

    await booking.sleep_until(booking.parse_time(mine["expires_at"]) + timedelta(seconds=0.1))

    read = await client.get(f"/reservations/{mine['id']}", headers=headers)
    assert read.json()["status"] == "EXPIRED"
    assert (await booking.seat_statuses(client, next_fan, schedule["id"]))[first] == "AVAILABLE"
    late = await booking.pay(client, headers, mine["id"])
    assert booking.outcome(late) == (409, "RESERVATION_EXPIRED"), late.text
    assert await booking.balance_of(db, owner["id"]) == 100_000
    cancel = await client.post(f"/reservations/{mine['id']}/cancel", headers=headers)
    assert booking.outcome(cancel) == (409, "RESERVATION_NOT_CANCELLABLE")
    # Someone else takes the seat at once, and the expired hold no longer counts to the limit.
    taken = await booking.held(client, next_fan, first)
    assert (await booking.hold(client, headers, second)).status_code == 201
    assert (await client.get(f"/reservations/{mine['id']}", headers=headers)).json()[
        "status"
    ] == "EXPIRED"
    statuses = await booking.seat_statuses(client, next_fan, schedule["id"])
    assert (statuses[first], statuses[second]) == ("UNAVAILABLE", "UNAVAILABLE")
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 1
    assert taken["status"] == "TEMPORARY"


async def test_the_sweeper_puts_expired_holds_back_on_sale(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(
        make_client, seats=3, hold_ttl_seconds=3, sweep_interval_seconds=0.1
    )
    seats = await booking.seat_ids(db, schedule["id"])
    holds = []
    for seat_id in seats[:2]:
        _, headers = await _customer(client, concert["id"])
        holds.append(await booking.held(client, headers, seat_id))
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 1

    await booking.sleep_until(booking.parse_time(holds[-1]["expires_at"]) + timedelta(seconds=0.1))
    await booking.wait_until_folded(db, schedule["id"], 3)

    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 3
    async with db.reading() as conn:
        statuses = (
            await conn.execute(
                select(reservation.c.status).where(reservation.c.id.in_([h["id"] for h in holds]))
            )
        ).scalars()
        assert list(statuses) == ["EXPIRED", "EXPIRED"]
        free = (
            await conn.execute(
                select(func.count()).where(
                    seat.c.schedule_id == schedule["id"], seat.c.status == "AVAILABLE"
                )
            )
        ).scalar_one()
        assert free == 3


async def test_seats_and_holds_need_an_admitted_queue_token(
    make_client: ClientFactory, db: Database
) -> None:
    client, concert, schedule = await _shop(make_client)
    other_concert = await api.create_concert(client, "Another Concert")
    user, headers = await _customer(client, concert["id"])
    _, someone_elses = await _customer(client, concert["id"])
    wrong_concert = await booking.admitted(client, user, other_concert["id"])
    seat_id = (await booking.seat_ids(db, schedule["id"]))[0]

    for bad in (
        user["headers"],
        {**user["headers"], "X-Queue-Token": "no-such-token"},
        {**user["headers"], "X-Queue-Token": wrong_concert["X-Queue-Token"]},
        {**user["headers"], "X-Queue-Token": someone_elses["X-Queue-Token"]},
    ):
        refused = await booking.hold(client, bad, seat_id)
        assert booking.outcome(refused) == (403, "QUEUE_TOKEN_INVALID"), refused.text
        listing = await client.get(f"/schedules/{schedule['id']}/seats", headers=bad)
        assert booking.outcome(listing) == (403, "QUEUE_TOKEN_INVALID"), listing.text

    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 4
    assert (await booking.hold(client, headers, seat_id)).status_code == 201


async def test_a_cancellation_held_up_until_the_hold_expired_is_refused(
    make_client: ClientFactory, db: Database
) -> None:
    """The cancellation starts while the hold is live but gets to it only after it expired
    (the user's row is locked meanwhile): an expired hold cannot be cancelled."""
    client, concert, schedule = await _shop(
        make_client, seats=1, hold_ttl_seconds=1, sweep_interval_seconds=3600
    )
    user, headers = await _customer(client, concert["id"])
    mine = await booking.held(client, headers, (await booking.seat_ids(db, schedule["id"]))[0])

    async with db.transaction() as conn:
        # On SQLite this transaction alone holds the write lock; on PostgreSQL, the user's row.
        await conn.execute(for_update(select(users.c.id).where(users.c.id == user["id"])))
        cancelling = asyncio.create_task(
            client.post(f"/reservations/{mine['id']}/cancel", headers=headers)
        )
        await booking.sleep_until(booking.parse_time(mine["expires_at"]) + timedelta(seconds=0.1))
        assert not cancelling.done()
    response = await cancelling

    assert booking.outcome(response) == (409, "RESERVATION_NOT_CANCELLABLE"), response.text
    read = await client.get(f"/reservations/{mine['id']}", headers=headers)
    assert read.json()["status"] == "EXPIRED"


async def test_a_hold_held_up_until_the_seat_expired_takes_it(
    make_client: ClientFactory, db: Database
) -> None:
    """The new hold starts while the old one is live but gets to the seat only after the old one
    expired (the new holder's row is locked meanwhile): the seat is free by then, and the new
    hold's clock starts when it is taken."""
    client, concert, schedule = await _shop(
        make_client, seats=1, hold_ttl_seconds=1, sweep_interval_seconds=3600
    )
    _, first = await _customer(client, concert["id"])
    second, headers = await _customer(client, concert["id"])
    seat_id = (await booking.seat_ids(db, schedule["id"]))[0]
    old = await booking.held(client, first, seat_id)

    async with db.transaction() as conn:
        # On SQLite this transaction alone holds the write lock; on PostgreSQL, the user's row.
        await conn.execute(for_update(select(users.c.id).where(users.c.id == second["id"])))
        holding = asyncio.create_task(booking.hold(client, headers, seat_id))
        await booking.sleep_until(booking.parse_time(old["expires_at"]) + timedelta(seconds=0.1))
        assert not holding.done()
        released = utcnow()  # the lock goes with the commit, just after this
    response = await holding

    assert response.status_code == 201, response.text
    assert booking.parse_time(response.json()["expires_at"]) >= released + timedelta(seconds=1)
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 0


async def test_a_refund_reaches_a_balance_at_its_maximum(
    make_client: ClientFactory, db: Database
) -> None:
    """The balance cap is for charges: a booking paid and then cancelled when the balance has
    been charged up to the cap again still gets its money back, all of it, with its entry."""
    client, concert, schedule = await _shop(make_client, seats=1, max_charge=MAX_BALANCE)
    user, headers = await _customer(client, concert["id"])
    assert (await api.charge(client, user, 10_000)).status_code == 200
    mine = await booking.held(client, headers, (await booking.seat_ids(db, schedule["id"]))[0])
    await booking.paid(client, headers, mine["id"])
    assert (await api.charge(client, user, MAX_BALANCE)).json()["balance"] == MAX_BALANCE

    response = await client.post(f"/reservations/{mine['id']}/cancel", headers=user["headers"])

    assert response.status_code == 200, response.text
    assert await booking.balance_of(db, user["id"]) == MAX_BALANCE + 10_000
    history = await client.get("/users/me/point-history", headers=user["headers"])
    newest = history.json()["items"][0]
    assert (newest["type"], newest["amount"]) == ("REFUND", 10_000)
    # The cap still holds for charges.
    assert booking.outcome(await api.charge(client, user, 1)) == (422, "VALIDATION_ERROR")
