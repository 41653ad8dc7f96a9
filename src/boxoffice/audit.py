"""`boxoffice audit`: checks every promise of the data on a live database.

Each check is one query that returns the rows breaking a rule (empty when all is well) and a
count of what it looked at. The checks read one consistent snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.tables import UTCDateTime


@dataclass(frozen=True)
class Check:
    name: str
    checked: str  # SQL counting what the check looked at
    violations: str  # SQL listing what breaks the rule


@dataclass(frozen=True)
class Result:
    name: str
    checked: int
    violations: list[tuple[Any, ...]]

    @property
    def ok(self) -> bool:
        return not self.violations


_LEDGER_BY_USER = """
    SELECT user_id,
           SUM(CASE WHEN type = 'CHARGE' THEN amount ELSE 0 END) AS charges,
           SUM(CASE WHEN type = 'REFUND' THEN amount ELSE 0 END) AS refunds,
           SUM(CASE WHEN type = 'USE' THEN amount ELSE 0 END) AS uses
    FROM point_history GROUP BY user_id
"""
_PAYMENTS_BY_USER = """
    SELECT user_id,
           SUM(CASE WHEN status IN ('SUCCESS', 'CANCELLED') THEN amount ELSE 0 END) AS paid,
           SUM(CASE WHEN status = 'CANCELLED' THEN amount ELSE 0 END) AS refunded
    FROM payment GROUP BY user_id
"""

CHECKS = (
    Check(
        "balance == charges + refunds - uses, and never below zero",
        "SELECT COUNT(*) FROM users",
        f"""
        SELECT u.id, u.balance, COALESCE(l.charges, 0), COALESCE(l.refunds, 0), COALESCE(l.uses, 0)
        FROM users u LEFT JOIN ({_LEDGER_BY_USER}) l ON l.user_id = u.id
        WHERE u.balance < 0
           OR u.balance <> COALESCE(l.charges, 0) + COALESCE(l.refunds, 0) - COALESCE(l.uses, 0)
        """,
    ),
    Check(
        "at most one live reservation per seat",
        "SELECT COUNT(*) FROM seat",
        """
        SELECT seat_id, COUNT(*) FROM reservation
        WHERE status = 'CONFIRMED' OR (status = 'TEMPORARY' AND expires_at > :now)
        GROUP BY seat_id HAVING COUNT(*) > 1
        """,
    ),
    Check(
        "a seat is UNAVAILABLE exactly when a held or confirmed reservation covers it",
        "SELECT COUNT(*) FROM seat",
        """
        SELECT s.id, s.status FROM seat s
        WHERE (s.status = 'UNAVAILABLE') <> EXISTS (
            SELECT 1 FROM reservation r
            WHERE r.seat_id = s.id AND r.status IN ('TEMPORARY', 'CONFIRMED'))
        """,
    ),
    Check(
        "available_seats (with pending changes) == AVAILABLE seats; total_seats == seats",
        "SELECT COUNT(*) FROM concert_schedule",
        """
        SELECT c.id, c.available_seats, c.total_seats, s.free, s.seats FROM concert_schedule c
        JOIN (SELECT schedule_id, COUNT(*) AS seats,
                     SUM(CASE WHEN status = 'AVAILABLE' THEN 1 ELSE 0 END) AS free
              FROM seat GROUP BY schedule_id) s ON s.schedule_id = c.id
        WHERE c.total_seats <> s.seats
           OR c.available_seats + COALESCE((SELECT SUM(d.delta) FROM seat_count_delta d
                                            WHERE d.schedule_id = c.id), 0) <> s.free
        """,
    ),
    Check(
        "every SUCCESS payment pays a CONFIRMED reservation of its user, for its amount",
        "SELECT COUNT(*) FROM payment WHERE status = 'SUCCESS'",
        """
        SELECT p.id, r.id, r.status FROM payment p JOIN reservation r ON r.id = p.reservation_id
        WHERE p.status = 'SUCCESS'
          AND (r.status <> 'CONFIRMED' OR r.user_id <> p.user_id OR r.amount <> p.amount)
        """,
    ),
    Check(
        "every CONFIRMED reservation has exactly one SUCCESS payment",
        "SELECT COUNT(*) FROM reservation WHERE status = 'CONFIRMED'",
        """
        SELECT r.id, COUNT(p.id) FROM reservation r
        LEFT JOIN payment p ON p.reservation_id = r.id AND p.status = 'SUCCESS'
        WHERE r.status = 'CONFIRMED' GROUP BY r.id HAVING COUNT(p.id) <> 1
        """,
    ),
    Check(
        "USE entries == payments made; REFUND entries == payments cancelled",
        "SELECT COUNT(*) FROM users",
        f"""
        SELECT u.id FROM users u
        LEFT JOIN ({_LEDGER_BY_USER}) l ON l.user_id = u.id
        LEFT JOIN ({_PAYMENTS_BY_USER}) p ON p.user_id = u.id
        WHERE COALESCE(l.uses, 0) <> COALESCE(p.paid, 0)
           OR COALESCE(l.refunds, 0) <> COALESCE(p.refunded, 0)
        """,
    ),
)


async def _run_check(conn: AsyncConnection, check: Check, now: datetime) -> Result:
    checked = (await conn.execute(text(check.checked))).scalar_one()
    query = text(check.violations)
    if ":now" in check.violations:
        query = query.bindparams(bindparam("now", value=now, type_=UTCDateTime()))
    violations = (await conn.execute(query)).all()
    return Result(check.name, int(checked), [tuple(row) for row in violations])


async def run_audit(db: Database) -> list[Result]:
    now = utcnow()
    async with db.snapshot() as conn:
        return [await _run_check(conn, check, now) for check in CHECKS]
