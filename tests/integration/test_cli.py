"""The `boxoffice` command, run as a real subprocess: db upgrade, serve --demo, audit."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from boxoffice.config import DEV_ADMIN_KEY, Settings
from boxoffice.db import Database, async_url
from boxoffice.tables import metadata, users
from tests import api, backends
from tests.conftest import ADMIN_KEY, JWT_SECRET, ClientFactory
from tests.servers import _free_port, _wait_until_ready


def cli_env(**settings: str) -> dict[str, str]:
    """The environment without any BOXOFFICE_* setting of the caller's, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    env.update({f"BOXOFFICE_{key.upper()}": value for key, value in settings.items()})
    return env


def run_cli(
    *args: str, cwd: Path | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "boxoffice", *args],
        env=cli_env(**settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def table_names(sync_url: str) -> set[str]:
    engine = create_engine(sync_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def head_revision(sync_url: str) -> str:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            revision: str = conn.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar_one()
            return revision
    finally:
        engine.dispose()


EXPECTED_TABLES = {table.name for table in metadata.sorted_tables} | {"alembic_version"}


def test_db_upgrade_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    url = f"sqlite:///{path}"
    result = run_cli("db", "upgrade", database_url=url)
    assert result.returncode == 0, result.stderr
    assert path.exists()
    assert table_names(url) >= EXPECTED_TABLES
    revision = head_revision(url)
    # Upgrading an up-to-date database changes nothing and succeeds.
    again = run_cli("db", "upgrade", database_url=url)
    assert again.returncode == 0, again.stderr
    assert head_revision(url) == revision


@pytest.fixture
def scratch_postgres(postgres_url: str) -> Iterator[str]:
    """A database of its own on the test server, created empty and dropped afterwards."""
    parsed = make_url(postgres_url)
    url = parsed.set(database=f"{parsed.database}_cli").render_as_string(False)
    asyncio.run(backends.recreate_postgres_database(url))
    yield url
    asyncio.run(_drop(url))


async def _drop(url: str) -> None:
    target = async_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def test_db_upgrade_on_postgres(scratch_postgres: str) -> None:
    result = run_cli("db", "upgrade", database_url=scratch_postgres)
    assert result.returncode == 0, result.stderr
    tables = asyncio.run(_postgres_tables(scratch_postgres))
    assert tables >= EXPECTED_TABLES
    again = run_cli("db", "upgrade", database_url=scratch_postgres)
    assert again.returncode == 0, again.stderr


async def _postgres_tables(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.reading() as conn:
            rows = await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
            return {row[0] for row in rows}
    finally:
        await db.dispose()


def test_serve_demo_on_an_empty_directory(tmp_path: Path) -> None:
    # No BOXOFFICE_DATABASE_URL: the default SQLite file in the working directory is created.
    port = _free_port()
    said = tmp_path / "stderr.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--demo", "--port", str(port)],
        env=cli_env(admin_key=ADMIN_KEY, jwt_secret=JWT_SECRET, log_level="WARNING"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=said.open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base, process)
        concerts = httpx.get(f"{base}/api/v1/concerts").json()["items"]
        assert len(concerts) == 1
        concert = concerts[0]
        assert concert["title"] and concert["duration_minutes"] > 0
        schedules = httpx.get(f"{base}/api/v1/concerts/{concert['id']}/schedules").json()["items"]
        assert len(schedules) == 2
        now = datetime.now(UTC)
        for schedule in schedules:
            assert datetime.fromisoformat(schedule["start_time"]) > now
            assert schedule["total_seats"] == schedule["available_seats"] == 50
        available = httpx.get(
            f"{base}/api/v1/concerts/{concert['id']}/schedules", params={"available": "true"}
        ).json()["items"]
        assert available == schedules
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert (tmp_path / "boxoffice.db").exists()
    # It says where the data lives and how to start over: the data outlives the server.
    printed = said.read_text()
    assert "loaded the demo concert" in printed
    assert f"demo data: {(tmp_path / 'boxoffice.db').resolve()} (kept across restarts)" in printed
    assert "to start over: stop the server, then run `boxoffice db reset`" in printed
    seats = _demo_seats(tmp_path / "boxoffice.db")
    assert set(seats) == {schedule["id"] for schedule in schedules}
    for numbers_and_prices in seats.values():
        assert sorted(number for number, _ in numbers_and_prices) == sorted(
            str(n) for n in range(1, 51)
        )
        assert all(price > 0 for _, price in numbers_and_prices)


def _demo_seats(path: Path) -> dict[int, list[tuple[str, int]]]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT schedule_id, seat_number, price FROM seat")).all()
    finally:
        engine.dispose()
    seats: dict[int, list[tuple[str, int]]] = {}
    for schedule_id, number, price in rows:
        seats.setdefault(schedule_id, []).append((number, int(price)))
    return seats


def test_serve_demo_loads_nothing_into_a_database_that_has_concerts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    assert run_cli("db", "upgrade", database_url=url).returncode == 0
    engine = create_engine(url)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO concert (title, duration, created_at, updated_at) "
                "VALUES ('Already here', '01:30:00', :now, :now)"
            ),
            {"now": now},
        )
    engine.dispose()
    port = _free_port()
    said = tmp_path / "stderr.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--demo", "--port", str(port)],
        env=cli_env(database_url=url, admin_key=ADMIN_KEY, log_level="WARNING"),
        stdout=subprocess.DEVNULL,
        stderr=said.open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base, process)
        titles = [c["title"] for c in httpx.get(f"{base}/api/v1/concerts").json()["items"]]
        assert titles == ["Already here"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    printed = said.read_text()
    assert "the demo concert is not loaded again" in printed
    assert f"demo data: {(tmp_path / 'kept.db').resolve()} (kept across restarts)" in printed
    assert "run `boxoffice db reset --yes`" in printed


async def test_audit_passes_on_consistent_data_and_fails_on_a_corrupted_balance(
    make_client: ClientFactory, database_url: str, db: Database
) -> None:
    client = await make_client()
    user = await api.sign_up(client)
    await api.charge(client, user, 40_000)
    await api.charge(client, user, 2_500)
    concert = await api.create_concert(client)
    await api.create_schedule(client, concert["id"], seat_count=20)

    clean = await asyncio.to_thread(run_cli, "audit", database_url=database_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "FAIL" not in clean.stdout
    assert clean.stdout.count("ok  ") >= 5

    async with db.transaction() as conn:
        await conn.execute(
            users.update().where(users.c.id == user["id"]).values(balance=users.c.balance + 1)
        )
    broken = await asyncio.to_thread(run_cli, "audit", database_url=database_url)
    assert broken.returncode != 0
    failed = [line for line in broken.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and "balance" in failed[0], broken.stdout
    assert str(user["id"]) in broken.stdout


def test_serve_with_workers_adds_up_every_workers_metrics(tmp_path: Path) -> None:
    port = _free_port()
    env = cli_env(
        database_url=f"sqlite:///{tmp_path / 'workers.db'}",
        admin_key=ADMIN_KEY,
        jwt_secret=JWT_SECRET,
        log_level="WARNING",
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    requests = 40
    try:
        _wait_until_ready(base, process)
        # A fresh connection per request, so that both workers get some of them.
        for _ in range(requests):
            assert httpx.get(f"{base}/api/v1/concerts").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert [p.name.startswith("boxoffice-metrics-") for p in scratch.iterdir()] == [True]
    finally:
        process.terminate()
        process.wait(timeout=30)
    # The workers' metric files went with the server.
    assert list(scratch.iterdir()) == []
    counted = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("boxoffice_http_requests_total{")
        and 'route="/api/v1/concerts"' in line
        and 'status="200"' in line
    ]
    assert sum(counted) == requests, metrics


@pytest.mark.parametrize("command", [["serve"], ["db", "upgrade"], ["audit"]])
def test_development_secrets_in_production_are_refused_plainly(
    tmp_path: Path, command: list[str]
) -> None:
    result = run_cli(*command, cwd=tmp_path, env="production", admin_key="a-real-admin-key")
    assert result.returncode == 2
    assert "BOXOFFICE_JWT_SECRET must be set when BOXOFFICE_ENV=production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "boxoffice.db").exists()


def test_bad_settings_are_named(tmp_path: Path) -> None:
    result = run_cli("audit", cwd=tmp_path, max_charge="lots", hold_limit="0")
    assert result.returncode == 2
    assert "BOXOFFICE_MAX_CHARGE" in result.stderr and "BOXOFFICE_HOLD_LIMIT" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_prints_the_development_admin_key(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--port", str(port)],
        env=cli_env(log_level="WARNING"),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", process)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert f"admin key (development): {DEV_ADMIN_KEY}" in stderr.decode()


def test_help_lists_every_environment_variable() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "boxoffice", "--help"],
        env={**cli_env(), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    for name in Settings.model_fields:
        assert f"BOXOFFICE_{name.upper()}" in shown.stdout, name
    assert "BOXOFFICE_DATABASE_URL (default: 'sqlite:///boxoffice.db')" in shown.stdout


def test_openapi_prints_the_served_document_and_writes_it(tmp_path: Path) -> None:
    printed = run_cli("openapi")
    assert printed.returncode == 0, printed.stderr
    document = json.loads(printed.stdout)
    assert document["openapi"].startswith("3.1") and "/api/v1/reservations" in document["paths"]
    target = tmp_path / "openapi.json"
    written = run_cli("openapi", "--output", str(target))
    assert written.returncode == 0, written.stderr
    assert target.read_text(encoding="utf-8") == printed.stdout
