"""Ticket codes: `BX1-<reservation id>-<MAC>`, where the MAC is an HMAC-SHA256 of the
reservation id under a key derived from BOXOFFICE_JWT_SECRET, 160 bits in base32.

Why a MAC rather than a random code stored with the reservation: the code then needs no column,
no write when a ticket is first shown and no change to how reservations are confirmed; it is the
same every time it is asked for; and it can be checked before touching the database, so a forged
or altered code costs the door one hash. It cannot be made from a reservation id without the
secret (forging one means guessing 160 bits). Whether the code still admits anyone is the
reservation's state, read at check-in: a cancelled reservation's code is refused. The price is
that changing the JWT secret changes every code; the `BX1` version is there so that a later key
can be told apart.

The alphabet (digits, capitals, `-`) is QR's alphanumeric mode, which makes a small, easily
scanned symbol, and is safe to read aloud or type; checking ignores case and surrounding space.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from boxoffice.config import Settings

VERSION = "BX1"
_MAC_BYTES = 20
_SHAPE = re.compile(r"BX1-([1-9][0-9]{0,18})-([A-Z2-7]{32})")
_MAX_ID = 2**63 - 1


def ticket_code(settings: Settings, reservation_id: int) -> str:
    return f"{VERSION}-{reservation_id}-{_mac(settings, reservation_id)}"


def reservation_id_of(settings: Settings, code: str) -> int | None:
    """The reservation a genuine code names; None for anything forged, altered or malformed."""
    match = _SHAPE.fullmatch(code.strip().upper())
    if match is None:
        return None
    reservation_id = int(match.group(1))
    if reservation_id > _MAX_ID:
        return None
    if not hmac.compare_digest(match.group(2), _mac(settings, reservation_id)):
        return None
    return reservation_id


def _mac(settings: Settings, reservation_id: int) -> str:
    message = f"ticket:{reservation_id}".encode()
    digest = hmac.new(_key(settings), message, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.b32encode(digest).decode()


def _key(settings: Settings) -> bytes:
    # A key of its own, derived from the JWT secret: tickets and access tokens never share one.
    return hmac.new(settings.jwt_secret.encode(), b"boxoffice ticket v1", hashlib.sha256).digest()
