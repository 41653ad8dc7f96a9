"""On PostgreSQL a hold is one round trip to the database, and a payment under an
Idempotency-Key two (the key's claim, then the payment), each statement its own transaction:
no BEGIN, no COMMIT. The waiting room and the rate limits are in Redis here, as in a drop."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import api, booking
from tests.conftest import ClientFactory

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


class RoundTrips:
    """What the app's engine sends to the database: statements, and the BEGIN and COMMIT of
    every connection not in autocommit, whether through SQLAlchemy or straight to a pooled
    connection's driver (`boxoffice.pg_driver`), which SQLAlchemy's events do not see."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sent: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "begin", self._begin)
        event.listen(engine.sync_engine, "commit", self._commit)
        event.listen(engine.sync_engine.pool, "checkout", self._watch_driver)
        self._watched: set[int] = set()

    def _statement(self, _conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        self.sent.append(statement)

    def _watch_driver(self, dbapi_connection: Any, *_: Any) -> None:
        driver = dbapi_connection.driver_connection
        if id(driver) not in self._watched:
            self._watched.add(id(driver))
            driver.add_query_logger(self._driver_statement)

    def _driver_statement(self, logged: Any) -> None:
        # The driver also logs the transaction control SQLAlchemy sends through it, which the
        # begin and commit events above have already counted.
        if not logged.query.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self.sent.append(logged.query)

    def _begin(self, conn: Connection) -> None:
        if not _autocommit(conn):
            self.sent.append("BEGIN")

    def _commit(self, conn: Connection) -> None:
        if not _autocommit(conn):
            self.sent.append("COMMIT")

    def take(self) -> list[str]:
        sent, self.sent = self.sent, []
        return sent


def _autocommit(conn: Connection) -> bool:
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


async def test_a_hold_is_one_round_trip_and_a_payment_two(
    make_client: ClientFactory, flushed_redis: str
) -> None:
    # The sweeper keeps quiet, so that every statement counted is the request's.
    client: httpx.AsyncClient = await make_client(
        redis_url=flushed_redis, sweep_interval_seconds=3600, **booking.OPEN_DOORS
    )
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2, price=10_000)
    user = await api.sign_up(client)
    assert (await api.charge(client, user, 10_000)).status_code == 200
    headers = await booking.admitted(client, user, concert["id"])
    seat = (await client.get(f"/schedules/{schedule['id']}/seats", headers=headers)).json()
    seat_id = seat["items"][0]["id"]
    state = client._transport.app.state  # type: ignore[attr-defined]
    # Its first round runs at start-up and, on a slow machine, can still be going: stop it, so
    # that every statement counted is the request's.
    await state.sweeper.stop()
    trips = RoundTrips(state.db.engine)

    held = await client.post("/reservations", json={"seat_id": seat_id}, headers=headers)
    assert held.status_code == 201, held.text
    hold_trips = trips.take()
    assert len(hold_trips) == 1 and "boxoffice_hold" in hold_trips[0], hold_trips

    keyed = {**headers, "Idempotency-Key": "pay-once"}
    body = {"reservation_id": held.json()["id"]}
    paid = await client.post("/payments", json=body, headers=keyed)
    assert paid.status_code == 201, paid.text
    pay_trips = trips.take()
    assert len(pay_trips) == 2, pay_trips
    assert "idempotency_key" in pay_trips[0] and "boxoffice_pay" in pay_trips[1], pay_trips

    # The answer the function stored is the answer given, as a replay shows.
    replayed = await client.post("/payments", json=body, headers=keyed)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert (replayed.status_code, replayed.json()) == (201, paid.json())
