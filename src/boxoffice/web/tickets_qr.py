"""The QR code of a confirmed booking's e-ticket, as an image the page can inline."""

from __future__ import annotations

import base64

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.tickets import service as tickets


async def qr_data_uri(db: Database, settings: Settings, user_id: int, reservation_id: int) -> str:
    ticket = await tickets.get_ticket(db, settings, user_id, reservation_id)
    encoded = base64.b64encode(ticket.qr_svg.encode()).decode()
    return f"data:image/svg+xml;base64,{encoded}"
