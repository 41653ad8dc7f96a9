"""Applying the Alembic migrations from code (the CLI, `serve` on SQLite, the tests)."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url

from boxoffice.db import Database, async_url


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option(
        "sqlalchemy.url", async_url(database_url).render_as_string(False).replace("%", "%%")
    )
    return config


def upgrade(database_url: str) -> None:
    """Bring the database to the newest revision. Safe to call from inside an event loop: the
    migration environment runs its own loop, so it runs on a thread of its own."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            command.upgrade(alembic_config(database_url), "head")
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=run, name="alembic-upgrade")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def head() -> str:
    """The newest revision this version of the service knows."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


def revisions_between(older: str | None, newer: str) -> list[str]:
    """The revisions after `older` up to `newer`, oldest first, as "0004 (first line of doc)"."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    steps = list(script.iterate_revisions(newer, older or "base"))
    return [f"{step.revision} ({(step.doc or '').splitlines()[0]})" for step in reversed(steps)]


async def current_revision(db: Database) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    async with db.reading() as conn:

        def read(sync: Connection) -> str | None:
            return MigrationContext.configure(sync).get_current_revision()

        return await conn.run_sync(read)


def describe(database_url: str) -> str:
    """The database's URL with any password hidden, for messages."""
    return make_url(database_url).render_as_string(hide_password=True)
