from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.config import JsonDict

from boxoffice.api import JsonInt, one_line
from boxoffice.clock import LATEST_TIME
from boxoffice.money import MAX_PRICE
from boxoffice.statuses import ScheduleStatus, SeatStatus

MAX_SEATS = 100_000


def _iso_text(value: object) -> object:
    """Times are ISO 8601 text: pydantic would also read a number, or a string of digits, as
    seconds since 1970 (and 5 as a moment in 1970)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or re.fullmatch(r"\s*[+-]?\d+(\.\d*)?\s*", value):
        raise ValueError("a time is ISO 8601 text with a UTC offset, e.g. 2026-12-24T19:00:00Z")
    return value


def _to_utc(moment: datetime) -> datetime:
    try:
        utc = moment.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("time out of range") from error
    if utc >= LATEST_TIME:
        raise ValueError("time out of range: before the year 9999, please")
    return utc


UtcTime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_to_utc)]
Title = Annotated[str, one_line(200)]
SeatNumber = Annotated[str, one_line(20)]
Price = Annotated[JsonInt, Field(ge=0, le=MAX_PRICE, description="Whole won")]


Minutes = Annotated[JsonInt, Field(gt=0, lt=24 * 60)]
SaleOpening = Annotated[
    UtcTime | None,
    Field(
        description="When the sale opens (null: open). Whoever joins the line before it is "
        "put in one random order at the opening."
    ),
]


# What the examples in the API docs show.
CONCERT: JsonDict = {
    "id": 2,
    "title": "Spring Festival",
    "duration_minutes": 180,
    "sale_opens_at": None,
}
SEAT: JsonDict = {"id": 412, "seat_number": "12", "price": 99000, "status": "AVAILABLE"}
SCHEDULE: JsonDict = {
    "id": 3,
    "concert_id": 2,
    "start_time": "2027-04-05T09:00:00Z",
    "total_seats": 5000,
    "available_seats": 4987,
    "status": "ON_SALE",
}


class ConcertIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Spring Festival",
                    "duration_minutes": 180,
                    "sale_opens_at": "2027-03-01T01:00:00Z",
                }
            ]
        }
    )

    title: Title
    duration_minutes: Minutes
    sale_opens_at: SaleOpening = None


class ConcertChange(BaseModel):
    """Any of a concert's fields; `sale_opens_at: null` opens the sale now."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"title": "Spring Festival 2027"}]})

    title: Title | None = None
    duration_minutes: Minutes | None = None
    sale_opens_at: SaleOpening = None

    @model_validator(mode="after")
    def _something_to_change(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one of title, duration_minutes, sale_opens_at")
        for name in ("title", "duration_minutes"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


@dataclass(frozen=True)
class ConcertRow:
    """A concert as stored: what its public body is made from."""

    id: int
    title: str
    duration: time
    sale_opens_at: datetime | None


class ConcertOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONCERT]})

    id: int
    title: str
    duration_minutes: int
    sale_opens_at: datetime | None = Field(
        description="When the sale opens; null once it is open or when no opening was set"
    )


class SeatIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"seat_number": "A-1", "price": 99000}]}
    )

    seat_number: SeatNumber
    price: Price


class ScheduleIn(BaseModel):
    """Either `seats`, or `seat_count` and `price` for seats numbered "1".."N"."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"start_time": "2027-04-05T18:00:00+09:00", "seat_count": 5000, "price": 99000}
            ]
        }
    )

    start_time: UtcTime
    seats: list[SeatIn] | None = Field(default=None, min_length=1, max_length=MAX_SEATS)
    seat_count: JsonInt | None = Field(default=None, ge=1, le=MAX_SEATS)
    price: Price | None = None

    @model_validator(mode="after")
    def _one_way_of_giving_seats(self) -> Self:
        if self.seats is not None:
            if self.seat_count is not None or self.price is not None:
                raise ValueError("give either seats, or seat_count and price, not both")
            numbers = [seat.seat_number for seat in self.seats]
            if len(set(numbers)) != len(numbers):
                raise ValueError("seat numbers must be unique within a schedule")
        elif self.seat_count is None or self.price is None:
            raise ValueError("give either seats, or seat_count and price")
        return self

    def seat_list(self) -> list[SeatIn]:
        if self.seats is not None:
            return self.seats
        assert self.seat_count is not None and self.price is not None
        return [SeatIn(seat_number=str(n), price=self.price) for n in range(1, self.seat_count + 1)]


class ScheduleOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SCHEDULE]})

    id: int
    concert_id: int
    start_time: datetime
    total_seats: int
    available_seats: int
    status: ScheduleStatus = Field(
        description="ON_SALE until the start time, CLOSED from then on, CANCELLED once the "
        "operator cancelled it"
    )


class SeatOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SEAT]})

    id: int
    seat_number: str
    price: int
    status: SeatStatus


class SeatListing(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"schedule_id": 3, "items": [SEAT]}]})

    schedule_id: int
    items: list[SeatOut]
