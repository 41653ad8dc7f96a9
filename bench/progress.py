"""One-line progress notes on stderr, stamped with the seconds since the run began."""

from __future__ import annotations

import sys
import time

_START = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _START:7.1f}s] {message}", file=sys.stderr, flush=True)
