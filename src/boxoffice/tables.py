"""The schema, in one place. It matches the Alembic migrations in `boxoffice/migrations`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from boxoffice.statuses import (
    SEAT_OCCUPYING,
    EntryType,
    PaymentStatus,
    ReservationStatus,
    SeatStatus,
    TicketStatus,
    sql_in,
)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: store them naive so that every value has one format.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[int]):
    """Whole won: DECIMAL in the database, `int` in Python, never a float in between."""

    impl = Numeric(15, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        # SQLite has no DECIMAL; whole numbers under NUMERIC affinity are stored as integers.
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(15, 0))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else int(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

OCCUPYING_RESERVATION = sql_in("status", *SEAT_OCCUPYING)
TEMPORARY_RESERVATION = f"status = '{ReservationStatus.TEMPORARY}'"
SUCCESSFUL_PAYMENT = f"status = '{PaymentStatus.SUCCESS}'"


def _timestamps() -> list[Column[Any]]:
    return [
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    ]


users = Table(
    "users",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("email", String(320), nullable=False, unique=True),
    Column("balance", Money(), nullable=False, server_default=text("0")),
    # The encoded Argon2id hash; NULL for accounts made before passwords (no login possible).
    Column("password_hash", String(255), nullable=True),
    # When the operator blocked the user (migration 0012); NULL while they may buy.
    Column("blocked_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    CheckConstraint("balance >= 0", name="balance_not_negative"),
)

point_history = Table(
    "point_history",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("type", String(10), nullable=False),
    *_timestamps(),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(sql_in("type", *EntryType), name="type_known"),
    Index(None, "user_id", "id"),
)

concert = Table(
    "concert",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("duration", Time(), nullable=False),
    # When the sale opens (null: no opening was set); concert bodies show null once it passed.
    Column("sale_opens_at", UTCDateTime(), nullable=True),
    *_timestamps(),
)

concert_schedule = Table(
    "concert_schedule",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("concert_id", ForeignKey("concert.id"), nullable=False),
    Column("start_time", UTCDateTime(), nullable=False),
    Column("total_seats", Integer, nullable=False),
    Column("available_seats", Integer, nullable=False),
    # When the operator cancelled the schedule (migration 0010); NULL while it is not cancelled.
    Column("cancelled_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    Index(None, "concert_id", "start_time"),
)

seat = Table(
    "seat",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("schedule_id", ForeignKey("concert_schedule.id"), nullable=False),
    Column("seat_number", String(20), nullable=False),
    Column("price", Money(), nullable=False),
    Column("status", String(12), nullable=False),
    *_timestamps(),
    UniqueConstraint("schedule_id", "seat_number"),
    CheckConstraint(sql_in("status", *SeatStatus), name="status_known"),
    Index(None, "schedule_id", "status"),
)

reservation = Table(
    "reservation",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("schedule_id", ForeignKey("concert_schedule.id"), nullable=False),
    Column("seat_id", ForeignKey("seat.id"), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("status", String(12), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    # When the ticket was let in at the door (migration 0007); NULL until then.
    Column("checked_in_at", UTCDateTime(), nullable=True),
    *_timestamps(),
    CheckConstraint(sql_in("status", *ReservationStatus), name="status_known"),
    # The database's own guarantee of "one seat, one owner".
    Index(
        "uq_reservation_live_seat",
        "seat_id",
        unique=True,
        sqlite_where=text(OCCUPYING_RESERVATION),
        postgresql_where=text(OCCUPYING_RESERVATION),
    ),
    Index(None, "user_id", "id"),
    Index(
        "ix_reservation_user_temporary",
        "user_id",
        "schedule_id",
        sqlite_where=text(TEMPORARY_RESERVATION),
        postgresql_where=text(TEMPORARY_RESERVATION),
    ),
    # A schedule's live reservations, for cancelling the schedule in batches.
    Index(
        "ix_reservation_live_schedule",
        "schedule_id",
        "id",
        sqlite_where=text(OCCUPYING_RESERVATION),
        postgresql_where=text(OCCUPYING_RESERVATION),
    ),
    Index(
        "ix_reservation_temporary_expiry",
        "expires_at",
        sqlite_where=text(TEMPORARY_RESERVATION),
        postgresql_where=text(TEMPORARY_RESERVATION),
    ),
)

payment = Table(
    "payment",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("amount", Money(), nullable=False),
    Column("status", String(12), nullable=False),
    Column("reservation_id", ForeignKey("reservation.id"), nullable=False),
    *_timestamps(),
    CheckConstraint(sql_in("status", *PaymentStatus), name="status_known"),
    Index(None, "reservation_id"),
    # A reservation is paid once: the database refuses a second SUCCESS payment of it.
    Index(
        "uq_payment_success_reservation",
        "reservation_id",
        unique=True,
        sqlite_where=text(SUCCESSFUL_PAYMENT),
        postgresql_where=text(SUCCESSFUL_PAYMENT),
    ),
    Index(None, "user_id", "id"),
)

# Pending changes to `concert_schedule.available_seats`. A trigger on `seat` (migration 0003)
# appends here whenever a seat's status changes, instead of updating the schedule row, so that
# holds of one schedule never queue on a single row lock; the sweeper folds the rows into the
# counter. `available_seats + sum(delta)` is the number of AVAILABLE seat rows as of the
# reading statement (a seat whose hold has expired but is not yet swept still counts as taken).
seat_count_delta = Table(
    "seat_count_delta",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("schedule_id", ForeignKey("concert_schedule.id"), nullable=False),
    Column("delta", Integer, nullable=False),
    Index(None, "schedule_id"),
)

# Every change of a seat's status, appended by a trigger (migration 0004) for the live seat maps.
# The id orders the changes; the sweeper prunes rows older than a reconnecting client may ask for.
seat_change = Table(
    "seat_change",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("schedule_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("seat_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index(None, "schedule_id", "id"),
    Index(None, "created_at"),
    sqlite_autoincrement=True,
)

# Admissions that a payment has ended (migration 0013). A payment that leaves its user no live
# hold in the concert writes the row in its own transaction, under the user's row lock; a hold
# takes the same lock and refuses a token found here. So a hold racing the payment that ends its
# admission either commits first (and is counted) or is refused, whatever the waiting room's
# backend, and telling the waiting room can wait until after the commit.
# The sweeper forgets a row once its admission would have run out anyway (`booking.expiry`).
admission_end = Table(
    "admission_end",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("concert_id", ForeignKey("concert.id"), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=False),
    Index(None, "ended_at"),
)

idempotency_key = Table(
    "idempotency_key",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("locked_until", UTCDateTime(), nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    *_timestamps(),
    UniqueConstraint("user_id", "key"),
    Index(None, "created_at"),
)


# The database-backed waiting room (used when no Redis is configured). One row per concert's
# line: joins and admissions lock it, which fixes arrival order and caps admissions exactly.
queue_line = Table(
    "queue_line",
    metadata,
    Column("concert_id", ForeignKey("concert.id"), primary_key=True),
    Column("next_seq", BigInteger, nullable=False),
    Column("active_count", Integer, nullable=False),
    Column("waiting_count", Integer, nullable=False),
    Column("rate_window_start", UTCDateTime(), nullable=True),
    Column("rate_window_count", Integer, nullable=False),
    Column("rate_per_second", Float, nullable=True),
    # The line's own copy of the sale opening, cleared when the line opens (once, for good).
    Column("opens_at", UTCDateTime(), nullable=True),
)

LIVE_TICKET = sql_in("status", TicketStatus.WAITING, TicketStatus.ACTIVE)

queue_ticket = Table(
    "queue_ticket",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("concert_id", ForeignKey("concert.id"), nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("status", String(8), nullable=False),
    Column("active_until", UTCDateTime(), nullable=True),
    Column("expired_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # When someone last asked about the ticket; a waiting one left alone too long expires.
    # Not indexed on purpose: every status request writes it, and an index would make each of
    # those writes touch every index of the table.
    Column("seen_at", UTCDateTime(), nullable=True),
    CheckConstraint(sql_in("status", *TicketStatus), name="status_known"),
    UniqueConstraint("concert_id", "seq"),
    # One place per user and line, whatever the code above it does.
    Index(
        "uq_queue_ticket_live_user",
        "concert_id",
        "user_id",
        unique=True,
        sqlite_where=text(LIVE_TICKET),
        postgresql_where=text(LIVE_TICKET),
    ),
    # Position is a count over this index; admission reads its head.
    Index(
        "ix_queue_ticket_waiting",
        "concert_id",
        "seq",
        sqlite_where=text(f"status = '{TicketStatus.WAITING}'"),
        postgresql_where=text(f"status = '{TicketStatus.WAITING}'"),
    ),
    Index(
        "ix_queue_ticket_active",
        "concert_id",
        "active_until",
        sqlite_where=text(f"status = '{TicketStatus.ACTIVE}'"),
        postgresql_where=text(f"status = '{TicketStatus.ACTIVE}'"),
    ),
    Index(
        "ix_queue_ticket_expired",
        "expired_at",
        sqlite_where=text(f"status = '{TicketStatus.EXPIRED}'"),
        postgresql_where=text(f"status = '{TicketStatus.EXPIRED}'"),
    ),
)

# Counters of the rate limits when there is no Redis: one row per limit, client and window.
rate_limit_counter = Table(
    "rate_limit_counter",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("hits", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index(None, "expires_at"),
)
