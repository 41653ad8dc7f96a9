"""Baseline: GET /concerts/{id}, one row by primary key, on the service and on the reference."""

from __future__ import annotations

from bench.wrk import Request

ENDPOINT = "GET /concerts/{id}"


def requests(concert_id: int, prefix: str = "/api/v1") -> list[Request]:
    return [Request("GET", f"{prefix}/concerts/{concert_id}")]
