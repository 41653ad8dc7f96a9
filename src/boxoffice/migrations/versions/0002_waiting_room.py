"""The database-backed waiting room: one line per concert and its tickets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _partial(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.create_table(
        "queue_line",
        sa.Column("concert_id", ID, sa.ForeignKey("concert.id"), primary_key=True),
        sa.Column("next_seq", sa.BigInteger, nullable=False),
        sa.Column("active_count", sa.Integer, nullable=False),
        sa.Column("waiting_count", sa.Integer, nullable=False),
        sa.Column("rate_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate_window_count", sa.Integer, nullable=False),
        sa.Column("rate_per_second", sa.Float, nullable=True),
    )
    op.create_table(
        "queue_ticket",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("concert_id", ID, sa.ForeignKey("concert.id"), nullable=False),
        sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("active_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('WAITING', 'ACTIVE', 'EXPIRED')", name="status_known"),
        sa.UniqueConstraint("concert_id", "seq", name="uq_queue_ticket_concert_id_seq"),
    )
    op.create_index(
        "uq_queue_ticket_live_user",
        "queue_ticket",
        ["concert_id", "user_id"],
        unique=True,
        **_partial("status IN ('WAITING', 'ACTIVE')"),
    )
    op.create_index(
        "ix_queue_ticket_waiting",
        "queue_ticket",
        ["concert_id", "seq"],
        **_partial("status = 'WAITING'"),
    )
    op.create_index(
        "ix_queue_ticket_active",
        "queue_ticket",
        ["concert_id", "active_until"],
        **_partial("status = 'ACTIVE'"),
    )
    op.create_index(
        "ix_queue_ticket_expired", "queue_ticket", ["expired_at"], **_partial("status = 'EXPIRED'")
    )


def downgrade() -> None:
    op.drop_table("queue_ticket")
    op.drop_table("queue_line")
