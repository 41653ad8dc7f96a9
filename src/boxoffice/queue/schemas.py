from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class TicketOut(BaseModel):
    """A waiting-room token and where it stands."""

    token: str
    concert_id: int
    status: Literal["WAITING", "ACTIVE", "EXPIRED"]
    position: int | None = Field(description="1-based place in line while WAITING, else null")
    eta_seconds: int | None = Field(
        description="Estimated seconds until admission, from the admission rate observed lately"
    )
    active_until: datetime | None = Field(description="End of the admission while ACTIVE")
