"""The checks that fail a drop: every seat sold once, every won accounted for, the line served
in the promised order (the pre-queue in a random order, then arrival order), no 5xx, and
`boxoffice audit` clean."""

from __future__ import annotations

import math
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
    census: order.Census | None  # taken once sold out


# How far from 0 the rank correlation of a random order of n may stray: 4 standard deviations
# (1 / sqrt(n - 1) each), which a fair shuffle exceeds about once in 16,000 runs.
UNRELATED_SIGMAS = 4


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
    pre = [a for a in arrivals if a.before_opening]
    later = [a for a in arrivals if not a.before_opening]
    went_up = order.positions_went_up(arrivals)
    return [
        _census(state.census),
        *_pre_queue(pre, later),
        *_later_arrivals(later),
        _check(
            "place in line never grows",
            went_up == 0,
            f"{went_up} of {len(arrivals)} users saw their position go up",
        ),
    ]


def _census(census: order.Census | None) -> dict[str, Any]:
    if census is None:
        return _check("the line stood still for the census", False, "not taken: not sold out")
    return _check(
        "the line stood still for the census",
        census.still,
        f"{census.asked} asked, {len(census.positions)} still waiting, told places "
        f"{min(census.positions, default=0)}..{max(census.positions, default=0)}; the line "
        f"had {census.waiting_before} waiting before and {census.waiting_after} after",
    )


def _pre_queue(pre: list[order.Arrival], later: list[order.Arrival]) -> list[dict[str, Any]]:
    seen = order.seen_admitted_before_the_pre_queue(pre, later)
    ahead = order.placed_before_the_pre_queue(pre, later)
    placed = order.placed_count(pre)
    rho = order.rank_correlation(pre)
    bound = UNRELATED_SIGMAS / math.sqrt(placed - 1) if placed > 1 else math.inf
    return [
        _check(
            "pre-queue ahead of later arrivals (as seen by clients)",
            seen == 0,
            f"{seen} of {len(later)} later arrivals were seen admitted while someone who joined "
            "before the opening was still seen waiting",
        ),
        _check(
            "pre-queue ahead of later arrivals (service order)",
            ahead == 0,
            f"{ahead} of {order.placed_count(later)} later arrivals were admitted or placed "
            "before someone who joined before the opening",
        ),
        _check(
            "pre-queue in an order unrelated to arrival",
            rho is not None and abs(rho) <= bound,
            f"Spearman rank correlation {'n/a' if rho is None else f'{rho:.4f}'} over {placed} "
            f"of {len(pre)} users (a random order stays within +-{bound:.3f})",
        ),
    ]


def _later_arrivals(later: list[order.Arrival]) -> list[dict[str, Any]]:
    behind = order.seen_waiting_behind(later)
    out_of_order = order.placed_out_of_order(later)
    admitted = sum(1 for a in later if a.first_active_done is not None)
    return [
        _check(
            "later arrivals in arrival order (as seen by clients)",
            behind == 0,
            f"{behind} of {admitted} admitted users were seen admitted while someone who had "
            "joined before them was still seen waiting",
        ),
        _check(
            "later arrivals in arrival order (service order)",
            out_of_order == 0,
            f"{out_of_order} of {order.placed_count(later)} users were admitted or placed before "
            "someone who had joined before them",
        ),
    ]
