"""The operator's pages: entry with the admin key, concerts, a concert with its dates and its
line, the live view of one sale, cancelling a date, and check-in at the door."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Path, Request
from starlette.responses import JSONResponse, Response

from boxoffice.api import MAX_ID, AppSettings, Db
from boxoffice.booking import show_cancellation
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import SeatIn
from boxoffice.clock import utcnow
from boxoffice.errors import DomainError, TicketAlreadyUsed, TicketNotFound
from boxoffice.money import MAX_PRICE
from boxoffice.operator import service as operator
from boxoffice.pagination import PageRequest
from boxoffice.queue import service as queue
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.gate import Room
from boxoffice.statuses import ScheduleStatus
from boxoffice.tickets import service as tickets
from boxoffice.web import forms, i18n, messages, session
from boxoffice.web.rendering import gettext_for, render
from boxoffice.web.routing import CsrfChecked, OperatorOnly, PageRoute, redirect

entry = APIRouter(route_class=PageRoute, include_in_schema=False)
router = APIRouter(
    prefix="/admin", route_class=PageRoute, include_in_schema=False, dependencies=[OperatorOnly]
)

ConcertId = Annotated[int, Path(ge=1, le=MAX_ID)]
ScheduleId = Annotated[int, Path(ge=1, le=MAX_ID)]
Text = Annotated[str, Form(max_length=400)]
LISTED = 200
MAX_SEATS = 100_000


@entry.get("/admin")
async def key_form(request: Request) -> Response:
    if session.is_admin(request):
        return redirect("/admin/concerts")
    return render(request, "admin/enter.html")


@entry.post("/admin", dependencies=[CsrfChecked])
async def enter(request: Request, settings: AppSettings, admin_key: Text = "") -> Response:
    if not admin_key or not secrets.compare_digest(admin_key.encode(), settings.admin_key.encode()):
        error = gettext_for(request)(messages.ADMIN_KEY_WRONG)
        return render(request, "admin/enter.html", status=401, error=error)
    response = redirect("/admin/concerts")
    session.start_admin_session(request, response)
    return response


@entry.get("/admin/leave")
async def leave() -> Response:
    response = redirect("/admin")
    session.end_admin_session(response)
    return response


@router.get("/concerts")
async def concerts(request: Request, db: Db) -> Response:
    return await _concerts_page(request, db)


async def _concerts_page(
    request: Request, db: Db, error: str | None = None, status: int = 200, **entered: str
) -> Response:
    listed = await catalog.list_concerts(db, PageRequest(limit=LISTED, after=None))
    return render(
        request,
        "admin/concerts.html",
        status=status,
        concerts=listed.items,
        error=error,
        entered=entered,
    )


@router.post("/concerts", dependencies=[CsrfChecked])
async def create_concert(
    request: Request,
    db: Db,
    title: Text = "",
    duration_minutes: Text = "",
    sale_opens_at: Text = "",
) -> Response:
    gettext = gettext_for(request)
    minutes = forms.whole_number(duration_minutes, 1, 24 * 60 - 1)
    opens = forms.local_time(sale_opens_at, i18n.time_zone_of(request)) if sale_opens_at else None
    problem = None
    if not title.strip() or len(title.strip()) > 200:
        problem = messages.TITLE_NEEDED
    elif minutes is None:
        problem = messages.DURATION_RANGE
    elif sale_opens_at and opens is None:
        problem = messages.TIME_UNREADABLE
    if problem is not None:
        return await _concerts_page(
            request,
            db,
            error=gettext(problem),
            status=422,
            title=title,
            duration_minutes=duration_minutes,
            sale_opens_at=sale_opens_at,
        )
    assert minutes is not None
    created = await catalog.create_concert(db, title.strip(), minutes, sale_opens_at=opens)
    return redirect(f"/admin/concerts/{created.id}")


@router.get("/concerts/{concert_id}")
async def concert(
    request: Request, concert_id: ConcertId, db: Db, room: Room, cancelled: int | None = None
) -> Response:
    notice = gettext_for(request)(messages.SCHEDULE_CANCELLED) if cancelled else None
    return await _concert_page(request, db, concert_id, room=room, notice=notice)


async def _concert_page(
    request: Request,
    db: Db,
    concert_id: int,
    error: str | None = None,
    status: int = 200,
    notice: str | None = None,
    room: WaitingRoom | None = None,
    **entered: str,
) -> Response:
    found = await catalog.get_concert(db, concert_id)
    waiting_line = await queue.line(db, room or request.app.state.waiting_room, concert_id)
    schedules = await catalog.list_schedules(
        db, concert_id, False, PageRequest(limit=LISTED, after=None)
    )
    return render(
        request,
        "admin/concert.html",
        status=status,
        concert=found,
        line=waiting_line,
        schedules=schedules.items,
        now=utcnow(),
        error=error,
        notice=notice,
        notice_query="cancelled",
        entered=entered,
    )


@router.post("/concerts/{concert_id}/schedules", dependencies=[CsrfChecked])
async def add_schedule(
    request: Request,
    concert_id: ConcertId,
    db: Db,
    start_time: Text = "",
    seat_count: Text = "",
    price: Text = "",
) -> Response:
    gettext = gettext_for(request)
    starts = forms.local_time(start_time, i18n.time_zone_of(request))
    count = forms.whole_number(seat_count, 1, MAX_SEATS)
    won = forms.whole_number(price, 0, MAX_PRICE)
    problem = None
    if starts is None:
        problem = messages.TIME_UNREADABLE
    elif starts <= utcnow():
        problem = messages.START_IN_FUTURE
    elif count is None:
        problem = messages.SEAT_COUNT_RANGE
    elif won is None:
        problem = messages.PRICE_RANGE
    if problem is not None:
        return await _concert_page(
            request,
            db,
            concert_id,
            error=gettext(problem),
            status=422,
            start_time=start_time,
            seat_count=seat_count,
            price=price,
        )
    assert starts is not None and count is not None and won is not None
    seats = [SeatIn(seat_number=str(n), price=won) for n in range(1, count + 1)]
    await catalog.create_schedule(db, concert_id, starts, seats)
    return redirect(f"/admin/concerts/{concert_id}")


@router.get("/schedules/{schedule_id}")
async def live_sale(request: Request, schedule_id: ScheduleId, db: Db, room: Room) -> Response:
    schedule = await catalog.get_schedule(db, schedule_id)
    found = await catalog.get_concert(db, schedule.concert_id)
    return render(
        request,
        "admin/sale.html",
        schedule=schedule,
        concert=found,
        numbers=await _sale_numbers(db, room, schedule_id),
    )


@router.get("/schedules/{schedule_id}/numbers")
async def sale_numbers(schedule_id: ScheduleId, db: Db, room: Room) -> JSONResponse:
    try:
        numbers = await _sale_numbers(db, room, schedule_id)
    except DomainError as error:
        return JSONResponse({"code": error.code}, status_code=error.status)
    return JSONResponse(numbers, headers={"Cache-Control": "no-store"})


async def _sale_numbers(db: Db, room: WaitingRoom, schedule_id: int) -> dict[str, float | None]:
    """The sale's counters and its concert's line, as the live page shows and polls them."""
    report = await operator.schedule_report(db, schedule_id)
    waiting_line = await queue.line(db, room, report.concert_id)
    return {
        "sold": report.sold,
        "held": report.held,
        "free": report.free,
        "revenue": report.revenue,
        "waiting": waiting_line.waiting,
        "active": waiting_line.active,
        "admitted_per_minute": waiting_line.admitted_per_minute,
        "oldest_wait_seconds": waiting_line.oldest_wait_seconds,
    }


@router.get("/schedules/{schedule_id}/cancel")
async def cancel_form(request: Request, schedule_id: ScheduleId, db: Db) -> Response:
    """What cancelling the date would end and refund, and the button that does it."""
    report = await operator.schedule_report(db, schedule_id)
    if report.status != ScheduleStatus.ON_SALE:
        return redirect(f"/admin/concerts/{report.concert_id}")
    found = await catalog.get_concert(db, report.concert_id)
    return render(request, "admin/cancel.html", report=report, concert=found)


@router.post("/schedules/{schedule_id}/cancel", dependencies=[CsrfChecked])
async def cancel_schedule(schedule_id: ScheduleId, db: Db, settings: AppSettings) -> Response:
    cancelled = await show_cancellation.cancel_schedule(db, schedule_id, settings.cancel_batch_size)
    return redirect(f"/admin/concerts/{cancelled.concert_id}?cancelled=1")


@router.get("/checkin")
async def checkin_form(request: Request) -> Response:
    return render(request, "admin/checkin.html", outcome=None)


@router.post("/checkin", dependencies=[CsrfChecked])
async def checkin(
    request: Request,
    db: Db,
    settings: AppSettings,
    ticket_code: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    code = ticket_code.strip()
    outcome: CheckInOutcome
    try:
        if not code:
            raise TicketNotFound("No code was entered.")
        entered = await tickets.check_in(db, settings, code)
        schedule = await catalog.get_schedule(db, entered.schedule_id)
        outcome = CheckInOutcome("valid", entered.seat_number, schedule.start_time, None)
    except TicketAlreadyUsed as used:
        outcome = CheckInOutcome("used", None, None, _moment(used.extra.get("checked_in_at")))
    except TicketNotFound:
        outcome = CheckInOutcome("unknown", None, None, None)
    return render(request, "admin/checkin.html", outcome=outcome)


@dataclass(frozen=True)
class CheckInOutcome:
    verdict: Literal["valid", "used", "unknown"]
    seat_number: str | None
    starts: datetime | None
    checked_in_at: datetime | None


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
