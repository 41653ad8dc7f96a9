"""What booking takes in and gives out over HTTP, and the typed rows its queries return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from pydantic.config import JsonDict

from boxoffice.api import BodyId
from boxoffice.statuses import PaymentStatus, ReservationStatus

# What the examples in the API docs show.
RESERVATION: JsonDict = {
    "id": 58,
    "user_id": 7,
    "schedule_id": 3,
    "seat_id": 412,
    "seat_number": "12",
    "amount": 99000,
    "status": "TEMPORARY",
    "expires_at": "2026-11-24T10:05:00Z",
    "created_at": "2026-11-24T10:00:00Z",
}


class HoldIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"seat_id": 412}]})

    seat_id: BodyId


class ReservationOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [RESERVATION]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"reservation_id": 58}]})

    reservation_id: BodyId


class PaymentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 19,
                    "reservation_id": 58,
                    "user_id": 7,
                    "amount": 99000,
                    "status": "SUCCESS",
                    "created_at": "2026-11-24T10:02:10Z",
                }
            ]
        }
    )

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
    start_time: datetime
    cancelled_at: datetime | None


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
    schedule_id: int
    concert_id: int
    start_time: datetime
    cancelled_at: datetime | None
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
    # When its ticket was scanned at the door; a ticket used for entry is not refunded.
    checked_in_at: datetime | None


@dataclass(frozen=True)
class ReservationToEnd:
    """A reservation of a cancelled schedule, as stored, under its row lock."""

    id: int
    user_id: int
    seat_id: int
    status: ReservationStatus
    expires_at: datetime | None


class AdmissionRef(Protocol):
    """The admission a hold or payment runs under: its concert and its queue token."""

    @property
    def concert_id(self) -> int: ...

    @property
    def token(self) -> str: ...


@dataclass(frozen=True)
class HoldCall:
    """What `boxoffice_hold()` answered: HELD, or why not (USER_NOT_FOUND; BUSY: another
    request of the user holds their row; REFUSED, which `holder` explains; ADMISSION_ENDED;
    SEAT_TAKEN)."""

    outcome: str
    holder: HolderAtSeat | None
    reservation_id: int | None
    took_over: bool
    held_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class StoredAnswer:
    """The answer a payment function stores under an Idempotency-Key claim when it succeeds:
    `body` is the JSON of the answer without the payment's `id` and `amount`, which the
    function adds."""

    claim_id: int
    status: int
    body: str


@dataclass(frozen=True)
class PayCall:
    """What `boxoffice_pay()` answered: PAID, CLAIM_LOST (a retry answered the key
    meanwhile), or IRREGULAR (nothing changed; the step-by-step payment says why)."""

    outcome: str
    payment_id: int | None
    amount: int | None
    holds_left: int | None
