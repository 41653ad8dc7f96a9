"""The demo concert that `boxoffice serve --demo` loads into an empty database."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from boxoffice.catalog import service
from boxoffice.catalog.schemas import SeatIn
from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.tables import concert

DEMO_TITLE = "Midnight Orchestra: Winter Live"
DEMO_SEATS = 50


def _seats() -> list[SeatIn]:
    # Front rows cost more: the first ten seats are the VIP section.
    return [
        SeatIn(seat_number=str(n), price=150_000 if n <= 10 else 90_000)
        for n in range(1, DEMO_SEATS + 1)
    ]


async def load_demo_if_empty(db: Database) -> bool:
    async with db.reading() as conn:
        if (await conn.execute(select(func.count()).select_from(concert))).scalar_one():
            return False
    created = await service.create_concert(db, DEMO_TITLE, duration_minutes=150)
    # 7 pm in Seoul, where the audience is (the pages show it in each visitor's zone).
    week_ahead = (utcnow() + timedelta(days=7)).astimezone(ZoneInfo("Asia/Seoul"))
    first_night = week_ahead.replace(hour=19, minute=0, second=0, microsecond=0)
    for offset in (0, 1):
        await service.create_schedule(
            db, created.id, first_night + timedelta(days=offset), _seats()
        )
    return True
