"""Home (every concert with its next dates) and a concert's page with its dates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from boxoffice.api import MAX_ID, Db
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import ConcertOut, ScheduleOut
from boxoffice.clock import utcnow
from boxoffice.pagination import PageRequest
from boxoffice.web.rendering import render
from boxoffice.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ConcertId = Annotated[int, Path(ge=1, le=MAX_ID)]
HOME_CONCERTS = 50
NEXT_DATES = 3
ALL_DATES = 200


@router.get("/")
async def home(request: Request, db: Db) -> Response:
    concerts = await catalog.list_concerts(db, PageRequest(limit=HOME_CONCERTS, after=None))
    listed: list[tuple[ConcertOut, list[ScheduleOut]]] = []
    for concert in concerts.items:
        upcoming = await catalog.list_schedules(
            db, concert.id, True, PageRequest(limit=NEXT_DATES, after=None)
        )
        listed.append((concert, upcoming.items))
    return render(request, "home.html", concerts=listed)


@router.get("/concerts/{concert_id}")
async def concert_page(request: Request, concert_id: ConcertId, db: Db) -> Response:
    concert = await catalog.get_concert(db, concert_id)
    schedules = await catalog.list_schedules(
        db, concert_id, False, PageRequest(limit=ALL_DATES, after=None)
    )
    return render(request, "concert.html", concert=concert, schedules=schedules.items, now=utcnow())
