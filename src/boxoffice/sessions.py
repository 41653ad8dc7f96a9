"""The web session as the API sees it: the cookie the pages set, and the cross-site check a
request authenticated by that cookie must pass.

The pages (`boxoffice.web.session`) keep the signed-in fan's access token in the
``boxoffice_session`` cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` in production) and a
random CSRF token in the ``boxoffice_csrf`` cookie, which their forms echo in a ``csrf_token``
field. Script on those pages calling the API sends the same token in the ``X-CSRF-Token``
header. Another site can make a browser send the cookies but can neither read the token nor set
the header, so an unsafe request (POST, PUT, PATCH, DELETE) authenticated by the cookie is
refused without a matching header, and refused too when the browser says it comes from another
origin. A request with a bearer token needs none of this: no browser attaches one by itself.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from boxoffice.errors import CsrfRejected

SESSION_COOKIE = "boxoffice_session"
CSRF_COOKIE = "boxoffice_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def session_access_token(request: Request) -> str | None:
    """The access token the session cookie carries, if there is one (not yet verified)."""
    return request.cookies.get(SESSION_COOKIE) or None


def check_api_csrf(request: Request) -> None:
    """Refuse (CsrfRejected, 403 CSRF_TOKEN_INVALID) a cookie-authenticated unsafe request that
    may come from another site."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin(request)
    expected = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if not expected or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected(
            "A request authenticated by the session cookie needs the X-CSRF-Token header."
        )


def check_same_origin(request: Request) -> None:
    """Browsers name the origin of a cross-site POST: one that is not this site is refused."""
    if not same_origin(request):
        raise CsrfRejected("This request comes from another site.")


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another origin (or an opaque one)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = (request.headers.get("host") or "").lower()
    return origin != "null" and urlsplit(origin).netloc.lower() == host
