"""Identity: JWT access tokens for users, the shared key for admins."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.errors import AdminKeyInvalid, CsrfRejected, ServiceUnavailable, Unauthenticated
from boxoffice.problems import answers
from boxoffice.sessions import check_api_csrf, session_access_token
from boxoffice.tables import users

ALGORITHM = "HS256"
# Security schemes, so that the docs' Authorize button fills the headers. None of them answers
# on its own (auto_error=False): a missing or wrong credential is the contract's problem
# details, raised below, not FastAPI's 403.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="The `access_token` of `POST /users` or `POST /auth/token`.",
)
_admin_key = APIKeyHeader(
    name="X-Admin-Key",
    auto_error=False,
    scheme_name="AdminKey",
    description="The operator's key, `BOXOFFICE_ADMIN_KEY` (`boxoffice serve` prints the "
    "development one).",
)


def issue_access_token(settings: Settings, user_id: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(user_id),
        "iat": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_seconds),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


# Tokens already verified, with their user and expiry: every request of a client carries the
# same token, and checking its signature and claims again each time was a visible share of a
# hold's CPU. A hit still honours the expiry. Bounded: the oldest entry makes room.
_VERIFIED_MAX = 50_000
_verified: dict[tuple[str, str], tuple[int, float]] = {}


def user_id_from_token(settings: Settings, token: str) -> int:
    known = _verified.get((settings.jwt_secret, token))
    if known is not None:
        user_id, expires = known
        if time.time() < expires:
            return user_id
        del _verified[(settings.jwt_secret, token)]
    user_id, expires = _verify(settings, token)
    if len(_verified) >= _VERIFIED_MAX:
        del _verified[next(iter(_verified))]
    _verified[(settings.jwt_secret, token)] = (user_id, expires)
    return user_id


def _verify(settings: Settings, token: str) -> tuple[int, float]:
    try:
        claims = jwt.decode(
            token, settings.jwt_secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
        )
        user_id = int(claims["sub"])
        expires = float(claims["exp"])
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise Unauthenticated(
            "The bearer token is missing, malformed, badly signed or expired."
        ) from error
    if not 0 < user_id < 2**63:
        raise Unauthenticated("The bearer token names no valid user.")
    return user_id, expires


# Whether the token's user exists is asked of the database (see `require_existing_user`).
@answers(Unauthenticated, CsrfRejected, ServiceUnavailable)
async def current_user_id(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> int:
    """The user of a bearer token or, failing one, of the web session cookie (API.md: the API
    accepts either). A state-changing request authenticated by the cookie must also pass the
    cross-site check (`boxoffice.sessions.check_api_csrf`)."""
    settings: Settings = request.app.state.settings
    if credentials is not None:
        user_id = user_id_from_token(settings, credentials.credentials)
    else:
        cookie_token = session_access_token(request)
        if cookie_token is None:
            raise Unauthenticated(
                "A bearer token is required: Authorization: Bearer <access_token>."
            )
        user_id = user_id_from_token(settings, cookie_token)
        check_api_csrf(request)
    await require_existing_user(request, user_id)
    return user_id


# How many user ids a process remembers as existing before it starts over.
_KNOWN_USERS_MAX = 100_000


async def require_existing_user(request: Request, user_id: int) -> None:
    """A well-signed token is still no one's when its user does not exist (a token from another
    database, say): UNAUTHENTICATED, on every endpoint alike. Accounts are never deleted, so
    each process asks the database once per user and then remembers the answer."""
    known: set[int] = request.app.state.known_users
    if user_id in known:
        return
    db: Database = request.app.state.db
    async with db.reading() as conn:
        found = await conn.execute(select(users.c.id).where(users.c.id == user_id))
        exists = found.first() is not None
    if not exists:
        raise Unauthenticated("The bearer token names no user of this service.")
    if len(known) >= _KNOWN_USERS_MAX:
        known.clear()
    known.add(user_id)


@answers(AdminKeyInvalid)
async def require_admin(
    request: Request,
    x_admin_key: Annotated[str | None, Security(_admin_key)],
) -> None:
    settings: Settings = request.app.state.settings
    # An empty header is never an admin, whatever the configuration says.
    if not x_admin_key or not secrets.compare_digest(
        x_admin_key.encode(), settings.admin_key.encode()
    ):
        raise AdminKeyInvalid("This endpoint needs the right X-Admin-Key header.")


CurrentUserId = Annotated[int, Depends(current_user_id)]
AdminOnly = Depends(require_admin)
