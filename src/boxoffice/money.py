"""Limits on amounts of money (whole won), shared by the settings and the ledger."""

from __future__ import annotations

# The largest balance a charge may reach: what the money columns (NUMERIC(15, 0)) hold.
MAX_BALANCE = 10**15 - 1
