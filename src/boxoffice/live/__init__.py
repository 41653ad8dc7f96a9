"""Live updates: server-sent event streams of the waiting line and of seat maps."""
