"""Closed and cancelled schedules, and one successful payment per reservation.

- `concert_schedule.cancelled_at`: when the operator cancelled the schedule (NULL while not).
- `uq_payment_success_reservation`: the database refuses a second SUCCESS payment of one
  reservation, as `uq_reservation_live_seat` refuses a second live hold of one seat. It fails to
  build on a database that already holds such a pair (`boxoffice audit` names them).
- `ix_reservation_live_schedule`: a schedule's live reservations, which a cancelled schedule
  ends and refunds in batches.

It comes after 0012 (user blocking), which landed first: one chain.

Revision ID: 0010
Revises: 0012
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUCCESSFUL = "status = 'SUCCESS'"
LIVE = "status IN ('TEMPORARY', 'CONFIRMED')"


def upgrade() -> None:
    with op.batch_alter_table("concert_schedule") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "uq_payment_success_reservation",
        "payment",
        ["reservation_id"],
        unique=True,
        sqlite_where=sa.text(SUCCESSFUL),
        postgresql_where=sa.text(SUCCESSFUL),
    )
    op.create_index(
        "ix_reservation_live_schedule",
        "reservation",
        ["schedule_id", "id"],
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index("ix_reservation_live_schedule", table_name="reservation")
    op.drop_index("uq_payment_success_reservation", table_name="payment")
    with op.batch_alter_table("concert_schedule") as batch:
        batch.drop_column("cancelled_at")
