"""The buying flow: join a concert's line, wait, pick a seat on the live map, hold it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import Response

from boxoffice.api import MAX_ID, AppSettings, Db
from boxoffice.booking import holds
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import ScheduleOut, SeatOut
from boxoffice.clock import utcnow
from boxoffice.errors import DomainError, QueueNotAdmitted, QueueTokenInvalid, SeatUnavailable
from boxoffice.pagination import PageRequest
from boxoffice.queue import service as queue
from boxoffice.queue.gate import Room
from boxoffice.queue.service import Admission
from boxoffice.rate_limits import JoinRateLimit
from boxoffice.statuses import TicketStatus
from boxoffice.web import line, messages, session
from boxoffice.web.rendering import gettext_for, render
from boxoffice.web.routing import CsrfChecked, FanId, PageRoute, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ConcertId = Annotated[int, Path(ge=1, le=MAX_ID)]
ScheduleId = Annotated[int, Path(ge=1, le=MAX_ID)]
MAX_DATES = 200


@router.post("/concerts/{concert_id}/line", dependencies=[CsrfChecked, JoinRateLimit])
async def join_line(request: Request, concert_id: ConcertId, db: Db, room: Room) -> Response:
    user_id = session.session_user(request)
    if user_id is None:
        return redirect(f"/login?next=/concerts/{concert_id}")
    ticket, _ = await queue.join(db, room, concert_id, user_id)
    target = "seats" if ticket.status == TicketStatus.ACTIVE else "wait"
    response = redirect(f"/concerts/{concert_id}/{target}")
    line.remember(request, response, concert_id, ticket.token)
    return response


@router.get("/concerts/{concert_id}/wait")
async def waiting_page(
    request: Request, concert_id: ConcertId, user_id: FanId, db: Db, room: Room
) -> Response:
    concert = await catalog.get_concert(db, concert_id)
    token = line.token_for(request, concert_id)
    if token is None:
        return redirect(f"/concerts/{concert_id}")
    try:
        ticket = await queue.status(room, token, user_id)
    except QueueTokenInvalid:
        ticket = None
    if ticket is not None and ticket.status == TicketStatus.ACTIVE:
        return redirect(f"/concerts/{concert_id}/seats")
    return render(request, "waiting.html", concert=concert, ticket=ticket, token=token)


@router.get("/concerts/{concert_id}/seats")
async def seat_map(
    request: Request,
    concert_id: ConcertId,
    user_id: FanId,
    db: Db,
    room: Room,
    date: int | None = None,
    taken: str | None = None,
    problem: str | None = None,
) -> Response:
    concert = await catalog.get_concert(db, concert_id)
    token = line.token_for(request, concert_id)
    try:
        admission = await queue.require_admission(db, room, token, user_id, concert_id)
    except (QueueNotAdmitted, QueueTokenInvalid):
        return redirect(f"/concerts/{concert_id}/wait" if token else f"/concerts/{concert_id}")
    dates = await _dates_on_sale(db, concert_id)
    chosen = _chosen_date(dates, date)
    seats: list[SeatOut] = []
    if chosen is not None:
        seats = (await catalog.list_seats(db, chosen.id, None, admission)).items
    gettext = gettext_for(request)
    error = None
    if taken:
        error = gettext(messages.SEAT_TAKEN) % {"seat": taken[:20]}
    elif problem:
        error = messages.explain_code(problem, gettext)
    return render(
        request,
        "seats.html",
        concert=concert,
        dates=dates,
        chosen=chosen,
        sections=_sections(seats),
        token=token,
        error=error,
        # Said once: the address loses these, so a reload does not say the problem again.
        error_query="taken problem",
    )


async def _dates_on_sale(db: Db, concert_id: int) -> list[ScheduleOut]:
    page = await catalog.list_schedules(
        db, concert_id, False, PageRequest(limit=MAX_DATES, after=None)
    )
    now = utcnow()
    return [
        schedule
        for schedule in page.items
        if schedule.start_time > now and getattr(schedule, "status", "ON_SALE") == "ON_SALE"
    ]


def _chosen_date(dates: list[ScheduleOut], wanted: int | None) -> ScheduleOut | None:
    if len(dates) == 1 and wanted is None:
        return dates[0]
    return next((schedule for schedule in dates if schedule.id == wanted), None)


def _sections(seats: list[SeatOut]) -> list[tuple[int, list[SeatOut]]]:
    """Runs of neighbouring seats at one price: the map shows each run as a section."""
    sections: list[tuple[int, list[SeatOut]]] = []
    for seat in seats:
        if sections and sections[-1][0] == seat.price:
            sections[-1][1].append(seat)
        else:
            sections.append((seat.price, [seat]))
    return sections


async def _seat_number(db: Db, schedule_id: int, seat_id: int, admission: Admission) -> str:
    seats = (await catalog.list_seats(db, schedule_id, None, admission)).items
    return next((seat.seat_number for seat in seats if seat.id == seat_id), str(seat_id))


@router.post("/concerts/{concert_id}/seats/{schedule_id}/hold", dependencies=[CsrfChecked])
async def hold_seat(
    request: Request,
    concert_id: ConcertId,
    schedule_id: ScheduleId,
    user_id: FanId,
    db: Db,
    room: Room,
    settings: AppSettings,
    seat_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    back = f"/concerts/{concert_id}/seats?date={schedule_id}"
    token = line.token_for(request, concert_id)
    try:
        admission = await queue.admission(db, room, token, user_id)
        held = await holds.hold(db, settings, user_id, seat_id, admission)
    except SeatUnavailable:
        number = await _seat_number(db, schedule_id, seat_id, admission)
        return redirect(f"{back}&taken={quote(number)}")
    except (QueueNotAdmitted, QueueTokenInvalid):
        return redirect(f"/concerts/{concert_id}/wait")
    except DomainError as error:
        return redirect(f"{back}&problem={error.code}")
    return redirect(f"/checkout/{held.id}")
