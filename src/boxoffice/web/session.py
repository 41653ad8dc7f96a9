"""Who is looking at a page: the fan's session cookie, the operator's, and the cross-site
request check every form that changes something goes through."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import jwt
from starlette.requests import Request
from starlette.responses import Response

from boxoffice.auth import user_id_from_token
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.errors import Unauthenticated
from boxoffice.sessions import CSRF_COOKIE, SESSION_COOKIE, same_origin

ADMIN_COOKIE = "boxoffice_admin"
CSRF_FIELD = "csrf_token"
ADMIN_SESSION = timedelta(hours=12)
_ADMIN_AUDIENCE = "boxoffice-admin"


class CrossSiteRequest(Exception):
    """A form post that did not come from one of our pages."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).env == "production",
    )


def session_user(request: Request) -> int | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return user_id_from_token(_settings(request), token)
    except Unauthenticated:
        return None


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) if session_user(request) else None


def start_session(request: Request, response: Response, access_token: str) -> None:
    ttl = _settings(request).access_token_ttl_seconds
    _set_cookie(request, response, SESSION_COOKIE, access_token, ttl)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def _admin_key_digest(settings: Settings) -> str:
    # Sessions name the key they were opened with: changing the key ends them all.
    return hashlib.sha256(settings.admin_key.encode()).hexdigest()[:32]


def start_admin_session(request: Request, response: Response) -> None:
    settings = _settings(request)
    now = utcnow()
    claims = {
        "sub": "admin",
        "aud": _ADMIN_AUDIENCE,
        "key": _admin_key_digest(settings),
        "iat": now,
        "exp": now + ADMIN_SESSION,
    }
    token = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    _set_cookie(request, response, ADMIN_COOKIE, token, int(ADMIN_SESSION.total_seconds()))


def end_admin_session(response: Response) -> None:
    response.delete_cookie(ADMIN_COOKIE, path="/")


def is_admin(request: Request) -> bool:
    token = request.cookies.get(ADMIN_COOKIE)
    if not token:
        return False
    settings = _settings(request)
    try:
        claims = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], audience=_ADMIN_AUDIENCE
        )
    except jwt.PyJWTError:
        return False
    return secrets.compare_digest(str(claims.get("key", "")), _admin_key_digest(settings))


def csrf_token(request: Request) -> str:
    """The token this visitor's forms carry: the one in their cookie, or a new one that
    `remember_csrf` puts in the cookie with the page."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.new_csrf = fresh
    return fresh


def remember_csrf(request: Request, response: Response) -> None:
    fresh: str | None = getattr(request.state, "new_csrf", None)
    if fresh is not None:
        _set_cookie(request, response, CSRF_COOKIE, fresh, 365 * 24 * 3600)


async def check_csrf(request: Request) -> None:
    """Double-submit: the form's token must match the cookie, which another site can neither
    read nor set; and a browser that says where the request comes from must say here."""
    # An opaque origin ("null", sent by some privacy settings) is left to the token check.
    if request.headers.get("origin") != "null" and not same_origin(request):
        raise CrossSiteRequest
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not cookie or not secrets.compare_digest(sent, cookie):
        raise CrossSiteRequest
