"""Use cases for users and their balance."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from boxoffice.auth import issue_access_token
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.errors import (
    BalanceLimitReached,
    ChargeOutOfRange,
    EmailTaken,
    InvalidCredentials,
    UserNotFound,
)
from boxoffice.pagination import Page, PageRequest
from boxoffice.unit_of_work import Recorder
from boxoffice.users import ledger, repository
from boxoffice.users.passwords import passwords_for
from boxoffice.users.schemas import (
    AccessToken,
    BalanceOut,
    ChargeOut,
    PointHistoryOut,
    SignedUp,
    UserOut,
)
from boxoffice.users.standing import ensure_not_blocked


async def sign_up(
    db: Database, settings: Settings, name: str, email: str, password: str
) -> SignedUp:
    email = email.lower()
    password_hash = await passwords_for(settings).hash_in_thread(password)
    try:
        async with db.unit_of_work() as work:
            row = await repository.insert_user(work.conn, name, email, password_hash, utcnow())
            await work.commit()
    except IntegrityError as error:
        raise EmailTaken(f"The email {email} is already registered.") from error
    return SignedUp(
        **UserOut.model_validate(row, from_attributes=True).model_dump(),
        access_token=issue_access_token(settings, row.id),
    )


async def log_in(db: Database, settings: Settings, email: str, password: str) -> AccessToken:
    """An access token for the right email and password. An unknown email and a wrong password
    get the same error after the same work: one Argon2 verification each."""
    async with db.reading() as conn:
        found = await repository.find_credentials(conn, email.lower())
    stored_hash = None if found is None else found.password_hash
    hasher = passwords_for(settings)
    verdict = await hasher.verify_in_thread(stored_hash, password)
    if found is None or stored_hash is None or not verdict.matches:
        raise InvalidCredentials("The email or the password is wrong.")
    if verdict.needs_rehash:
        # The cost parameters changed since this hash was made: upgrade it while the
        # password is at hand.
        new_hash = await hasher.hash_in_thread(password)
        async with db.transaction() as conn:
            await repository.replace_password_hash(conn, found.id, stored_hash, new_hash, utcnow())
    return AccessToken(
        access_token=issue_access_token(settings, found.id),
        expires_in=settings.access_token_ttl_seconds,
    )


async def get_user(db: Database, user_id: int) -> UserOut:
    async with db.reading() as conn:
        row = await repository.find_user(conn, user_id)
    if row is None:
        raise UserNotFound(f"User {user_id} does not exist.")
    return UserOut.model_validate(row, from_attributes=True)


async def get_balance(db: Database, user_id: int) -> BalanceOut:
    async with db.reading() as conn:
        balance = await repository.find_balance(conn, user_id)
    if balance is None:
        raise UserNotFound(f"User {user_id} does not exist.")
    return BalanceOut(user_id=user_id, balance=balance)


async def charge(
    db: Database, settings: Settings, user_id: int, amount: int, recorder: Recorder | None = None
) -> ChargeOut:
    if not 1 <= amount <= settings.max_charge:
        raise ChargeOutOfRange(f"A charge is between 1 and {settings.max_charge} won.")
    async with db.unit_of_work(recorder) as work:
        standing = await repository.lock_standing(work.conn, user_id)
        if standing is None:
            raise UserNotFound(f"User {user_id} does not exist.")
        ensure_not_blocked(user_id, standing.blocked_at)
        credited = await ledger.charge(work.conn, user_id, amount, utcnow())
        if credited is None:
            raise BalanceLimitReached("This charge would take the balance past its maximum.")
        result = ChargeOut(
            user_id=user_id, balance=credited.balance, point_history_id=credited.entry_id
        )
        await work.commit(result)
    return result


async def point_history(db: Database, user_id: int, page: PageRequest) -> Page[PointHistoryOut]:
    async with db.reading() as conn:
        rows = await repository.history_page(conn, user_id, page.after_id(), page.limit + 1)
    entries = [PointHistoryOut.model_validate(row, from_attributes=True) for row in rows]
    return page.page(entries, key=lambda entry: [entry.id])
