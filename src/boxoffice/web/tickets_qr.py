"""The QR code of a confirmed booking's e-ticket, as an image the page can inline."""

from __future__ import annotations

from starlette.requests import Request

from boxoffice.db import Database


async def qr_data_uri(
    request: Request, db: Database, user_id: int, reservation_id: int
) -> str | None:
    """None until e-tickets are issued by the service."""
    return None
