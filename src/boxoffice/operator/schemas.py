from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from boxoffice.booking.schemas import ReservationOut
from boxoffice.catalog.schemas import ScheduleOut


class ScheduleReport(ScheduleOut):
    """A schedule with its exact counts: every seat is sold, held or free."""

    sold: int
    held: int
    free: int
    revenue: int


class UserSummary(BaseModel):
    id: int
    name: str
    email: str


class ReservationWithUser(ReservationOut):
    user: UserSummary


class UserAccount(BaseModel):
    """A user as the operator sees them."""

    id: int
    name: str
    email: str
    balance: int
    created_at: datetime
    blocked: bool = Field(description="Blocked users cannot join lines, hold, pay or charge")
    blocked_at: datetime | None = Field(description="When the user was blocked; null if not")
