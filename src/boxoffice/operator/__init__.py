"""The operator's reads and actions on schedules, their reservations and users."""
