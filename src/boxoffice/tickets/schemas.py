from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# What the examples in the API docs show.
TICKET_CODE = "58.3xJ1mZ0pQ7rT9vW2yB4nD6fH8k"


class ETicketOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reservation_id": 58,
                    "code": TICKET_CODE,
                    "qr_svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29">'
                    "...</svg>",
                }
            ]
        }
    )

    reservation_id: int
    code: str
    qr_svg: str


class CheckInIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": TICKET_CODE}]})

    code: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CheckInOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reservation_id": 58,
                    "seat_number": "12",
                    "schedule_id": 3,
                    "checked_in_at": "2027-04-05T08:41:09Z",
                }
            ]
        }
    )

    reservation_id: int
    seat_number: str
    schedule_id: int
    checked_in_at: datetime
