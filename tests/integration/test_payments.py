"""Paying for holds from the balance through the HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from boxoffice.booking import holds
from boxoffice.clock import utcnow
from boxoffice.db import Database, for_update, is_unique_violation
from boxoffice.errors import QueueTokenInvalid
from boxoffice.queue import service as queue
from boxoffice.queue.database_backend import DatabaseWaitingRoom
from boxoffice.tables import payment, point_history, users
from tests import api, booking
from tests.conftest import ClientFactory, test_settings


@pytest.fixture(autouse=True)
async def audited(db: Database) -> AsyncIterator[None]:
    """Every scenario leaves data that `boxoffice audit` accepts."""
    yield
    await booking.assert_audit_passes(db)


class Shop:
    """One concert with one schedule, and customers admitted to its waiting room."""

    def __init__(
        self, client: httpx.AsyncClient, concert: dict[str, Any], schedule: dict[str, Any]
    ) -> None:
        self.client = client
        self.concert_id: int = concert["id"]
        self.schedule_id: int = schedule["id"]

    async def customer(self, balance: int = 0) -> tuple[dict[str, Any], dict[str, str]]:
        user = await api.sign_up(self.client)
        if balance:
            assert (await api.charge(self.client, user, balance)).status_code == 200
        return user, await self.admitted(user)

    async def admitted(self, user: dict[str, Any]) -> dict[str, str]:
        return await booking.admitted(self.client, user, self.concert_id)


async def _shop(
    make_client: ClientFactory, seats: int = 4, price: int = 10_000, **settings: Any
) -> Shop:
    client = await make_client(**{**booking.OPEN_DOORS, **settings})
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=seats, price=price)
    return Shop(client, concert, schedule)


async def _payments_of(db: Database, reservation_id: int) -> list[tuple[str, int]]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(payment.c.status, payment.c.amount)
            .where(payment.c.reservation_id == reservation_id)
            .order_by(payment.c.id)
        )
        return [(status, int(amount)) for status, amount in rows]


async def _uses_of(db: Database, user_id: int) -> list[int]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(point_history.c.amount)
            .where(point_history.c.user_id == user_id, point_history.c.type == "USE")
            .order_by(point_history.c.id)
        )
        return [int(amount) for amount in rows.scalars()]


async def test_paying_a_hold_confirms_it_and_debits_the_balance(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client, price=12_000)
    client = shop.client
    user, headers = await shop.customer(balance=30_000)
    seat_id = (await booking.seat_ids(db, shop.schedule_id))[0]
    hold = await booking.held(client, headers, seat_id)

    response = await booking.pay(client, headers, hold["id"])

    assert response.status_code == 201, response.text
    paid = response.json()
    assert paid["status"] == "SUCCESS"
    assert (paid["reservation_id"], paid["user_id"], paid["amount"]) == (
        hold["id"],
        user["id"],
        12_000,
    )
    reservation = await client.get(f"/reservations/{hold['id']}", headers=user["headers"])
    assert reservation.json()["status"] == "CONFIRMED"
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 18_000
    history = await client.get("/users/me/point-history", headers=user["headers"])
    assert [(e["type"], e["amount"]) for e in history.json()["items"]] == [
        ("USE", 12_000),
        ("CHARGE", 30_000),
    ]
    assert (await client.get(f"/payments/{paid['id']}", headers=user["headers"])).json() == paid
    # The seat stays sold.
    _, looker = await shop.customer()
    assert (await booking.seat_statuses(client, looker, shop.schedule_id))[seat_id] == "UNAVAILABLE"
    assert await booking.available_seats(client, shop.concert_id, shop.schedule_id) == 3
    assert await _payments_of(db, hold["id"]) == [("SUCCESS", 12_000)]


async def test_a_free_seat_is_paid_and_cancelled_without_moving_money(
    make_client: ClientFactory, db: Database
) -> None:
    # Price 0 is a valid price; point-history amounts are always positive, so a free seat's
    # payment and refund leave no entry (the database refuses a zero entry outright).
    shop = await _shop(make_client, price=0)
    client = shop.client
    user, headers = await shop.customer()
    seat_id = (await booking.seat_ids(db, shop.schedule_id))[0]
    hold = await booking.held(client, headers, seat_id)

    response = await booking.pay(client, headers, hold["id"])

    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["amount"]) == ("SUCCESS", 0)
    cancelled = await client.post(f"/reservations/{hold['id']}/cancel", headers=user["headers"])
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert await booking.balance_of(db, user["id"]) == 0
    history = await client.get("/users/me/point-history", headers=user["headers"])
    assert history.json()["items"] == []
    assert await _payments_of(db, hold["id"]) == [("CANCELLED", 0)]


async def test_paying_twice_is_refused_and_debits_once(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    user, headers = await shop.customer(balance=50_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )
    await booking.paid(shop.client, headers, hold["id"])

    # Paying left no live hold, so the admission ended: come back through the line.
    again = await booking.pay(shop.client, await shop.admitted(user), hold["id"])

    assert booking.outcome(again) == (409, "RESERVATION_NOT_PAYABLE"), again.text
    assert await booking.balance_of(db, user["id"]) == 40_000
    assert await _uses_of(db, user["id"]) == [10_000]
    assert await _payments_of(db, hold["id"]) == [("SUCCESS", 10_000)]


async def test_a_short_balance_fails_the_payment_and_keeps_the_hold(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    client = shop.client
    user, headers = await shop.customer(balance=9_999)
    hold = await booking.held(client, headers, (await booking.seat_ids(db, shop.schedule_id))[0])

    response = await booking.pay(client, headers, hold["id"])

    assert booking.outcome(response) == (409, "INSUFFICIENT_BALANCE"), response.text
    assert await _payments_of(db, hold["id"]) == [("FAILED", 10_000)]
    assert await booking.balance_of(db, user["id"]) == 9_999
    assert await _uses_of(db, user["id"]) == []
    still = await client.get(f"/reservations/{hold['id']}", headers=user["headers"])
    assert still.json() == hold
    # The hold is still live: top up and pay it, with the same admission.
    assert (await api.charge(client, user, 1)).status_code == 200
    await booking.paid(client, headers, hold["id"])
    assert await booking.balance_of(db, user["id"]) == 0
    assert await _payments_of(db, hold["id"]) == [("FAILED", 10_000), ("SUCCESS", 10_000)]


async def test_paying_someone_elses_reservation_is_not_found(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    owner, owner_headers = await shop.customer(balance=10_000)
    stranger, stranger_headers = await shop.customer(balance=10_000)
    hold = await booking.held(
        shop.client, owner_headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )

    response = await booking.pay(shop.client, stranger_headers, hold["id"])

    assert booking.outcome(response) == (404, "RESERVATION_NOT_FOUND"), response.text
    unknown = await booking.pay(shop.client, stranger_headers, 987_654)
    assert booking.outcome(unknown) == (404, "RESERVATION_NOT_FOUND")
    assert await booking.balance_of(db, stranger["id"]) == 10_000
    assert await _payments_of(db, hold["id"]) == []
    read = await shop.client.get(f"/reservations/{hold['id']}", headers=owner["headers"])
    assert read.json()["status"] == "TEMPORARY"


async def test_a_payment_is_visible_to_its_owner_only(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    owner, headers = await shop.customer(balance=10_000)
    stranger, _ = await shop.customer()
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )
    paid = await booking.paid(shop.client, headers, hold["id"])

    mine = await shop.client.get(f"/payments/{paid['id']}", headers=owner["headers"])
    assert mine.status_code == 200 and mine.json() == paid
    theirs = await shop.client.get(f"/payments/{paid['id']}", headers=stranger["headers"])
    assert booking.outcome(theirs) == (404, "PAYMENT_NOT_FOUND")
    unknown = await shop.client.get("/payments/987654", headers=owner["headers"])
    assert booking.outcome(unknown) == (404, "PAYMENT_NOT_FOUND")
    anonymous = await shop.client.get(f"/payments/{paid['id']}")
    assert booking.outcome(anonymous) == (401, "UNAUTHENTICATED")


async def test_a_payment_retried_with_its_idempotency_key_is_made_once(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    client = shop.client
    user, headers = await shop.customer(balance=50_000)
    first_seat, second_seat = (await booking.seat_ids(db, shop.schedule_id))[:2]
    hold = await booking.held(client, headers, first_seat)

    first = await booking.pay(client, headers, hold["id"], idempotency_key="pay-1")
    # The payment ended the admission; the retry is answered all the same.
    retry = await booking.pay(client, headers, hold["id"], idempotency_key="pay-1")

    assert first.status_code == 201, first.text
    assert retry.status_code == 201, retry.text
    assert retry.json() == first.json()
    assert await booking.balance_of(db, user["id"]) == 40_000
    assert await _uses_of(db, user["id"]) == [10_000]
    assert await _payments_of(db, hold["id"]) == [("SUCCESS", 10_000)]

    headers = await shop.admitted(user)
    other = await booking.held(client, headers, second_seat)
    reused = await booking.pay(client, headers, other["id"], idempotency_key="pay-1")
    assert booking.outcome(reused) == (422, "IDEMPOTENCY_KEY_REUSED"), reused.text
    assert await _payments_of(db, other["id"]) == []
    assert (await client.get(f"/reservations/{other['id']}", headers=headers)).json() == other
    fresh = await booking.pay(client, headers, other["id"], idempotency_key="pay-2")
    assert fresh.status_code == 201, fresh.text
    assert await booking.balance_of(db, user["id"]) == 30_000


async def test_a_retried_short_payment_gets_its_first_answer(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    user, headers = await shop.customer(balance=5_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )
    first = await booking.pay(shop.client, headers, hold["id"], idempotency_key="short")
    assert booking.outcome(first) == (409, "INSUFFICIENT_BALANCE"), first.text
    assert (await api.charge(shop.client, user, 5_000)).status_code == 200

    retry = await booking.pay(shop.client, headers, hold["id"], idempotency_key="short")

    assert booking.outcome(retry) == (409, "INSUFFICIENT_BALANCE")
    assert retry.json() == first.json()
    assert await _payments_of(db, hold["id"]) == [("FAILED", 10_000)]
    assert await booking.balance_of(db, user["id"]) == 10_000
    await booking.paid(shop.client, headers, hold["id"])
    assert await booking.balance_of(db, user["id"]) == 0


@pytest.mark.parametrize("sweep_interval", [3600, 0.1], ids=["unswept", "swept"])
async def test_an_expired_hold_cannot_be_paid(
    make_client: ClientFactory, db: Database, sweep_interval: float
) -> None:
    shop = await _shop(make_client, hold_ttl_seconds=1, sweep_interval_seconds=sweep_interval)
    user, headers = await shop.customer(balance=10_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )
    await booking.sleep_until(booking.parse_time(hold["expires_at"]) + timedelta(seconds=0.2))

    response = await booking.pay(shop.client, headers, hold["id"])

    assert booking.outcome(response) == (409, "RESERVATION_EXPIRED"), response.text
    assert await booking.balance_of(db, user["id"]) == 10_000
    assert await _uses_of(db, user["id"]) == []
    assert await _payments_of(db, hold["id"]) == []
    read = await shop.client.get(f"/reservations/{hold['id']}", headers=user["headers"])
    assert read.json()["status"] == "EXPIRED"


async def test_payment_needs_an_admitted_queue_token(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    user, headers = await shop.customer(balance=10_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )

    for bad in (user["headers"], {**user["headers"], "X-Queue-Token": "no-such-token"}):
        refused = await booking.pay(shop.client, bad, hold["id"])
        assert booking.outcome(refused) == (403, "QUEUE_TOKEN_INVALID"), refused.text

    assert await booking.balance_of(db, user["id"]) == 10_000
    assert await _payments_of(db, hold["id"]) == []


async def test_paying_ends_the_admission_once_no_hold_is_left(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    client = shop.client
    _, headers = await shop.customer(balance=20_000)
    first_seat, second_seat = (await booking.seat_ids(db, shop.schedule_id))[:2]
    first = await booking.held(client, headers, first_seat)
    second = await booking.held(client, headers, second_seat)

    await booking.paid(client, headers, first["id"])
    status = await client.get("/queue/status", headers=headers)
    assert status.status_code == 200 and status.json()["status"] == "ACTIVE", status.text

    await booking.paid(client, headers, second["id"])
    status = await client.get("/queue/status", headers=headers)
    assert status.status_code == 200 and status.json()["status"] == "EXPIRED", status.text
    refused = await booking.hold(client, headers, (await booking.seat_ids(db, shop.schedule_id))[2])
    assert booking.outcome(refused) == (403, "QUEUE_TOKEN_INVALID")


async def test_a_payment_held_up_until_the_hold_expired_is_refused(
    make_client: ClientFactory, db: Database
) -> None:
    """The payment starts while the hold is live but reaches the balance only after it has
    expired (the user's row is locked meanwhile): by then the hold cannot be paid."""
    shop = await _shop(make_client, hold_ttl_seconds=1, sweep_interval_seconds=3600)
    user, headers = await shop.customer(balance=10_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )

    async with db.transaction() as conn:
        # On SQLite this transaction alone holds the write lock; on PostgreSQL, the user's row.
        await conn.execute(for_update(select(users.c.id).where(users.c.id == user["id"])))
        payment_try = asyncio.create_task(booking.pay(shop.client, headers, hold["id"]))
        await booking.sleep_until(booking.parse_time(hold["expires_at"]) + timedelta(seconds=0.1))
        assert not payment_try.done()
    response = await payment_try

    assert booking.outcome(response) == (409, "RESERVATION_EXPIRED"), response.text
    assert await booking.balance_of(db, user["id"]) == 10_000
    assert await _payments_of(db, hold["id"]) == []


async def test_the_database_refuses_a_second_successful_payment_of_a_reservation(
    make_client: ClientFactory, db: Database
) -> None:
    shop = await _shop(make_client)
    user, headers = await shop.customer(balance=10_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )
    first = await booking.paid(shop.client, headers, hold["id"])

    with pytest.raises(IntegrityError) as refused:
        async with db.transaction() as conn:
            await conn.execute(
                insert(payment).values(
                    user_id=user["id"],
                    reservation_id=hold["id"],
                    amount=first["amount"],
                    status="SUCCESS",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )

    assert is_unique_violation(refused.value, "uq_payment_success_reservation")
    assert await _payments_of(db, hold["id"]) == [("SUCCESS", 10_000)]


async def test_a_payment_the_database_refuses_as_a_duplicate_is_not_payable(
    make_client: ClientFactory, db: Database
) -> None:
    """Should the application ever let a second payment through (here: a SUCCESS payment is
    planted on a live hold), the index refuses it and the answer is the contract's 409, with
    the debit rolled back."""
    shop = await _shop(make_client)
    user, headers = await shop.customer(balance=10_000)
    hold = await booking.held(
        shop.client, headers, (await booking.seat_ids(db, shop.schedule_id))[0]
    )
    async with db.transaction() as conn:
        planted = (
            await conn.execute(
                insert(payment)
                .values(
                    user_id=user["id"],
                    reservation_id=hold["id"],
                    amount=10_000,
                    status="SUCCESS",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
                .returning(payment.c.id)
            )
        ).scalar_one()

    response = await booking.pay(shop.client, headers, hold["id"])

    assert booking.outcome(response) == (409, "RESERVATION_NOT_PAYABLE"), response.text
    assert await booking.balance_of(db, user["id"]) == 10_000
    async with db.transaction() as conn:
        await conn.execute(delete(payment).where(payment.c.id == planted))


async def test_a_hold_admitted_before_a_payment_ended_the_admission_is_refused(
    make_client: ClientFactory, db: Database, database_url: str
) -> None:
    """A hold that passed the admission check, then queued behind the user's own payment that
    ended the admission, is refused rather than left unpayable. The service is called with the
    admission read before the payment, as a request that read it then would hold it."""
    shop = await _shop(make_client)
    user, headers = await shop.customer(balance=10_000)
    first_seat, second_seat = (await booking.seat_ids(db, shop.schedule_id))[:2]
    hold = await booking.held(shop.client, headers, first_seat)
    settings = test_settings(database_url, **booking.OPEN_DOORS)
    room = DatabaseWaitingRoom(db, settings)
    admission = await queue.admission(db, room, headers["X-Queue-Token"], user["id"])
    await booking.paid(shop.client, headers, hold["id"])

    with pytest.raises(QueueTokenInvalid):
        await holds.hold(db, settings, user["id"], second_seat, admission)

    mine = await shop.client.get("/users/me/reservations", headers=user["headers"])
    assert [r["id"] for r in mine.json()["items"]] == [hold["id"]]
