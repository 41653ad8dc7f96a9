"""E-tickets: the signed code of a confirmed reservation, its QR code, and check-in at the door."""
