"""Reservations: seat holds, their expiry, cancellation."""
