"""Every change of a seat's status is written to `seat_change` by a trigger, for the live seat
maps: no code path can forget it, and its increasing id orders the changes and lets a
reconnecting client resume where it left off.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

POSTGRESQL = [
    """
    CREATE FUNCTION seat_status_logged() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO seat_change (schedule_id, seat_id, status, created_at)
        VALUES (NEW.schedule_id, NEW.id, NEW.status, clock_timestamp());
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER seat_status_logged AFTER UPDATE OF status ON seat
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION seat_status_logged()
    """,
]

SQLITE = [
    """
    CREATE TRIGGER seat_status_logged AFTER UPDATE OF status ON seat
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status
    BEGIN
        INSERT INTO seat_change (schedule_id, seat_id, status, created_at)
        VALUES (NEW.schedule_id, NEW.id, NEW.status, strftime('%Y-%m-%d %H:%M:%f', 'now'));
    END
    """,
]


def upgrade() -> None:
    op.create_table(
        "seat_change",
        # AUTOINCREMENT on SQLite: an id is never handed out twice, even after pruning.
        sa.Column("id", ID, primary_key=True),
        sa.Column("schedule_id", ID, nullable=False),
        sa.Column("seat_id", ID, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_seat_change_schedule_id_id", "seat_change", ["schedule_id", "id"])
    op.create_index("ix_seat_change_created_at", "seat_change", ["created_at"])
    for statement in POSTGRESQL if _postgres() else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER seat_status_logged ON seat")
        op.execute("DROP FUNCTION seat_status_logged()")
    else:
        op.execute("DROP TRIGGER seat_status_logged")
    op.drop_table("seat_change")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
