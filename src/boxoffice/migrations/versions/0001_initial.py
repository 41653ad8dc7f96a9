"""The ERD's tables, the seat-count journal and idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_RESERVATION = "status IN ('TEMPORARY', 'CONFIRMED')"


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)


def _ref(name: str, target: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name,
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey(target),
        nullable=False,
    )


def _money(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Numeric(15, 0), nullable=False)


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _partial(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.create_table(
        "users",
        _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("balance", sa.Numeric(15, 0), nullable=False, server_default=sa.text("0")),
        *_timestamps(),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
    )
    op.create_table(
        "point_history",
        _id(),
        _ref("user_id", "users.id"),
        _money("amount"),
        sa.Column("type", sa.String(10), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("type IN ('CHARGE', 'USE', 'REFUND')", name="type_known"),
    )
    op.create_index("ix_point_history_user_id_id", "point_history", ["user_id", "id"])
    op.create_table(
        "concert",
        _id(),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("duration", sa.Time(), nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "concert_schedule",
        _id(),
        _ref("concert_id", "concert.id"),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_seats", sa.Integer, nullable=False),
        sa.Column("available_seats", sa.Integer, nullable=False),
        *_timestamps(),
    )
    op.create_index(
        "ix_concert_schedule_concert_id_start_time",
        "concert_schedule",
        ["concert_id", "start_time"],
    )
    op.create_table(
        "seat",
        _id(),
        _ref("schedule_id", "concert_schedule.id"),
        sa.Column("seat_number", sa.String(20), nullable=False),
        _money("price"),
        sa.Column("status", sa.String(12), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("schedule_id", "seat_number", name="uq_seat_schedule_id_seat_number"),
        sa.CheckConstraint("status IN ('AVAILABLE', 'UNAVAILABLE')", name="status_known"),
    )
    op.create_index("ix_seat_schedule_id_status", "seat", ["schedule_id", "status"])
    op.create_table(
        "reservation",
        _id(),
        _ref("user_id", "users.id"),
        _ref("schedule_id", "concert_schedule.id"),
        _ref("seat_id", "seat.id"),
        _money("amount"),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('TEMPORARY', 'CONFIRMED', 'CANCELLED', 'EXPIRED')",
            name="status_known",
        ),
    )
    op.create_index(
        "uq_reservation_live_seat",
        "reservation",
        ["seat_id"],
        unique=True,
        **_partial(LIVE_RESERVATION),
    )
    op.create_index("ix_reservation_user_id_id", "reservation", ["user_id", "id"])
    op.create_index(
        "ix_reservation_user_temporary",
        "reservation",
        ["user_id", "schedule_id"],
        **_partial("status = 'TEMPORARY'"),
    )
    op.create_index(
        "ix_reservation_temporary_expiry",
        "reservation",
        ["expires_at"],
        **_partial("status = 'TEMPORARY'"),
    )
    op.create_table(
        "payment",
        _id(),
        _ref("user_id", "users.id"),
        _money("amount"),
        sa.Column("status", sa.String(12), nullable=False),
        _ref("reservation_id", "reservation.id"),
        *_timestamps(),
        sa.CheckConstraint("status IN ('SUCCESS', 'FAILED', 'CANCELLED')", name="status_known"),
    )
    op.create_index("ix_payment_reservation_id", "payment", ["reservation_id"])
    op.create_index("ix_payment_user_id_id", "payment", ["user_id", "id"])
    op.create_table(
        "seat_count_delta",
        _id(),
        _ref("schedule_id", "concert_schedule.id"),
        sa.Column("delta", sa.Integer, nullable=False),
    )
    op.create_index("ix_seat_count_delta_schedule_id", "seat_count_delta", ["schedule_id"])
    op.create_table(
        "idempotency_key",
        _id(),
        _ref("user_id", "users.id"),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_status", sa.Integer, nullable=True),
        sa.Column("response_body", sa.Text, nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_id_key"),
    )
    op.create_index("ix_idempotency_key_created_at", "idempotency_key", ["created_at"])


def downgrade() -> None:
    for table in (
        "idempotency_key",
        "seat_count_delta",
        "payment",
        "reservation",
        "seat",
        "concert_schedule",
        "concert",
        "point_history",
        "users",
    ):
        op.drop_table(table)
