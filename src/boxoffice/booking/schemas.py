"""What booking takes in and gives out over HTTP, and the typed rows its queries return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from boxoffice.api import BodyId
from boxoffice.statuses import PaymentStatus, ReservationStatus


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


class PayIn(BaseModel):
    reservation_id: BodyId


class PaymentOut(BaseModel):
    id: int
    reservation_id: int
    user_id: int
    amount: int
    status: PaymentStatus
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
class HolderAtSeat:
    """A would-be holder's standing and live holds in the seat's schedule, and the seat (None
    if unknown)."""

    blocked_at: datetime | None
    live_holds: int
    seat: SeatToHold | None


@dataclass(frozen=True)
class ReservationToPay:
    id: int
    amount: int
    status: ReservationStatus
    concert_id: int
    owner_blocked_at: datetime | None


@dataclass(frozen=True)
class ReservationToCancel:
    """A reservation as stored (not as shown: its status is judged after its lock is taken)."""

    id: int
    user_id: int
    seat_id: int
    status: ReservationStatus
    expires_at: datetime | None
    start_time: datetime
