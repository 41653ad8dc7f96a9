"""The waiting room: one first-come-first-served line per concert."""
