"""The operator's database commands: `audit` on a database that is missing, unreachable or never
migrated says so in one line; `db upgrade` says what it applied; `db reset` starts over, and only
when it is safe or confirmed; `--help` lists the settings."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.migrate import head, upgrade
from tests import booking
from tests.integration.test_cli import run_cli


async def _drop_everything(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


@pytest.fixture
def blank_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database that exists but was never migrated: a new SQLite file, or this session's
    PostgreSQL database emptied of every table (migrated again afterwards)."""
    if backend == "sqlite":
        path = tmp_path / "blank.db"
        sqlite3.connect(path).close()
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_drop_everything(url))
    try:
        yield url
    finally:
        upgrade(url)


async def _count_users(url: str) -> int:
    db = Database(url)
    try:
        async with db.reading() as conn:
            return int((await conn.execute(text("SELECT COUNT(*) FROM users"))).scalar_one())
    finally:
        await db.dispose()


async def _add_user(url: str) -> None:
    db = Database(url)
    try:
        await booking.create_users(db, 1)
    finally:
        await db.dispose()


def test_audit_of_a_database_never_migrated_says_so_in_one_line(blank_database: str) -> None:
    result = run_cli("audit", database_url=blank_database, log_level="WARNING")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "never migrated" in lines[0] and "boxoffice db upgrade" in lines[0]
    # It names the database it looked at.
    shown = blank_database.split("/")[-1]
    assert shown in lines[0]


def test_upgrade_says_what_it_applied_then_that_it_is_up_to_date(blank_database: str) -> None:
    first = run_cli("db", "upgrade", database_url=blank_database, log_level="WARNING")
    assert first.returncode == 0, first.stderr
    assert "applied 0001 (" in first.stdout and f"{head()} (" in first.stdout
    again = run_cli("db", "upgrade", database_url=blank_database, log_level="WARNING")
    assert again.returncode == 0, again.stderr
    assert f"already at the newest revision, {head()}" in again.stdout
    audited = run_cli("audit", database_url=blank_database, log_level="WARNING")
    assert audited.returncode == 0, audited.stderr
    assert "audit of" in audited.stdout


def test_audit_of_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = run_cli("audit", database_url=f"sqlite:///{missing}", log_level="WARNING")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"boxoffice: there is no database at sqlite:///{missing} (no file {missing})"
    )
    assert not missing.exists()


def test_audit_of_an_unreachable_database_is_one_line() -> None:
    url = "postgresql://postgres:hunter2@127.0.0.1:1/boxoffice"
    result = run_cli("audit", database_url=url, log_level="WARNING")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot read the database postgresql://postgres:***@127.0.0.1:1/boxoffice" in (
        result.stderr
    )
    assert "hunter2" not in result.stderr


def test_reset_of_the_embedded_database_needs_no_confirmation(tmp_path: Path) -> None:
    assert run_cli("db", "upgrade", cwd=tmp_path, log_level="WARNING").returncode == 0
    url = f"sqlite:///{tmp_path / 'boxoffice.db'}"
    asyncio.run(_add_user(url))
    result = run_cli("db", "reset", cwd=tmp_path, log_level="WARNING")
    assert result.returncode == 0, result.stderr
    assert "reset" in result.stdout
    assert asyncio.run(_count_users(url)) == 0


def test_reset_of_another_sqlite_file_needs_yes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    upgrade(url)
    asyncio.run(_add_user(url))
    refused = run_cli("db", "reset", database_url=url, log_level="WARNING")
    assert refused.returncode == 2
    assert "refusing to reset" in refused.stderr and "--yes" in refused.stderr
    assert asyncio.run(_count_users(url)) == 1
    done = run_cli("db", "reset", "--yes", database_url=url, log_level="WARNING")
    assert done.returncode == 0, done.stderr
    assert asyncio.run(_count_users(url)) == 0


def test_reset_of_postgresql_needs_yes_and_force(postgres_url: str) -> None:
    asyncio.run(_add_user(postgres_url))
    try:
        for flags in ([], ["--yes"], ["--force"]):
            refused = run_cli("db", "reset", *flags, database_url=postgres_url)
            assert refused.returncode == 2, flags
            assert "--yes --force" in refused.stderr
            assert asyncio.run(_count_users(postgres_url)) == 1
        done = run_cli("db", "reset", "--yes", "--force", database_url=postgres_url)
        assert done.returncode == 0, done.stderr
        assert asyncio.run(_count_users(postgres_url)) == 0
    finally:
        upgrade(postgres_url)
        asyncio.run(_truncate_users(postgres_url))


async def _truncate_users(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            await conn.execute(text("TRUNCATE users RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


def test_help_lists_every_environment_variable() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in Settings.model_fields:
        assert f"BOXOFFICE_{name.upper()}" in result.stdout
