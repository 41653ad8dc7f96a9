"""Limits on amounts of money (whole won), shared by the settings, the catalog and the ledger."""

from __future__ import annotations

# The largest amount a money column holds: NUMERIC(15, 0) on PostgreSQL (BIGINT on SQLite holds
# more).
COLUMN_MAX = 10**15 - 1

# The dearest seat a schedule may have.
MAX_PRICE = 10**12

# The largest balance a charge may reach. It caps charges only: a refund is never refused, and it
# gives back what a payment took from the same balance, so a balance passes this cap only by the
# refunds of bookings paid while it stood near it. The room left up to COLUMN_MAX takes 900
# refunds of the dearest seat on top of a full balance.
MAX_BALANCE = COLUMN_MAX - 900 * MAX_PRICE
