from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from pydantic.config import JsonDict

from boxoffice.api import ONE_LINE, JsonInt, one_line
from boxoffice.statuses import EntryType

PersonName = Annotated[str, one_line(100)]


# Length in characters. Long enough for a passphrase, short enough that hashing it costs
# nothing extra; no other rule, as NIST SP 800-63B advises.
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]

# What the examples in the API docs show.
ACCESS_TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl"
USER: JsonDict = {
    "id": 7,
    "name": "Kim Jiwoo",
    "email": "jiwoo@example.com",
    "balance": 150000,
    "created_at": "2026-11-24T09:00:00Z",
}


class SignUp(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Kim Jiwoo",
                    "email": "jiwoo@example.com",
                    "password": "correct horse battery",
                }
            ]
        }
    )

    name: PersonName
    email: Annotated[EmailStr, Field(max_length=320)]
    password: Password


class LogIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"email": "jiwoo@example.com", "password": "correct horse battery"}]
        }
    )

    # Not validated as an address: any string that is no user's email is simply refused.
    email: Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=ONE_LINE)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class AccessToken(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 604800}
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class UserOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [USER]})

    id: int
    name: str
    email: str
    balance: int
    created_at: datetime


class SignedUp(UserOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**USER, "balance": 0, "access_token": ACCESS_TOKEN}]}
    )

    access_token: str


class BalanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": 7, "balance": 150000}]})

    user_id: int
    balance: int


class ChargeIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"amount": 200000}]})

    amount: JsonInt = Field(ge=1, description="Whole won, at most BOXOFFICE_MAX_CHARGE")


class ChargeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": 7, "balance": 350000, "point_history_id": 31}]}
    )

    user_id: int
    balance: int
    point_history_id: int


class PointHistoryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 31, "amount": 200000, "type": "CHARGE", "created_at": "2026-11-24T09:30:00Z"}
            ]
        }
    )

    id: int
    amount: int
    type: EntryType
    created_at: datetime
