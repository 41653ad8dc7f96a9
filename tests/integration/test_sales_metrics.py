"""Business metrics in /metrics: holds, sales, refunds, expiries and check-ins, counted once
each, after commit, and summed over a server's workers."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from boxoffice.booking import expiry
from boxoffice.db import Database
from tests import api, conftest
from tests.booking import OPEN_DOORS, admitted, held, hold, paid, pay, seat_ids
from tests.integration.test_cli import cli_env
from tests.servers import _free_port, _wait_until_ready

Figures = dict[str, float]
DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "boxoffice.json"


def figures(text: str) -> Figures:
    """Every sample of the business counters, keyed `name` or `name{label=value}`."""
    found: Figures = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def change(before: Figures, after: Figures) -> Figures:
    """What moved between two scrapes, among the business counters."""
    business = (
        "boxoffice_holds",
        "boxoffice_hold_exp",
        "boxoffice_sales",
        "boxoffice_refunds",
        "boxoffice_checkins",
    )
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if key.startswith(business) and after[key] != before.get(key, 0.0)
    }


@asynccontextmanager
async def open_shop(
    database_url: str, **overrides: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The API and the operations root of one app, whose sweeper stays out of the way."""
    settings = conftest.test_settings(
        database_url, sweep_interval_seconds=3600, **OPEN_DOORS, **overrides
    )
    async with (
        api.app_client(settings) as client,
        api.app_client(settings, base_url="http://testserver") as root,
    ):
        yield client, root


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with open_shop(database_url) as opened:
        yield opened


async def scrape(root: httpx.AsyncClient) -> Figures:
    response = await root.get("/metrics")
    assert response.status_code == 200
    return figures(response.text)


async def test_every_series_exists_at_zero_before_anything_happens(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, root = shop
    found = await scrape(root)
    for name in (
        "boxoffice_holds_total",
        "boxoffice_hold_expiries_total",
        "boxoffice_sales_total",
        "boxoffice_sales_won_total",
        "boxoffice_refunds_total{reason=customer}",
        "boxoffice_refunds_total{reason=show_cancelled}",
        "boxoffice_refunds_won_total{reason=customer}",
        "boxoffice_checkins_total{result=admitted}",
        "boxoffice_checkins_total{result=already_used}",
        "boxoffice_checkins_total{result=not_found}",
    ):
        assert name in found, name


async def test_a_hold_a_sale_and_a_refund_are_each_counted_once(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    client, root = shop
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2, price=30_000)
    fan = await api.sign_up(client)
    await api.charge(client, fan, 100_000)
    headers = await admitted(client, fan, concert["id"])
    seats = [seat["id"] for seat in (await _seats(client, headers, schedule["id"]))]

    before = await scrape(root)
    reservation = await held(client, headers, seats[0])
    assert change(before, await scrape(root)) == {"boxoffice_holds_total": 1}

    before = await scrape(root)
    await paid(client, headers, reservation["id"])
    assert change(before, await scrape(root)) == {
        "boxoffice_sales_total": 1,
        "boxoffice_sales_won_total": 30_000,
    }

    before = await scrape(root)
    cancelled = await client.post(f"/reservations/{reservation['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200, cancelled.text
    assert change(before, await scrape(root)) == {
        "boxoffice_refunds_total{reason=customer}": 1,
        "boxoffice_refunds_won_total{reason=customer}": 30_000,
    }


async def test_refused_attempts_count_nothing(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    """A hold on a taken seat and a payment short of balance roll back: no hold, no sale."""
    client, root = shop
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=1, price=50_000)
    rich, poor = await api.sign_up(client), await api.sign_up(client)
    await api.charge(client, rich, 100_000)
    rich_headers = await admitted(client, rich, concert["id"])
    poor_headers = await admitted(client, poor, concert["id"])
    [seat] = [s["id"] for s in await _seats(client, rich_headers, schedule["id"])]
    reservation = await held(client, poor_headers, seat)

    before = await scrape(root)
    assert (await hold(client, rich_headers, seat)).status_code == 409
    assert (await pay(client, poor_headers, reservation["id"])).status_code == 409
    assert change(before, await scrape(root)) == {}


async def test_each_check_in_is_counted_by_its_verdict(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    client, root = shop
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2, price=10_000)
    fan = await api.sign_up(client)
    await api.charge(client, fan, 20_000)
    headers = await admitted(client, fan, concert["id"])
    seats = [seat["id"] for seat in await _seats(client, headers, schedule["id"])]
    # Both held first: paying for the last live hold ends the admission.
    bookings = [await held(client, headers, seat) for seat in seats]
    for booking in bookings:
        await paid(client, headers, booking["id"])
    kept, cancelled = [await _ticket_code(client, fan, booking["id"]) for booking in bookings]
    refund = await client.post(f"/reservations/{bookings[1]['id']}/cancel", headers=headers)
    assert refund.status_code == 200, refund.text

    before = await scrape(root)
    for code, expected in (
        (kept, 200),
        (kept, 409),
        (cancelled, 404),
        (kept[:-2] + ("AA" if kept[-2:] != "AA" else "BB"), 404),
    ):
        scanned = await client.post("/admin/checkins", json={"code": code}, headers=api.ADMIN)
        assert scanned.status_code == expected, scanned.text
    assert change(before, await scrape(root)) == {
        "boxoffice_checkins_total{result=admitted}": 1,
        "boxoffice_checkins_total{result=already_used}": 1,
        "boxoffice_checkins_total{result=not_found}": 2,
    }


async def _ticket_code(client: httpx.AsyncClient, fan: dict[str, Any], reservation_id: int) -> str:
    ticket = await client.get(f"/reservations/{reservation_id}/ticket", headers=fan["headers"])
    assert ticket.status_code == 200, ticket.text
    code: str = ticket.json()["code"]
    return code


async def test_expiries_are_counted_by_the_sweep_and_by_a_takeover(database_url: str) -> None:
    async with open_shop(database_url, hold_ttl_seconds=0.5) as (client, root):
        await _expire_two_holds(client, root, database_url)


async def _expire_two_holds(
    client: httpx.AsyncClient, root: httpx.AsyncClient, database_url: str
) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2)
    first, second = await api.sign_up(client), await api.sign_up(client)
    first_headers = await admitted(client, first, concert["id"])
    second_headers = await admitted(client, second, concert["id"])
    db = Database(database_url)
    try:
        seats = await seat_ids(db, schedule["id"])
        await held(client, first_headers, seats[0])
        await held(client, first_headers, seats[1])
        await asyncio.sleep(0.6)  # both holds run out (hold_ttl_seconds=0.5)

        before = await scrape(root)
        # One is taken over by another fan before any sweep ...
        await held(client, second_headers, seats[0])
        # ... and the sweep settles the other; a second sweep finds nothing more.
        assert await expiry.sweep_expired_holds(db) == 1
        assert await expiry.sweep_expired_holds(db) == 0
    finally:
        await db.dispose()
    assert change(before, await scrape(root)) == {
        "boxoffice_holds_total": 1,
        "boxoffice_hold_expiries_total": 2,
    }


async def _seats(
    client: httpx.AsyncClient, headers: dict[str, str], schedule_id: int
) -> list[dict[str, int]]:
    response = await client.get(
        f"/schedules/{schedule_id}/seats", params={"status": "AVAILABLE"}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, int]] = response.json()["items"]
    return items


