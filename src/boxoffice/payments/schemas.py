from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from boxoffice.api import BodyId


class PayIn(BaseModel):
    reservation_id: BodyId


class PaymentOut(BaseModel):
    id: int
    reservation_id: int
    user_id: int
    amount: int
    status: Literal["SUCCESS", "FAILED", "CANCELLED"]
    created_at: datetime
