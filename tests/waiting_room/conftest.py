"""Every waiting-room test runs on both backends: the database (SQLite and PostgreSQL) and
Redis (on PostgreSQL)."""

from __future__ import annotations

from tests import rooms

room_and_backend = rooms.room_and_backend
room = rooms.room
backend = rooms.backend
room_settings = rooms.room_settings
make_room_client = rooms.make_room_client
