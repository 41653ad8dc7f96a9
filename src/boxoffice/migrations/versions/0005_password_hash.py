"""Users get a password: its Argon2id hash, in its encoded form (parameters and salt inside).

Accounts made before passwords existed keep a NULL hash: they go on using the access tokens they
hold, and a login with their email is refused like any wrong password (in the same time, since it
is checked against a dummy hash). Inventing a password for them would lock them out just the
same while pretending otherwise.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_hash")
