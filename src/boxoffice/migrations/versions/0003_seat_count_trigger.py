"""The free-seat counter follows seat status in the database itself.

Every change of a seat's status appends its +1/-1 to `seat_count_delta` from a trigger, so no
code path can forget it and a hold spends no round trip on it. The sweeper folds the rows into
`concert_schedule.available_seats` as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELTA = "CASE WHEN NEW.status = 'AVAILABLE' THEN 1 ELSE -1 END"

POSTGRESQL = [
    f"""
    CREATE FUNCTION seat_status_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO seat_count_delta (schedule_id, delta) VALUES (NEW.schedule_id, {DELTA});
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER seat_status_counted AFTER UPDATE OF status ON seat
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION seat_status_counted()
    """,
]

SQLITE = [
    f"""
    CREATE TRIGGER seat_status_counted AFTER UPDATE OF status ON seat
    FOR EACH ROW WHEN OLD.status IS NOT NEW.status
    BEGIN
        INSERT INTO seat_count_delta (schedule_id, delta) VALUES (NEW.schedule_id, {DELTA});
    END
    """,
]


def upgrade() -> None:
    for statement in POSTGRESQL if _postgres() else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER seat_status_counted ON seat")
        op.execute("DROP FUNCTION seat_status_counted()")
    else:
        op.execute("DROP TRIGGER seat_status_counted")


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