@contextmanager
def two_worker_server(tmp_path: Path) -> Iterator[str]:
    """`boxoffice serve --workers 2` on a SQLite file of its own; yields its root URL."""
    port = _free_port()
    env = cli_env(
        database_url=f"sqlite:///{tmp_path / 'workers.db'}",
        admin_key=conftest.ADMIN_KEY,
        jwt_secret=conftest.JWT_SECRET,
        log_level="WARNING",
        queue_max_active="1000",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base, process, 120)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_a_sale_shows_within_a_second_summed_over_two_workers(tmp_path: Path) -> None:
    """Each sale is counted by whichever worker served it; every scrape, whichever worker
    answers it, shows them all, within a second of the payment's answer."""
    # No kept connections: every request may meet either worker.
    fresh = httpx.Limits(max_keepalive_connections=0)
    with two_worker_server(tmp_path) as base:
        async with (
            httpx.AsyncClient(base_url=f"{base}/api/v1", limits=fresh, timeout=30) as client,
            httpx.AsyncClient(base_url=base, limits=fresh, timeout=30) as root,
        ):
            concert = await api.create_concert(client)
            schedule = await api.create_schedule(client, concert["id"], seat_count=6, price=7_000)
            start = await scrape(root)
            for sale in range(1, 7):
                fan = await api.sign_up(client)
                await api.charge(client, fan, 7_000)
                headers = await admitted(client, fan, concert["id"])
                seats = await _seats(client, headers, schedule["id"])
                reservation = await held(client, headers, seats[0]["id"])
                answered = await pay(client, headers, reservation["id"])
                assert answered.status_code == 201, answered.text
                deadline = time.monotonic() + 1.0
                # Several scrapes, so that both workers answer some of them.
                for _ in range(4):
                    moved = change(start, await scrape(root))
                    assert moved.get("boxoffice_sales_total") == sale, moved
                    assert moved.get("boxoffice_sales_won_total") == 7_000 * sale, moved
                assert time.monotonic() < deadline


async def test_the_dashboard_reads_only_metrics_the_service_exports(
    shop: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, root = shop
    await root.get("/healthz")  # the request metrics have a series once a request was served
    families = list(text_string_to_metric_families((await root.get("/metrics")).text))
    # A gauge family with no sample yet (no line has anyone in it) is declared all the same.
    exported = {family.name for family in families} | {
        sample.name for family in families for sample in family.samples
    }
    expressions = dashboard_expressions()
    read = {name for expr in expressions for name in re.findall(r"\bboxoffice_\w+", expr)}
    assert read, "the dashboard reads no metric"
    assert read <= exported, read - exported


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
