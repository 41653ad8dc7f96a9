"""The waiting rooms in /metrics: line length and admission rate per concert, for the busiest
lines only, the same whichever worker answers. With the line in the database (SQLite,
PostgreSQL) and in Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from boxoffice.db import Database
from boxoffice.line_metrics import LINES_SHOWN
from tests import api, booking, conftest, rooms
from tests.integration.test_sales_metrics import dashboard_expressions, two_worker_server

# (metric name without its prefix, concert id) -> value
Lines = dict[tuple[str, int], float]
LINE_FAMILIES = {
    "boxoffice_queue_waiting",
    "boxoffice_queue_active",
    "boxoffice_queue_admitted_per_minute",
    "boxoffice_queue_oldest_wait_seconds",
}

# The three deployments of the waiting room (see tests/rooms.py).
room_and_backend = rooms.room_and_backend
room = rooms.room
backend = rooms.backend
room_settings = rooms.room_settings


@pytest.fixture
async def shop(
    database_url: str, room_settings: dict[str, Any]
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The API and the operations root of one app that admits two people per line."""
    settings = conftest.test_settings(database_url, queue_max_active=2, **room_settings)
    async with (
        api.app_client(settings) as client,
        api.app_client(settings, base_url="http://testserver") as root,
    ):
        yield client, root


def line_figures(text: str) -> Lines:
    found: Lines = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("boxoffice_queue_"):
                name = sample.name.removeprefix("boxoffice_queue_")
                found[(name, int(sample.labels["concert_id"]))] = sample.value
    return found


async def scrape(root: httpx.AsyncClient) -> Lines:
    response = await root.get("/metrics")
    assert response.status_code == 200, response.text
    return line_figures(response.text)


async def join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> str:
    """Join the line; the queue token."""
    joined = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert joined.status_code == 201, joined.text
    token: str = joined.json()["token"]
    return token


async def test_each_line_shows_its_length_and_admission_rate(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient], db: Database
) -> None:
    client, root = shop
    busy, quiet, empty = [await api.create_concert(client, title) for title in "ABC"]
    fans = await booking.create_users(db, 7)
    tokens = [await join(client, fan, busy["id"]) for fan in fans[:6]]
    await join(client, fans[6], quiet["id"])
    # One admitted fan leaves: the first in line is admitted in their place.
    left = await client.delete(
        "/queue/status", headers={**fans[0]["headers"], "X-Queue-Token": tokens[0]}
    )
    assert left.status_code == 204, left.text

    figures = await scrape(root)

    assert {key: figures[key] for key in figures if key[0] in ("waiting", "active")} == {
        ("waiting", busy["id"]): 3,
        ("active", busy["id"]): 2,
        ("waiting", quiet["id"]): 0,
        ("active", quiet["id"]): 1,
    }
    # The rate counts admissions from the line (a fan let straight in never waited in it).
    assert figures[("admitted_per_minute", busy["id"])] > 0
    assert figures[("admitted_per_minute", quiet["id"])] == 0
    # Only a line with someone waiting has an oldest wait; a line nobody joined has no series.
    assert figures[("oldest_wait_seconds", busy["id"])] >= 0
    assert ("oldest_wait_seconds", quiet["id"]) not in figures
    assert not any(concert_id == empty["id"] for _, concert_id in figures)
    line = await client.get(f"/admin/concerts/{busy['id']}/queue", headers=api.ADMIN)
    assert (line.json()["waiting"], line.json()["active"]) == (3, 2)


async def test_only_the_busiest_lines_have_series(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient], db: Database
) -> None:
    client, root = shop
    concerts = [await api.create_concert(client, f"Show {n}") for n in range(LINES_SHOWN + 2)]
    fans = await booking.create_users(db, len(concerts) + 1)
    for fan, concert in zip(fans, concerts, strict=False):
        await join(client, fan, concert["id"])
    # The last concert's line is the busiest: two people in it.
    busiest = concerts[-1]["id"]
    await join(client, fans[-1], busiest)

    shown = {concert_id for name, concert_id in await scrape(root) if name == "active"}

    # The busiest line, then the others by concert id.
    assert shown == {busiest, *(concert["id"] for concert in concerts[: LINES_SHOWN - 1])}


async def test_every_line_family_is_declared_before_the_first_join(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    """So that a dashboard finds them before any line exists."""
    _, root = shop
    assert declared_families((await root.get("/metrics")).text) >= LINE_FAMILIES


async def test_a_scrape_answers_when_the_waiting_room_cannot_be_read(sqlite_url: str) -> None:
    """Nothing listens on port 1: the line gauges are empty, everything else is there."""
    settings = conftest.test_settings(sqlite_url, redis_url="redis://127.0.0.1:1/0")
    async with api.app_client(settings, base_url="http://testserver") as root:
        response = await root.get("/metrics")
    assert response.status_code == 200
    assert line_figures(response.text) == {}
    declared = declared_families(response.text)
    assert declared >= LINE_FAMILIES and "boxoffice_sales" in declared


def declared_families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


async def test_every_worker_shows_the_same_line_not_a_sum(tmp_path: Path) -> None:
    fresh = httpx.Limits(max_keepalive_connections=0)
    with two_worker_server(tmp_path) as base:
        async with (
            httpx.AsyncClient(base_url=f"{base}/api/v1", limits=fresh, timeout=30) as client,
            httpx.AsyncClient(base_url=base, limits=fresh, timeout=30) as root,
        ):
            concert = await api.create_concert(client)
            for _ in range(3):
                await join(client, await api.sign_up(client), concert["id"])
            # Several scrapes, so that both workers answer some of them.
            for _ in range(6):
                figures = await scrape(root)
                assert figures[("active", concert["id"])] == 3, figures
                assert figures[("waiting", concert["id"])] == 0, figures


def test_the_dashboard_takes_one_instances_line_figures_never_their_sum() -> None:
    """Every instance reports the same shared lines: adding them up over instances would
    count every person once per instance."""
    reading_lines = [expr for expr in dashboard_expressions() if "boxoffice_queue_" in expr]
    assert len(reading_lines) == len(LINE_FAMILIES)
    for expr in reading_lines:
        assert expr.startswith("max by (concert_id) ("), expr
