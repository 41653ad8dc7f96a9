"""The migrations and `tables.py` are two definitions of one schema: a fresh database upgraded
with the migrations must match `tables.py` exactly, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from boxoffice.db import Database
from boxoffice.tables import metadata


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "target_metadata": metadata},
    )
    return list(compare_metadata(context, metadata))


async def test_the_migrations_build_exactly_the_schema_of_tables_py(db: Database) -> None:
    async with db.reading() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []
