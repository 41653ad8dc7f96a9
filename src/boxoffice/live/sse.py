"""Server-sent events, encoded once and written as they are to every stream that shares them."""

from __future__ import annotations

import json
from typing import Any

# Sent first on every stream: a browser that loses the connection tries again after 1 s.
RETRY = b"retry: 1000\n\n"


def to_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def event(name: str, data: Any, event_id: int | None = None) -> bytes:
    """One event whose `data` is one line of JSON."""
    head = f"event: {name}\n" if event_id is None else f"event: {name}\nid: {event_id}\n"
    return f"{head}data: {to_json(data)}\n\n".encode()
