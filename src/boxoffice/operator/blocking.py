"""The operator blocks and unblocks users. A block ends the user's live holds in the same unit
of work, and from its commit on the user cannot join a line, hold, pay or charge (the rule is
`boxoffice.users.standing`); then it gives up their places in every waiting room, so that those
behind them move up at once instead of when the admission runs out. Blocking or unblocking twice
is the same as once; an unblocked user joins the lines again at the end."""

from __future__ import annotations

import logging

from boxoffice.booking.ending import end_live_holds
from boxoffice.clock import utcnow
from boxoffice.db import Database, Record
from boxoffice.errors import UserNotFound
from boxoffice.operator import repository
from boxoffice.operator.schemas import UserAccount
from boxoffice.queue.backend import WaitingRoom

log = logging.getLogger("boxoffice.operator")


async def block(db: Database, room: WaitingRoom, user_id: int) -> UserAccount:
    now = utcnow()
    async with db.unit_of_work() as work:
        # The user's row lock first, then their holds: the order every booking transaction takes.
        account = await repository.set_blocked(work.conn, user_id, True, now)
        if account is None:
            raise UserNotFound(f"User {user_id} does not exist.")
        await end_live_holds(work.conn, user_id, now)
        await work.commit()
    await _give_up_places(room, user_id)
    return user_account(account)


async def _give_up_places(room: WaitingRoom, user_id: int) -> None:
    """The block has committed: a place left behind buys nothing, and only keeps the next in
    line waiting until it runs out, so a failure here is logged, not answered."""
    try:
        await room.give_up_places(user_id)
    except Exception:
        log.exception("could not give up a blocked user's places in line")


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
