"""On SQLite, money columns are BIGINT, as `tables.py` declares them.

0001 created them as NUMERIC(15, 0) on both databases, while the schema in code stores whole won
in an INTEGER column on SQLite (it has no DECIMAL). SQLite cannot change a column's type in
place, so each table is rebuilt (Alembic's batch mode); the partial indexes and the seat
trigger that a rebuild drops are put back as they were. PostgreSQL is unchanged.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY_COLUMNS = [
    ("users", "balance"),
    ("point_history", "amount"),
    ("seat", "price"),
    ("reservation", "amount"),
    ("payment", "amount"),
]


def upgrade() -> None:
    _retype(sa.Numeric(15, 0), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Numeric(15, 0))


def _retype(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    tables = [table for table, _ in MONEY_COLUMNS]
    # What a rebuild loses: the indexes (partial ones included) and triggers of these tables,
    # kept here as written and put back afterwards.
    kept = bind.exec_driver_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
        f"AND sql IS NOT NULL AND tbl_name IN ({', '.join('?' * len(tables))})",
        tuple(tables),
    ).all()
    for kind, name, _ in kept:
        op.execute(f'DROP {kind.upper()} "{name}"')
    for table, column in MONEY_COLUMNS:
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column(column, type_=new, existing_type=old, existing_nullable=False)
    for _, _, sql in kept:
        op.execute(sql)
