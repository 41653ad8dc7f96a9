from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from boxoffice.api import AppSettings, Db, problems
from boxoffice.auth import CurrentUserId
from boxoffice.idempotency.http import Idempotent
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.rate_limits import AuthRateLimit
from boxoffice.users import service
from boxoffice.users.schemas import (
    AccessToken,
    BalanceOut,
    ChargeIn,
    ChargeOut,
    LogIn,
    PointHistoryOut,
    SignedUp,
    SignUp,
    UserOut,
)

router = APIRouter(tags=["users"])


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses=problems(409, 429),
    dependencies=[AuthRateLimit],
)
async def sign_up(body: SignUp, db: Db, settings: AppSettings) -> SignedUp:
    return await service.sign_up(db, settings, body.name, body.email, body.password)


@router.post(
    "/auth/token", tags=["auth"], responses=problems(401, 429), dependencies=[AuthRateLimit]
)
async def log_in(body: LogIn, db: Db, settings: AppSettings) -> AccessToken:
    """Log in with email and password: a new access token for the bearer header."""
    return await service.log_in(db, settings, body.email, body.password)


@router.get("/users/me", responses=problems(401, 404))
async def me(user_id: CurrentUserId, db: Db) -> UserOut:
    return await service.get_user(db, user_id)


@router.get("/users/me/balance", responses=problems(401, 404))
async def balance(user_id: CurrentUserId, db: Db) -> BalanceOut:
    return await service.get_balance(db, user_id)


@router.post("/users/me/balance/charge", responses=problems(401, 404, 409))
async def charge(
    body: ChargeIn,
    user_id: CurrentUserId,
    db: Db,
    settings: AppSettings,
    recorder: Idempotent,
) -> ChargeOut:
    return await service.charge(db, settings, user_id, body.amount, recorder)


@router.get("/users/me/point-history", responses=problems(401))
async def point_history(
    user_id: CurrentUserId,
    db: Db,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[PointHistoryOut]:
    return await service.point_history(db, user_id, page)
