"""Booking: holding a seat, paying for it, cancelling, refunds, and the expiry of holds."""
