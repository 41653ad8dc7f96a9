from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from boxoffice.api import BodyId

ReservationStatus = Literal["TEMPORARY", "CONFIRMED", "CANCELLED", "EXPIRED"]


class HoldIn(BaseModel):
    seat_id: BodyId


class ReservationOut(BaseModel):
    id: int
    user_id: int
    schedule_id: int
    seat_id: int
    seat_number: str
    amount: int
    status: ReservationStatus
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class SeatToHold:
    """What a hold needs to know about its seat before it starts."""

    seat_id: int
    schedule_id: int
    concert_id: int
    seat_number: str
    price: int


@dataclass(frozen=True)
class UserAtSeat:
    """A would-be holder's live holds in the seat's schedule, and the seat (None if unknown)."""

    live_holds: int
    seat: SeatToHold | None
