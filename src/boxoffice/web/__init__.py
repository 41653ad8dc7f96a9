"""The service's own web pages: the fans' at `/`, the operator's at `/admin`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from boxoffice.web import (
    account_pages,
    admin_pages,
    buying_pages,
    catalog_pages,
    checkout_pages,
    language_pages,
    messages,
    polling,
    ticket_pages,
    wallet_pages,
)
from boxoffice.web.rendering import NOT_PAGES
from boxoffice.web.routing import error_page

STATIC = Path(__file__).parent / "static"


def wants_page(request: Request) -> bool:
    """A browser asking for a page: an unknown one is answered with a page, not JSON."""
    return not request.url.path.startswith(NOT_PAGES) and "text/html" in request.headers.get(
        "accept", ""
    )


def page_not_found(request: Request) -> Response:
    return error_page(request, messages.PAGE_NOT_FOUND, 404)


def install(app: FastAPI) -> None:
    for module in (
        account_pages,
        catalog_pages,
        buying_pages,
        checkout_pages,
        language_pages,
        wallet_pages,
        ticket_pages,
        polling,
    ):
        app.include_router(module.router)
    app.include_router(admin_pages.entry)
    app.include_router(admin_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
