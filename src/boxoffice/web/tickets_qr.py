"""A confirmed booking's e-ticket as the page shows it: its code, and its QR code as an image
the page can inline."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.tickets import service as tickets


@dataclass(frozen=True)
class ETicket:
    code: str
    qr_data_uri: str
    checked_in_at: datetime | None


async def e_ticket(db: Database, settings: Settings, user_id: int, reservation_id: int) -> ETicket:
    ticket = await tickets.get_ticket(db, settings, user_id, reservation_id)
    encoded = base64.b64encode(ticket.qr_svg.encode()).decode()
    return ETicket(
        code=ticket.code,
        qr_data_uri=f"data:image/svg+xml;base64,{encoded}",
        checked_in_at=ticket.checked_in_at,
    )
