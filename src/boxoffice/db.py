"""Engine, transactions, and every difference between PostgreSQL and SQLite in one place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Row, Select, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, ExceptionContext, Result, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from boxoffice.pg_driver import DriverConnection, HotStatement
from boxoffice.tables import metadata
from boxoffice.unit_of_work import Recorder, UnitOfWork

# A result row of any shape.
Record = Row[*tuple[Any, ...]]

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """Accept ordinary SQLAlchemy URLs and pick the async driver for them."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=_ASYNC_DRIVERS[backend])


def insert_ignoring_conflicts(table: Table, dialect_name: str) -> Any:
    """INSERT .. ON CONFLICT DO NOTHING in the named dialect ("sqlite" or "postgresql"), for
    code that holds a connection (`conn.dialect.name`) rather than the `Database`."""
    dialect = sqlite if dialect_name == "sqlite" else postgresql
    return dialect.insert(table).on_conflict_do_nothing()


def for_update(query: Select[Any], of: Any = None) -> Select[Any]:
    """Row-lock what the query reads. SQLite's compiler leaves the clause out: its single
    writer already serialises, so the same statement serves both databases."""
    return query.with_for_update(of=of)


def skip_locked(query: Select[Any]) -> Select[Any]:
    """Rows another transaction is working on are left for it. SQLite has a single writer,
    so there is nothing to skip, and its compiler leaves the clause out."""
    return query.with_for_update(skip_locked=True)


def is_unique_violation(error: IntegrityError, index: str) -> bool:
    """Whether `error` is the unique index (or constraint) `index` refusing a row. PostgreSQL
    names the index; SQLite names its columns, as `table.column`."""
    message = str(error.orig)
    if index in message:
        return True
    columns = _unique_columns.get(index)
    return columns is not None and f"UNIQUE constraint failed: {columns}" in message


# Unique index name -> its columns as SQLite's error message spells them.
_unique_columns = {
    str(index.name): ", ".join(f"{table.name}.{column.name}" for column in index.columns)
    for table in metadata.tables.values()
    for index in table.indexes
    if index.unique
}


# SQLSTATE classes that say the database cannot serve right now, whatever the statement was:
# 08 the connection was lost or refused, 53 out of resources ("too many clients"), 57 operator
# intervention (shutting down, starting up, a statement cancelled by statement_timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})


def is_unavailable(error: DBAPIError) -> bool:
    """Whether a database error means "not now" (a 503) rather than a fault in the request or
    the code. Read from the SQLSTATE, which is stable across versions and languages."""
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
        return True
    # The server closing a connection while a statement is being sent on it can leave
    # asyncpg's protocol state behind ("cannot switch to state ..."): the connection is gone.
    # (The driver's own error is `orig` itself when the statement went to the driver directly.)
    cause = error.orig.__cause__ if error.orig is not None else None
    return any(isinstance(e, asyncpg.exceptions.InternalClientError) for e in (error.orig, cause))


@dataclass(frozen=True)
class Timeouts:
    """How long the service waits on PostgreSQL before it answers 503 instead (seconds)."""

    # For a pooled connection, when every one is busy.
    pool: float = 10
    # For a new connection to be opened.
    connect: float = 5
    # For one statement: PostgreSQL cancels it past this (statement_timeout), and the client
    # gives up a little later still, for a server that cannot even say so.
    statement: float = 30


# How much longer than the server's statement_timeout the client waits for any answer.
_CLIENT_GRACE_SECONDS = 2.0


def _drop_timed_out_connection(context: ExceptionContext) -> None:
    """A statement the client gave up on (no answer within `command_timeout`) leaves its
    connection mid-protocol: rolling it back, or the next statement, would first wait for the
    slow server's answer, and a request would spend a timeout per step. The connection is
    closed instead, and the pool opens a fresh one when it is next needed; the other
    connections are kept, since one slow answer says nothing of them."""
    if isinstance(context.original_exception, TimeoutError):
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False


