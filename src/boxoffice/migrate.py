"""Applying the Alembic migrations from code (the CLI, `serve` on SQLite, the tests)."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config

from boxoffice.db import async_url


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
