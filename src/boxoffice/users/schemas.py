from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from boxoffice.api import ONE_LINE, JsonInt, one_line
from boxoffice.statuses import EntryType

PersonName = Annotated[str, one_line(100)]


# Length in characters. Long enough for a passphrase, short enough that hashing it costs
# nothing extra; no other rule, as NIST SP 800-63B advises.
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]


class SignUp(BaseModel):
    name: PersonName
    email: Annotated[EmailStr, Field(max_length=320)]
    password: Password


class LogIn(BaseModel):
    # Not validated as an address: any string that is no user's email is simply refused.
    email: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=ONE_LINE)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class UserOut(BaseModel):
    id: int
    name: str
    email: str
    balance: int
    created_at: datetime


class SignedUp(UserOut):
    access_token: str


class BalanceOut(BaseModel):
    user_id: int
    balance: int


class ChargeIn(BaseModel):
    amount: JsonInt = Field(ge=1, description="Whole won, at most BOXOFFICE_MAX_CHARGE")


class ChargeOut(BaseModel):
    user_id: int
    balance: int
    point_history_id: int


class PointHistoryOut(BaseModel):
    id: int
    amount: int
    type: EntryType
    created_at: datetime