def _close_at_once(dbapi_connection: Any, _record: Any, _error: BaseException | None) -> None:
    """A connection the pool drops is dead or stuck. SQLAlchemy would first close it politely,
    waiting up to 2 s for a goodbye from a server that may not answer at all; the request
    waiting on it would spend that too. Cut it instead: the server ends its session (rolling
    back whatever was open) as soon as it sees the socket close."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if isinstance(driver, asyncpg.Connection):
        driver.terminate()


class Database:
    def __init__(self, url: str, pool_size: int = 10, timeouts: Timeouts | None = None) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine: AsyncEngine = (
            self._sqlite_engine()
            if self.is_sqlite
            else self._postgres_engine(pool_size, timeouts or Timeouts())
        )

    def _postgres_engine(self, pool_size: int, timeouts: Timeouts) -> AsyncEngine:
        engine = create_async_engine(
            self.url,
            pool_size=pool_size,
            # No overflow: a connection opened for a burst is closed again when it is returned,
            # and under a steady rush that churn (a server process forked per connection) cost
            # more than waiting a moment for a pooled one.
            max_overflow=0,
            # No pre-ping: it costs a round trip per request. A connection the server dropped
            # fails its statement, is discarded, and that request answers 503.
            pool_recycle=1800,
            pool_timeout=timeouts.pool,
            connect_args={
                "timeout": timeouts.connect,
                "command_timeout": timeouts.statement + _CLIENT_GRACE_SECONDS,
                "server_settings": {"statement_timeout": f"{round(timeouts.statement * 1000)}"},
            },
        )
        event.listen(engine.sync_engine, "handle_error", _drop_timed_out_connection)
        event.listen(engine.sync_engine.pool, "invalidate", _close_at_once)
        return engine

    def _sqlite_engine(self) -> AsyncEngine:
        engine = create_async_engine(self.url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves: the driver's implicit BEGIN is DEFERRED, which lets two
            # writers both read and then fail to upgrade their locks.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                "busy_timeout=30000",
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            writes = conn.get_execution_options().get("boxoffice_writes", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine

    @asynccontextmanager
    async def unit_of_work(self, recorder: Recorder | None = None) -> AsyncIterator[UnitOfWork]:
        """A read-write transaction that rolls back unless its owner commits it."""
        async with self.engine.connect() as conn:
            await conn.execution_options(boxoffice_writes=True)
            await conn.begin()
            work = UnitOfWork(conn, recorder)
            try:
                yield work
            finally:
                if not work.committed:
                    await conn.rollback()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A unit of work whose block is its owner: it commits when the block ends, and rolls
        back when the block raises."""
        async with self.unit_of_work() as work:
            yield work.conn
            await work.commit()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries that change nothing. On PostgreSQL it runs without an
        explicit transaction (no BEGIN/ROLLBACK round trips); each statement sees committed
        data as of its own start."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.begin()
            try:
                yield conn
            finally:
                await conn.rollback()

    @asynccontextmanager
    async def single_statement(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement that writes. On PostgreSQL it runs in autocommit: the
        statement is its own transaction, with no BEGIN/COMMIT round trips."""
        if self.is_sqlite:
            async with self.transaction() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.begin()
            yield conn
            await conn.commit()

    @asynccontextmanager
    async def on_driver(self) -> AsyncIterator[DriverConnection]:
        """PostgreSQL only: a pooled connection's driver, for statements that each commit by
        themselves, without SQLAlchemy's layers in between (see `boxoffice.pg_driver`)."""
        assert not self.is_sqlite, "SQLite statements go through SQLAlchemy"
        # Straight from the pool: wrapping it in an AsyncConnection as well cost about 45 us of
        # CPU a checkout, a tenth of a concert read.
        dialect = self.engine.dialect
        try:
            pooled = await self.engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:
            # What `engine.connect()` raises for a connection that cannot be opened: the
            # driver's error as SQLAlchemy's own type, which the 503 mapping reads.
            raise DBAPIError.instance(
                None, None, error, dialect.loaded_dbapi.Error, dialect=dialect
            ) from error
        try:
            yield DriverConnection(self.engine.sync_engine.pool, pooled)
        finally:
            # Shielded: a cancelled request must still give its connection back. In a greenlet:
            # the pool's reset on return may await the driver.
            await asyncio.shield(greenlet_spawn(pooled.close))

    async def read_one(self, read: HotStatement, **params: Any) -> dict[str, Any] | None:
        """The row a hot read returns, by column name, or None: on PostgreSQL straight from
        the driver, on SQLite through SQLAlchemy."""
        if self.is_sqlite:
            async with self.reading() as conn:
                return _first(await conn.execute(read.statement, params))
        return await self._fetch_on_driver(read, params)

    async def write_one(self, write: HotStatement, **params: Any) -> dict[str, Any] | None:
        """The row a hot write returns (RETURNING), or None; the write commits by itself."""
        if self.is_sqlite:
            async with self.single_statement() as conn:
                return _first(await conn.execute(write.statement, params))
        return await self._fetch_on_driver(write, params)

    async def _fetch_on_driver(
        self, hot: HotStatement, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        async with self.on_driver() as driver:
            record = await driver.fetchrow(hot.sql, *hot.args(params))
        return None if record is None else hot.row(record)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction in which every statement sees the same moment."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.execution_options(isolation_level="REPEATABLE READ")
            await conn.begin()
            try:
                yield conn
            finally:
                await conn.rollback()

    def insert_ignoring_conflicts(self, table: Table) -> Any:
        """INSERT .. ON CONFLICT DO NOTHING, in this database's dialect."""
        return insert_ignoring_conflicts(table, self.url.get_backend_name())

    async def ping(self) -> None:
        async with self.reading() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _first(result: Result[Any]) -> dict[str, Any] | None:
    row = result.first()
    return None if row is None else dict(row._mapping)
