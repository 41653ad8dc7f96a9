"""Pay: POST /payments with an Idempotency-Key for the live holds the hold scenario left."""

from __future__ import annotations

from collections import defaultdict

from bench.fixtures import User
from bench.wrk import Request, json_body

ENDPOINT = "POST /payments"


def requests(holds: list[tuple[int, int]], people: dict[int, User]) -> list[Request]:
    """`holds` are (reservation id, user id). Every owner pays one hold per turn, all of them
    taking turns together: a user's next payment comes after everyone else's, far more than
    the connections in flight, so no two payments of one user run at once (which would send
    the second down the long way, waiting on the first's lock)."""
    by_user: defaultdict[int, list[int]] = defaultdict(list)
    for reservation_id, user_id in holds:
        by_user[user_id].append(reservation_id)
    ordered: list[Request] = []
    for turn in range(max(len(held) for held in by_user.values())):
        for owner, held in by_user.items():
            if turn < len(held):
                ordered.append(_pay(held[turn], people[owner]))
    return ordered


def _pay(reservation_id: int, user: User) -> Request:
    return Request(
        "POST",
        "/api/v1/payments",
        json_body({"reservation_id": reservation_id}),
        (
            *user.headers.items(),
            ("Content-Type", "application/json"),
            ("Idempotency-Key", f"bench-pay-{reservation_id}"),
        ),
    )
