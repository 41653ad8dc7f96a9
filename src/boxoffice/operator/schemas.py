from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from boxoffice.booking.schemas import RESERVATION, ReservationOut
from boxoffice.catalog.schemas import SCHEDULE, ScheduleOut
from boxoffice.users.schemas import USER

USER_SUMMARY: JsonDict = {key: USER[key] for key in ("id", "name", "email")}


class ScheduleReport(ScheduleOut):
    """A schedule with its exact counts: every seat is sold, held or free."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **SCHEDULE,
                    "available_seats": 4987,
                    "sold": 10,
                    "held": 3,
                    "free": 4987,
                    "revenue": 990000,
                }
            ]
        }
    )

    sold: int
    held: int
    free: int
    revenue: int


class UserSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [USER_SUMMARY]})

    id: int
    name: str
    email: str


class ReservationWithUser(ReservationOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**RESERVATION, "user": USER_SUMMARY}]}
    )

    user: UserSummary


class UserAccount(BaseModel):
    """A user as the operator sees them."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**USER, "blocked": False, "blocked_at": None}]}
    )

    id: int
    name: str
    email: str
    balance: int
    created_at: datetime
    blocked: bool = Field(description="Blocked users cannot join lines, hold, pay or charge")
    blocked_at: datetime | None = Field(description="When the user was blocked; null if not")
