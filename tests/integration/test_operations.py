"""Operations endpoints: liveness, readiness, metrics, and the structured access log."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from boxoffice.observability import JsonFormatter
from tests import api, conftest

UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:9/nowhere"
UNREACHABLE_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture
async def ops_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client at the root, where the operations endpoints live (outside /api/v1)."""
    settings = conftest.test_settings(database_url)
    async with api.app_client(settings, base_url="http://testserver") as client:
        yield client


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric, keyed by their sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def scrape(client: httpx.AsyncClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text, name)


def labels(**values: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


async def test_healthz(ops_client: httpx.AsyncClient) -> None:
    response = await ops_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_with_the_database(ops_client: httpx.AsyncClient) -> None:
    response = await ops_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


async def test_readyz_without_the_database_is_a_503_problem() -> None:
    settings = conftest.test_settings(UNREACHABLE_DATABASE)
    async with api.app_client(settings, base_url="http://testserver") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "SERVICE_UNAVAILABLE" and body["status"] == 503
        assert body["checks"] == {"database": "unreachable"}
        # Liveness does not depend on the database.
        assert (await client.get("/healthz")).status_code == 200


async def test_readyz_without_redis_is_a_503_problem(sqlite_url: str) -> None:
    settings = conftest.test_settings(sqlite_url, redis_url=UNREACHABLE_REDIS)
    async with api.app_client(settings, base_url="http://testserver") as client:
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["checks"] == {"database": "ok", "redis": "unreachable"}


async def test_a_redis_that_never_answers_is_a_503_not_a_hang(sqlite_url: str) -> None:
    async def accept_and_stay_silent(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read()

    silent = await asyncio.start_server(accept_and_stay_silent, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        settings = conftest.test_settings(sqlite_url, redis_url=f"redis://127.0.0.1:{port}/0")
        async with api.app_client(settings, base_url="http://testserver") as client:
            response = await asyncio.wait_for(client.get("/readyz"), timeout=30)
            assert response.status_code == 503
            assert response.json()["checks"] == {"database": "ok", "redis": "unreachable"}
    finally:
        silent.close()


async def test_readyz_with_redis(sqlite_url: str, redis_url: str) -> None:
    settings = conftest.test_settings(sqlite_url, redis_url=redis_url)
    async with api.app_client(settings, base_url="http://testserver") as client:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_metrics_count_requests_per_route_template(
    ops_client: httpx.AsyncClient,
) -> None:
    created = await ops_client.post(
        "/api/v1/admin/concerts",
        json={"title": "Metrics", "duration_minutes": 60},
        headers=api.ADMIN,
    )
    concert = created.json()
    route = "/api/v1/concerts/{concert_id}"
    before = await scrape(ops_client, "boxoffice_http_requests_total")
    # Several ids, one route: the label is the template, never the raw path.
    for concert_id in (concert["id"], concert["id"], 999_999):
        await ops_client.get(f"/api/v1/concerts/{concert_id}")
    await ops_client.get("/api/v1/no/such/thing/42")
    after = await scrape(ops_client, "boxoffice_http_requests_total")

    def grew(key: tuple[tuple[str, str], ...]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert grew(labels(method="GET", route=route, status="200")) == 2
    assert grew(labels(method="GET", route=route, status="404")) == 1
    assert grew(labels(method="GET", route="unmatched", status="404")) == 1
    assert grew(labels(method="POST", route="/api/v1/admin/concerts", status="201")) == 0
    assert not any("999999" in value or "/42" in value for key in after for _, value in key)


async def test_metrics_have_latency_histograms_per_route(
    ops_client: httpx.AsyncClient,
) -> None:
    route = "/api/v1/concerts"
    before = await scrape(ops_client, "boxoffice_http_request_duration_seconds_count")
    for _ in range(3):
        await ops_client.get(route)
    after = await scrape(ops_client, "boxoffice_http_request_duration_seconds_count")
    key = labels(method="GET", route=route)
    assert after[key] - before.get(key, 0) == 3
    buckets = await scrape(ops_client, "boxoffice_http_request_duration_seconds_bucket")
    ours = {
        dict(k)["le"]: v
        for k, v in buckets.items()
        if dict(k)["route"] == route and dict(k)["method"] == "GET"
    }
    assert "+Inf" in ours and ours["+Inf"] == after[key]
    # Cumulative buckets never shrink as the bound grows.
    ordered = [ours[le] for le in sorted(ours, key=float)]
    assert ordered == sorted(ordered)


async def test_every_request_is_logged_as_structured_fields(
    ops_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="boxoffice.access")
    await ops_client.get("/api/v1/concerts/31337")
    records = [r for r in caplog.records if r.name == "boxoffice.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["level"] == "INFO" and line["logger"] == "boxoffice.access"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/concerts/31337"
    assert line["route"] == "/api/v1/concerts/{concert_id}"
    assert line["status"] == 404
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert line["time"]


def test_the_json_formatter_keeps_exceptions_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "boxoffice", logging.ERROR, __file__, 1, "failed %s", ("here",), exc_info
    )
    text = JsonFormatter().format(record)
    assert "\n" not in text
    entry = json.loads(text)
    assert entry["message"] == "failed here"
    assert "ValueError: boom" in entry["exception"]


async def test_a_503_is_recorded_as_a_503(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="boxoffice.access")
    settings = conftest.test_settings(UNREACHABLE_DATABASE)
    async with api.app_client(settings, base_url="http://testserver") as client:
        assert (await client.get("/api/v1/concerts")).status_code == 503
    logged = [getattr(r, "fields", {}) for r in caplog.records if r.name == "boxoffice.access"]
    assert [entry["status"] for entry in logged] == [503]
