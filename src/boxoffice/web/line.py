"""The fan's place in a concert's line, kept in a cookie per concert: the pages read it back
to show the waiting page and to pass the gate of the seat map, holds and payments."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from boxoffice.config import Settings

_PREFIX = "boxoffice_line_"
# Long enough for any wait; the waiting room itself decides when a token has expired.
_LIFETIME_SECONDS = 24 * 3600


def cookie_name(concert_id: int) -> str:
    return f"{_PREFIX}{concert_id}"


def token_for(request: Request, concert_id: int) -> str | None:
    token = request.cookies.get(cookie_name(concert_id))
    return token if token and len(token) <= 512 else None


def remember(request: Request, response: Response, concert_id: int, token: str) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        cookie_name(concert_id),
        token,
        max_age=_LIFETIME_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
    )
