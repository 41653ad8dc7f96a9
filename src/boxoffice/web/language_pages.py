"""The language switch: a link in every page's footer that remembers the choice."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from boxoffice.web import i18n
from boxoffice.web.routing import PageRoute, redirect, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/language/{language}")
async def choose_language(language: str, next: str = "/") -> Response:
    response = redirect(safe_next(next))
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, path="/", samesite="lax"
        )
    return response
