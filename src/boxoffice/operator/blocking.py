"""The operator blocks and unblocks users. A block ends the user's live holds in the same unit
of work, and from its commit on the user cannot join a line, hold, pay or charge (the rule is
`boxoffice.users.standing`). Blocking or unblocking twice is the same as once."""

from __future__ import annotations

from boxoffice.booking.ending import end_live_holds
from boxoffice.clock import utcnow
from boxoffice.db import Database, Record
from boxoffice.errors import UserNotFound
from boxoffice.operator import repository
from boxoffice.operator.schemas import UserAccount


async def block(db: Database, user_id: int) -> UserAccount:
    now = utcnow()
    async with db.unit_of_work() as work:
        # The user's row lock first, then their holds: the order every booking transaction takes.
        account = await repository.set_blocked(work.conn, user_id, True, now)
        if account is None:
            raise UserNotFound(f"User {user_id} does not exist.")
        await end_live_holds(work.conn, user_id, now)
        await work.commit()
    return user_account(account)


async def unblock(db: Database, user_id: int) -> UserAccount:
    async with db.unit_of_work() as work:
        account = await repository.set_blocked(work.conn, user_id, False, utcnow())
        if account is None:
            raise UserNotFound(f"User {user_id} does not exist.")
        await work.commit()
    return user_account(account)


def user_account(row: Record) -> UserAccount:
    return UserAccount(
        id=row.id,
        name=row.name,
        email=row.email,
        balance=row.balance,
        created_at=row.created_at,
        blocked=row.blocked_at is not None,
        blocked_at=row.blocked_at,
    )
