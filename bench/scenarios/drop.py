"""The ticket drop (being written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.sizes import Sizes


async def run(sizes: Sizes, workers: int, out_dir: Path, profile: bool) -> dict[str, Any]:
    raise NotImplementedError
