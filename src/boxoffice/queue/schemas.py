from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from boxoffice.statuses import TicketStatus

# What the examples in the API docs show.
QUEUE_TOKEN: JsonDict = {
    "token": "q_3kV9sJmT1xQ8bL2nR7wZ4yH6",
    "concert_id": 2,
    "status": "WAITING",
    "position": 17,
    "eta_seconds": 25,
    "active_until": None,
    "opens_at": None,
}


class TicketOut(BaseModel):
    """A waiting-room token and where it stands."""

    model_config = ConfigDict(json_schema_extra={"examples": [QUEUE_TOKEN]})

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "waiting": 1204,
                    "active": 100,
                    "admitted_per_minute": 38.5,
                    "oldest_wait_seconds": 1875,
                }
            ]
        }
    )

    waiting: int = Field(description="People waiting, including those before the sale opens")
    active: int = Field(description="People admitted right now")
    admitted_per_minute: float = Field(description="Admission rate observed lately")
    oldest_wait_seconds: int | None = Field(
        description="How long the longest-waiting person has waited; null when nobody waits"
    )
