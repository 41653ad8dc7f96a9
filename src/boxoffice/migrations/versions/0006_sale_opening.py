"""Sale opening and abandoned places in the waiting room.

`concert.sale_opens_at` is when the sale of a concert opens (null: open). A line keeps its own
copy, `queue_line.opens_at`, cleared at the moment the line opens, so that the opening happens
once and stays done. `queue_ticket.seen_at` is when someone last asked about a ticket: a
waiting ticket nobody asks about for the idle time gives up its place.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("concert", sa.Column("sale_opens_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("queue_line", sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("queue_ticket", sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
    # Tickets from before this revision were last seen when they were issued.
    op.execute("UPDATE queue_ticket SET seen_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("queue_ticket") as batch:
        batch.drop_column("seen_at")
    with op.batch_alter_table("queue_line") as batch:
        batch.drop_column("opens_at")
    with op.batch_alter_table("concert") as batch:
        batch.drop_column("sale_opens_at")
