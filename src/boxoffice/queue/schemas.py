from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from boxoffice.statuses import TicketStatus


class TicketOut(BaseModel):
    """A waiting-room token and where it stands."""

    token: str
    concert_id: int
    status: TicketStatus
    position: int | None = Field(description="1-based place in line while WAITING, else null")
    eta_seconds: int | None = Field(
        description="Estimated seconds until admission, from the admission rate observed lately"
    )
    active_until: datetime | None = Field(description="End of the admission while ACTIVE")
    opens_at: datetime | None = Field(
        default=None,
        description="When the sale opens, while it has not: until then `position` is null, and "
        "at the opening everyone who joined before it is put in one random order",
    )


class LineOut(BaseModel):
    """One concert's line as an operator sees it."""

    waiting: int = Field(description="People waiting, including those before the sale opens")
    active: int = Field(description="People admitted right now")
    admitted_per_minute: float = Field(description="Admission rate observed lately")
    oldest_wait_seconds: int | None = Field(
        description="How long the longest-waiting person has waited; null when nobody waits"
    )
