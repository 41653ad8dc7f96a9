"""When a schedule sells, in one place: ON_SALE until its start time, CLOSED from that moment on
(whatever was held before), CANCELLED once the operator has cancelled it. Nothing is held or paid
for a schedule that is not ON_SALE. Queries, services and the audit ask this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case

from boxoffice.errors import ScheduleClosed
from boxoffice.liveness import Now
from boxoffice.statuses import ScheduleStatus
from boxoffice.tables import concert_schedule


def is_on_sale(now: Now, table: Any = concert_schedule) -> ColumnElement[bool]:
    return and_(table.c.cancelled_at.is_(None), table.c.start_time > now)


def shown_status(now: Now, table: Any = concert_schedule) -> ColumnElement[str]:
    return case(
        (table.c.cancelled_at.is_not(None), ScheduleStatus.CANCELLED.value),
        (table.c.start_time <= now, ScheduleStatus.CLOSED.value),
        else_=ScheduleStatus.ON_SALE.value,
    )


def status_at(start_time: datetime, cancelled_at: datetime | None, now: datetime) -> ScheduleStatus:
    """The same rule for a schedule already read into Python."""
    if cancelled_at is not None:
        return ScheduleStatus.CANCELLED
    if start_time <= now:
        return ScheduleStatus.CLOSED
    return ScheduleStatus.ON_SALE


def require_on_sale(
    schedule_id: int, start_time: datetime, cancelled_at: datetime | None, now: datetime
) -> None:
    """Refuse a hold or payment for a schedule that is not on sale at `now`."""
    status = status_at(start_time, cancelled_at, now)
    if status == ScheduleStatus.CANCELLED:
        raise ScheduleClosed(f"Schedule {schedule_id} was cancelled: nothing is sold for it.")
    if status == ScheduleStatus.CLOSED:
        raise closed(schedule_id)


def closed(schedule_id: int) -> ScheduleClosed:
    return ScheduleClosed(
        f"Schedule {schedule_id} has started or was cancelled: nothing more is sold for it."
    )
