"""A hot read (`pg_driver.HotStatement`) gives what SQLAlchemy gives for the same statement, on both
databases: the same values, of the same types, with the column types' conversions applied to
its parameters and its row."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select

from boxoffice.db import Database
from boxoffice.pg_driver import HotStatement
from boxoffice.tables import UTCDateTime, concert, seat

OPENS = datetime(2030, 5, 1, 18, 30, 15, 123456, tzinfo=UTC)
SEOUL = timezone(timedelta(hours=9))

_OPENING_AFTER = HotStatement(
    select(concert.c.id, concert.c.title, concert.c.duration, concert.c.sale_opens_at)
    .where(concert.c.sale_opens_at > bindparam("after", type_=UTCDateTime()))
    .where(concert.c.title == bindparam("title"))
)


async def test_a_hot_read_gives_what_sqlalchemy_gives(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            insert(concert).values(
                title="Hot read",
                duration=time(2, 15),
                sale_opens_at=OPENS,
                created_at=OPENS,
                updated_at=OPENS,
            )
        )
    # A parameter in another time zone is converted as SQLAlchemy would convert it.
    params = {"after": (OPENS - timedelta(seconds=1)).astimezone(SEOUL), "title": "Hot read"}
    row = await db.read_one(_OPENING_AFTER, **params)
    assert row is not None
    async with db.reading() as conn:
        expected = (await conn.execute(_OPENING_AFTER.statement, params)).one()._asdict()
    assert row == expected
    assert row["sale_opens_at"] == OPENS and row["sale_opens_at"].utcoffset() == timedelta(0)
    assert row["duration"] == time(2, 15)
    assert [type(value) for value in row.values()] == [type(value) for value in expected.values()]
    later = {**params, "after": OPENS}
    assert await db.read_one(_OPENING_AFTER, **later) is None


def test_a_column_that_needs_the_drivers_type_code_is_refused_when_built() -> None:
    # NUMERIC's conversion depends on the type code the driver reports with each result.
    with pytest.raises(TypeError):
        HotStatement(select(seat.c.price).where(seat.c.id == bindparam("seat_id")))
