"""Templates: one Jinja2 environment, and the context every page gets (language, time zone,
the visitor's session and the cross-site token for its forms)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Match

from boxoffice.statuses import EntryType, ReservationStatus, SeatStatus, TicketStatus
from boxoffice.web import i18n, session

TEMPLATES = Path(__file__).parent / "templates"
# Paths that belong to the API and the operations endpoints, never to a page.
NOT_PAGES = (
    "/api/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/static/",
)

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
# Templates name statuses through the same enums as the code.
environment.globals.update(
    EntryType=EntryType,
    ReservationStatus=ReservationStatus,
    SeatStatus=SeatStatus,
    TicketStatus=TicketStatus,
)


def gettext_for(request: Request) -> Any:
    return i18n.translations(i18n.language_of(request)).gettext


def return_address(request: Request, said_once: Iterable[str] = ()) -> str:
    """Where the language switch brings the visitor back to: this page, its query included
    (the chosen date of a seat map), without the notices and problems said once.

    A page answered to a form (a failed payment at `/checkout/5/pay`) has an address that only
    takes a POST: the switch leads to the page the form was on instead (the Referer, when it
    is this site's and a page), else to the nearest page above the form's address
    (`/checkout/5`), else home. Only a path is ever returned: never another host."""
    if request.method in ("GET", "HEAD"):
        forgotten = set(said_once)
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in forgotten]
        return request.url.path + (f"?{urlencode(kept)}" if kept else "")
    referer = urlsplit(request.headers.get("referer", ""))
    if (
        referer.scheme in ("http", "https")
        and referer.netloc == request.headers.get("host")
        and _shown_with_get(request, referer.path)
    ):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    path = request.url.path.rstrip("/")
    while path:
        if _shown_with_get(request, path):
            return path
        path = path.rpartition("/")[0]
    return "/"


def _shown_with_get(request: Request, path: str) -> bool:
    """Whether one of the pages (not the API) answers a GET at this path."""
    if not path.startswith("/") or path.startswith(("//", "/\\", *NOT_PAGES)):
        return False
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    language = i18n.language_of(request)
    said_once = f"{context.get('notice_query') or ''} {context.get('error_query') or ''}".split()
    catalog = i18n.translations(language)
    page = environment.get_template(template).render(
        request=request,
        gettext=catalog.gettext,
        ngettext=catalog.ngettext,
        _=catalog.gettext,
        lang=language,
        languages=i18n.LANGUAGES,
        fmt=i18n.Formatter(language, i18n.time_zone_of(request)),
        signed_in=session.session_user(request) is not None,
        admin=session.is_admin(request),
        csrf_field=session.CSRF_FIELD,
        csrf_token=session.csrf_token(request),
        return_address=return_address(request, said_once),
        **context,
    )
    response = HTMLResponse(page, status_code=status)
    session.remember_csrf(request, response)
    # Pages show a person's own balance and tickets: no shared cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response
