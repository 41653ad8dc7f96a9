"""Whether a user may buy. The operator can block a user; a blocked user may not join a line,
hold a seat, pay or charge the balance, and the block ends their live holds.

Each of those use cases applies this rule inside its own unit of work, to the user row it reads
there anyway, rather than in a separate read in front of the work. Blocking takes the user's row
lock (`boxoffice.operator.blocking`) and a hold takes it too, so a hold racing a block either
commits first (and the block ends it) or reads the block and is refused; a check made before
the work could read "not blocked", let the block end the user's holds, and then commit a new
one. A payment racing a block finds its hold ended and confirms nothing. The pages call the
same use cases, so they refuse a blocked user too.
"""

from __future__ import annotations

from datetime import datetime

from boxoffice.errors import UserBlocked


def ensure_not_blocked(user_id: int, blocked_at: datetime | None) -> None:
    """Refuse the user if the operator has blocked them."""
    if blocked_at is not None:
        raise UserBlocked(f"User {user_id} is blocked and cannot join lines, hold, pay or charge.")
