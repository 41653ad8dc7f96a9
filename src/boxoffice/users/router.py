from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from boxoffice.api import AppSettings, Db
from boxoffice.auth import CurrentUserId
from boxoffice.errors import (
    BalanceLimitReached,
    ChargeOutOfRange,
    EmailTaken,
    InvalidCredentials,
    UserBlocked,
    UserNotFound,
)
from boxoffice.idempotency.http import Idempotent
from boxoffice.pagination import Page, PageRequest, page_request
from boxoffice.problems import DocumentedRoute, answers
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

router = APIRouter(tags=["users"], route_class=DocumentedRoute)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    summary="Sign up",
    dependencies=[AuthRateLimit],
)
@answers(EmailTaken)
async def sign_up(body: SignUp, db: Db, settings: AppSettings) -> SignedUp:
    """Create a user with a zero balance. The answer carries an access token, so the new user
    is signed in at once."""
    return await service.sign_up(db, settings, body.name, body.email, body.password)


@router.post("/auth/token", tags=["auth"], summary="Log in", dependencies=[AuthRateLimit])
@answers(InvalidCredentials)
async def log_in(body: LogIn, db: Db, settings: AppSettings) -> AccessToken:
    """Log in with email and password: a new access token for the bearer header."""
    return await service.log_in(db, settings, body.email, body.password)


@router.get("/users/me", summary="Who am I")
@answers(UserNotFound)
async def me(user_id: CurrentUserId, db: Db) -> UserOut:
    """The signed-in user, with their balance."""
    return await service.get_user(db, user_id)


@router.get("/users/me/balance", summary="My balance")
@answers(UserNotFound)
async def balance(user_id: CurrentUserId, db: Db) -> BalanceOut:
    """The signed-in user's balance, in whole won."""
    return await service.get_balance(db, user_id)


@router.post("/users/me/balance/charge", summary="Charge my balance")
@answers(UserNotFound, UserBlocked, ChargeOutOfRange, BalanceLimitReached)
async def charge(
    body: ChargeIn,
    user_id: CurrentUserId,
    db: Db,
    settings: AppSettings,
    recorder: Idempotent,
) -> ChargeOut:
    """Add won to the balance and record a CHARGE in the point history. With an
    Idempotency-Key, a retry of the same request gets the first answer and charges once."""
    return await service.charge(db, settings, user_id, body.amount, recorder)


@router.get("/users/me/point-history", summary="My point history")
async def point_history(
    user_id: CurrentUserId,
    db: Db,
    page: Annotated[PageRequest, Depends(page_request)],
) -> Page[PointHistoryOut]:
    """Every change of the balance, newest first: CHARGE and REFUND add, USE takes away."""
    return await service.point_history(db, user_id, page)
