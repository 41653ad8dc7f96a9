"""Templates: one Jinja2 environment, and the context every page gets (language, time zone,
the visitor's session and the cross-site token for its forms)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from boxoffice.statuses import EntryType, ReservationStatus, SeatStatus, TicketStatus
from boxoffice.web import i18n, session

TEMPLATES = Path(__file__).parent / "templates"

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
    (the chosen date of a seat map), without the notices and problems said once."""
    forgotten = set(said_once)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in forgotten]
    return request.url.path + (f"?{urlencode(kept)}" if kept else "")


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
