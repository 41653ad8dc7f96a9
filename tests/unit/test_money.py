"""Money is whole won: DECIMAL in the database, `int` in Python, never a float in between."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from boxoffice.money import MAX_BALANCE
from boxoffice.tables import Money

POSTGRES: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
SQLITE: Dialect = sqlite.dialect()
DIALECTS = [POSTGRES, SQLITE]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@pytest.mark.parametrize("value", [0, 1, 50_000, MAX_BALANCE, 10**15 - 1])
def test_whole_won_round_trip_exactly(dialect: Dialect, value: int) -> None:
    money = Money()
    bound = money.process_bind_param(value, dialect)
    assert bound == value and not isinstance(bound, float)
    loaded = money.process_result_value(Decimal(bound), dialect)
    assert loaded == value and type(loaded) is int


def test_values_past_float_precision_stay_exact() -> None:
    # 2**53 + 1 is the first integer a float cannot hold.
    value = 2**53 + 1
    loaded = Money().process_result_value(Decimal(value), POSTGRES)
    assert loaded == value and float(value) != value


def test_null_stays_null() -> None:
    money = Money()
    assert money.process_bind_param(None, SQLITE) is None
    assert money.process_result_value(None, SQLITE) is None


def test_the_column_is_a_decimal_on_postgres_and_an_integer_on_sqlite() -> None:
    pg = Money().dialect_impl(POSTGRES)
    assert pg.compile(dialect=POSTGRES) == "NUMERIC(15, 0)"
    lite = Money().dialect_impl(SQLITE)
    assert lite.compile(dialect=SQLITE) == "BIGINT"
