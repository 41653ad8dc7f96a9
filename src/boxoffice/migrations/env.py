"""Alembic environment: runs the migrations over the async engine that the service uses."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from boxoffice.booking import procedures
from boxoffice.db import async_url
from boxoffice.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "postgresql":
            # In the same transaction: a database at head always has this version's functions.
            procedures.install(connection)


async def _run_online() -> None:
    engine = create_async_engine(async_url(context.config.get_main_option("sqlalchemy.url") or ""))
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


asyncio.run(_run_online())
