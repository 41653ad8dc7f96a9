from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints


class TicketOut(BaseModel):
    reservation_id: int
    code: str
    qr_svg: str


class CheckInIn(BaseModel):
    code: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CheckInOut(BaseModel):
    reservation_id: int
    seat_number: str
    schedule_id: int
    checked_in_at: datetime
