"""Identity: JWT access tokens for users, the shared key for admins."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.errors import AdminKeyInvalid, Unauthenticated
from boxoffice.sessions import check_api_csrf, session_access_token

ALGORITHM = "HS256"
_bearer = HTTPBearer(auto_error=False, description="The access_token returned by POST /users")


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


async def current_user_id(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The user of a bearer token or, failing one, of the web session cookie (API.md: the API
    accepts either). A state-changing request authenticated by the cookie must also pass the
    cross-site check (`boxoffice.sessions.check_api_csrf`)."""
    settings: Settings = request.app.state.settings
    if credentials is not None:
        return user_id_from_token(settings, credentials.credentials)
    cookie_token = session_access_token(request)
    if cookie_token is None:
        raise Unauthenticated("A bearer token is required: Authorization: Bearer <access_token>.")
    user_id = user_id_from_token(settings, cookie_token)
    check_api_csrf(request)
    return user_id


async def require_admin(
    request: Request,
    x_admin_key: Annotated[str | None, Header(description="BOXOFFICE_ADMIN_KEY")] = None,
) -> None:
    settings: Settings = request.app.state.settings
    # An empty header is never an admin, whatever the configuration says.
    if not x_admin_key or not secrets.compare_digest(
        x_admin_key.encode(), settings.admin_key.encode()
    ):
        raise AdminKeyInvalid("This endpoint needs the right X-Admin-Key header.")


CurrentUserId = Annotated[int, Depends(current_user_id)]
AdminOnly = Depends(require_admin)
