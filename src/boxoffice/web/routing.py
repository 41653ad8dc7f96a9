"""What every page route shares: errors shown as pages, the visitor's identity as a
dependency, and redirects that never leave the site."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError
from starlette.responses import RedirectResponse, Response

from boxoffice.api import UNREACHABLE
from boxoffice.auth import require_existing_user
from boxoffice.db import is_unavailable
from boxoffice.errors import DomainError, ServiceUnavailable, Unauthenticated
from boxoffice.web import messages, session
from boxoffice.web.rendering import gettext_for, render

log = logging.getLogger("boxoffice.web")


class LoginRequired(Exception):
    pass


class AdminRequired(Exception):
    pass


class PageRoute(APIRoute):
    """A route whose failures are pages in words, never problem+json or a stack trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path if request.method == "GET" else "/"
                return redirect(f"/login?next={quote(target)}")
            except AdminRequired:
                return redirect("/admin")
            except session.CrossSiteRequest:
                return error_page(request, messages.CROSS_SITE, 403)
            except RequestValidationError:
                return error_page(request, messages.PAGE_NOT_FOUND, 404)
            except DomainError as error:
                return error_page(request, None, error.status, error)
            except (*UNREACHABLE, DBAPIError) as error:
                if isinstance(error, DBAPIError) and not is_unavailable(error):
                    raise
                log.warning("dependency unreachable: %s", error)
                return error_page(request, None, 503, ServiceUnavailable(str(error)))

        return page_handler


def error_page(
    request: Request, message: str | None, status: int, error: DomainError | None = None
) -> Response:
    gettext = gettext_for(request)
    if error is not None:
        text = messages.explain(error, gettext)
    else:
        text = gettext(message) if message else ""
    template = "admin/error.html" if request.url.path.startswith("/admin") else "error.html"
    return render(request, template, status=status, error=text)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this site: `//host` and `/\\host` would send the visitor elsewhere."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


async def _fan(request: Request) -> int:
    user_id = session.session_user(request)
    if user_id is None:
        raise LoginRequired
    try:
        await require_existing_user(request, user_id)
    except Unauthenticated as error:
        raise LoginRequired from error
    return user_id


async def _operator(request: Request) -> None:
    if not session.is_admin(request):
        raise AdminRequired


async def _csrf(request: Request) -> None:
    await session.check_csrf(request)


FanId = Annotated[int, Depends(_fan)]
OperatorOnly = Depends(_operator)
CsrfChecked = Depends(_csrf)
