"""Statements sent straight to a pooled connection's asyncpg driver, for the hottest paths.

SQLAlchemy's statement, execution and result layers cost more CPU than a one-row round trip
itself (measured in-process: about 330 us a read through them, 180 us on the driver). The few
statements every request of a drop makes (the concert read, the hold, the payment, the
idempotency claim) go to the driver on PostgreSQL; everything else, and SQLite, stays on
SQLAlchemy.

What SQLAlchemy would have done on failure is done here too, so that callers and the error
handlers cannot tell the two paths apart: a driver error is raised as SQLAlchemy's
`IntegrityError` or `DBAPIError` (which `db.is_unavailable` reads), and a connection that broke,
timed out or was abandoned mid-statement is invalidated, so the pool never hands it out again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.util import greenlet_spawn

_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)


class DriverConnection:
    """A pooled connection's asyncpg connection, outside any transaction: each statement
    commits by itself. Parameters are written `$1`, `$2`, ...; rows are read by column name."""

    def __init__(self, pool: Pool, pooled: PoolProxiedConnection) -> None:
        self._pool = pool
        self._pooled = pooled
        driver = pooled.driver_connection
        assert driver is not None, "a checked-out connection has its driver connection"
        self._driver: Any = driver

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        """The first row the statement returns (an `asyncpg.Record`), or None."""
        try:
            return await self._driver.fetchrow(sql, *args)
        except BaseException as error:
            lost = await self._drop_if_lost(error)
            if isinstance(error, _DRIVER_ERRORS):
                raise _as_sqlalchemy_error(sql, args, error, lost) from error
            raise

    async def _drop_if_lost(self, error: BaseException) -> bool:
        """Take the connection out of the pool if it can no longer be trusted: closed, past
        the client's timeout (the server's answer may still arrive on it), or left
        mid-statement by a cancellation; these are SQLAlchemy's own three cases (see
        `db._drop_timed_out_connection` for the timeout). A closed one also retires every
        connection opened before it, as SQLAlchemy does: the server most likely restarted."""
        closed = bool(self._driver.is_closed())
        if not (closed or isinstance(error, TimeoutError) or not isinstance(error, Exception)):
            return False
        if closed:
            self._pool._invalidate(self._pooled, error, _checkin=False)
        # Shielded: a cancelled request must still take its connection out of the pool. In a
        # greenlet, as SQLAlchemy's own invalidation runs: the pool may await the driver.
        await asyncio.shield(greenlet_spawn(self._pooled.invalidate, error))
        return True


def _as_sqlalchemy_error(
    sql: str, args: tuple[Any, ...], error: BaseException, invalidated: bool
) -> DBAPIError:
    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, args, error, connection_invalidated=invalidated)
    return DBAPIError(sql, args, error, connection_invalidated=invalidated)


# SQLAlchemy's dialect classes are not annotated.
_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]


class HotStatement:
    """A statement that returns at most one row (a SELECT, or a write with RETURNING), with
    named bind parameters, built once. SQLite runs `statement` through SQLAlchemy; PostgreSQL
    runs `sql`, compiled once for the driver, with the column types' own conversions applied
    to the parameters (`args`) and to the row (`row`), so that both give the same values. Its
    columns must convert without the driver's type code (no NUMERIC): that is checked here,
    when the statement is built."""

    def __init__(self, statement: Select[Any] | ReturningInsert[Any]) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = compiled.string
        binds = compiled.binds
        self._params = tuple(
            (name, binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT))
            for name in compiled.positiontup or ()
        )
        self._columns = tuple(
            (column.name, _result_processor(column)) for column in statement.exported_columns
        )

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if convert is None else convert(params[name])
            for name, convert in self._params
        ]

    def row(self, record: Any) -> dict[str, Any]:
        return {
            name: value if convert is None else convert(value)
            for (name, convert), value in zip(self._columns, record, strict=True)
        }


def _result_processor(column: Any) -> Any:
    try:
        return column.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
    except TypeError as error:
        message = f"column {column.name!r} cannot be converted without its type code"
        raise TypeError(message) from error
