"""The checks that fail a drop: every seat sold once, every won accounted for, the line served
in arrival order, no 5xx, and `boxoffice audit` clean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from bench import order
from bench.stack import DATABASE_URL, run_audit


@dataclass
class DropState:
    schedule_id: int
    seats: int
    sold: int  # payments answered 201, as counted by the load generator
    sold_out: bool
    timeout: float
    balances: dict[int, int]  # user id -> balance the generator expects
    charged: int  # money the users were given
    requests: int
    server_errors: int
    has_queue: bool | None
    arrivals: list[order.Arrival]


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "detail": detail}


async def verify(env: dict[str, str], state: DropState) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        found = [
            _check(
                "every seat sold",
                state.sold_out and state.sold == state.seats,
                f"{state.sold} of {state.seats} sold"
                + ("" if state.sold_out else f" (not sold out within {state.timeout:.0f} s)"),
            ),
            await _seats_sold_once(conn, state),
            await _balances(conn, state),
            await _money_conserved(conn, state),
        ]
    finally:
        await conn.close()
    found.append(
        _check(
            "no 5xx",
            state.server_errors == 0,
            f"{state.server_errors} of {state.requests} requests",
        )
    )
    found += _arrival_order(state)
    passed, output = await run_audit(env)
    failing = [line for line in output.splitlines() if line.startswith("FAIL")]
    found.append(
        _check(
            "boxoffice audit passes",
            passed,
            "all checks ok" if passed else "; ".join(failing)[:300] or output[-300:],
        )
    )
    return found


async def _seats_sold_once(conn: asyncpg.Connection, state: DropState) -> dict[str, Any]:
    twice_confirmed = await conn.fetchval(
        """SELECT COUNT(*) FROM (SELECT seat_id FROM reservation WHERE status = 'CONFIRMED'
           GROUP BY seat_id HAVING COUNT(*) > 1) AS t"""
    )
    twice_paid = await conn.fetchval(
        """SELECT COUNT(*) FROM (SELECT r.seat_id FROM payment p
           JOIN reservation r ON r.id = p.reservation_id WHERE p.status = 'SUCCESS'
           GROUP BY r.seat_id HAVING COUNT(*) > 1) AS t"""
    )
    paid_twice = await conn.fetchval(
        """SELECT COUNT(*) FROM (SELECT reservation_id FROM payment WHERE status = 'SUCCESS'
           GROUP BY reservation_id HAVING COUNT(*) > 1) AS t"""
    )
    confirmed = await conn.fetchval(
        "SELECT COUNT(*) FROM reservation WHERE status = 'CONFIRMED' AND schedule_id = $1",
        state.schedule_id,
    )
    paid = await conn.fetchval("SELECT COUNT(*) FROM payment WHERE status = 'SUCCESS'")
    ok = (
        twice_confirmed == 0
        and twice_paid == 0
        and paid_twice == 0
        and confirmed == paid == state.sold
    )
    return _check(
        "no seat sold twice",
        ok,
        f"seats confirmed twice {twice_confirmed}, seats paid twice {twice_paid}, "
        f"reservations paid twice {paid_twice}; confirmed {confirmed}, successful payments "
        f"{paid}, 201s seen {state.sold}",
    )


async def _balances(conn: asyncpg.Connection, state: DropState) -> dict[str, Any]:
    rows = await conn.fetch(
        """SELECT u.id, u.balance,
                  COALESCE(SUM(h.amount) FILTER (WHERE h.type = 'CHARGE'), 0) AS charges,
                  COALESCE(SUM(h.amount) FILTER (WHERE h.type = 'USE'), 0) AS uses,
                  COALESCE(SUM(h.amount) FILTER (WHERE h.type = 'REFUND'), 0) AS refunds
           FROM users u LEFT JOIN point_history h ON h.user_id = u.id
           WHERE u.id = ANY($1::bigint[]) GROUP BY u.id""",
        list(state.balances),
    )
    ledger_off = [r["id"] for r in rows if r["balance"] != r["charges"] - r["uses"] + r["refunds"]]
    expected_off = [r["id"] for r in rows if r["balance"] != state.balances[r["id"]]]
    negative = [r["id"] for r in rows if r["balance"] < 0]
    missing = len(state.balances) - len(rows)
    ok = not ledger_off and not expected_off and not negative and missing == 0
    return _check(
        "no balance off",
        ok,
        f"{len(rows)} users: balance != charges - uses + refunds for {len(ledger_off)}, "
        f"!= what their 201s imply for {len(expected_off)}, negative for {len(negative)}"
        + (f", {missing} users missing" if missing else "")
        + (f" (e.g. {(ledger_off + expected_off)[:5]})" if ledger_off or expected_off else ""),
    )


async def _money_conserved(conn: asyncpg.Connection, state: DropState) -> dict[str, Any]:
    row = await conn.fetchrow(
        """SELECT (SELECT COALESCE(SUM(balance), 0) FROM users) AS balances,
                  (SELECT COALESCE(SUM(amount), 0) FROM point_history WHERE type = 'CHARGE')
                      AS charges,
                  (SELECT COALESCE(SUM(amount), 0) FROM payment WHERE status = 'SUCCESS')
                      AS paid"""
    )
    balances, charges, paid = int(row["balances"]), int(row["charges"]), int(row["paid"])
    ok = charges == state.charged and balances + paid == charges
    return _check(
        "total money conserved",
        ok,
        f"charged {charges} (generator gave {state.charged}) == balances {balances} + "
        f"successful payments {paid}: {balances + paid == charges}",
    )


def _arrival_order(state: DropState) -> list[dict[str, Any]]:
    if not state.has_queue:
        return [_check("arrival order", True, "skipped: this build has no waiting room")]
    arrivals = state.arrivals
    behind = order.seen_waiting_behind(arrivals)
    stamped = [a for a in arrivals if a.admitted_at is not None]
    out_of_order = order.admitted_out_of_order(arrivals)
    went_up = order.positions_went_up(arrivals)
    admitted = sum(1 for a in arrivals if a.first_active_done is not None)
    return [
        _check(
            "admitted in arrival order (as seen by clients)",
            behind == 0,
            f"{behind} of {admitted} admitted users were seen admitted while someone who had "
            "joined before them was still seen waiting",
        ),
        _check(
            "admitted in arrival order (service admission times)",
            out_of_order == 0,
            f"{out_of_order} of {len(stamped)} admissions (active_until - TTL) came before "
            "that of someone who had joined before them",
        ),
        _check(
            "place in line never grows",
            went_up == 0,
            f"{went_up} of {len(arrivals)} users saw their position go up",
        ),
    ]
