"""What the operator's database commands need: is a database there and migrated, which
revisions an upgrade applied, and starting the embedded database over."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from boxoffice.config import DEFAULT_DATABASE_URL
from boxoffice.db import Database
from boxoffice.migrate import current_revision, describe, head, revisions_between, upgrade

UNREACHABLE = (OperationalError, InterfaceError, DBAPIError, OSError)


class DatabaseNotReady(Exception):
    """A one-line account of why a command cannot work on this database."""


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite database; None for an in-memory one or another database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


async def check_migrated(database_url: str) -> None:
    """Raise DatabaseNotReady, naming the database, unless it exists, answers, and is at the
    newest revision."""
    where = describe(database_url)
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        raise DatabaseNotReady(f"there is no database at {where} (no file {path})")
    db = Database(database_url)
    try:
        revision = await current_revision(db)
    except UNREACHABLE as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise DatabaseNotReady(f"cannot read the database {where}: {first_line}") from error
    finally:
        await db.dispose()
    if revision != head():
        state = f"at revision {revision}" if revision else "never migrated"
        raise DatabaseNotReady(
            f"the database {where} is {state}; this version needs revision {head()}: "
            "run `boxoffice db upgrade`"
        )


async def upgrade_reporting(database_url: str) -> list[str]:
    """Migrate to the newest revision; returns the revisions applied (empty if none)."""
    db = Database(database_url)
    try:
        before = await current_revision(db)
    finally:
        await db.dispose()
    if before == head():
        return []
    upgrade(database_url)
    return revisions_between(before, head())


def is_embedded(database_url: str) -> bool:
    return database_url == DEFAULT_DATABASE_URL


async def reset(database_url: str) -> None:
    """Throw every table and row away and migrate afresh. For SQLite the file (and its
    write-ahead log) is removed; for PostgreSQL the `public` schema is dropped and recreated."""
    path = sqlite_path(database_url)
    if path is not None:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    elif make_url(database_url).get_backend_name() != "sqlite":
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        finally:
            await db.dispose()
    upgrade(database_url)
