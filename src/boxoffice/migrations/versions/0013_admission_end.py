"""Admissions ended by a payment.

- `admission_end`: one row per queue token whose admission a payment ended (the payment left
  its user no live hold in the concert). Holds refuse such a token under the user's row lock.

The hold and payment functions of PostgreSQL are not here: they are code, and every
`boxoffice migrate` installs the ones of its own version (`boxoffice.booking.procedures`).

Revision ID: 0013
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admission_end",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("concert_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_admission_end"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_admission_end_user_id_users"),
        sa.ForeignKeyConstraint(
            ["concert_id"], ["concert.id"], name="fk_admission_end_concert_id_concert"
        ),
    )
    op.create_index("ix_admission_end_ended_at", "admission_end", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_admission_end_ended_at", table_name="admission_end")
    op.drop_table("admission_end")
