"""The ticket's QR code, drawn as SVG by segno."""

from __future__ import annotations

import io
from functools import lru_cache

import segno


@lru_cache(maxsize=4096)
def qr_svg(code: str) -> str:
    """A standalone SVG of `code` (error correction M: readable with a scratched or dim
    screen). Cached: a fan reopens the same ticket, and drawing is pure Python."""
    symbol = segno.make_qr(code, error="m")
    out = io.BytesIO()
    symbol.save(out, kind="svg", scale=4, border=4, xmldecl=False, title="Ticket QR code")
    return out.getvalue().decode()
