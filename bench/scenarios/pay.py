"""Pay: POST /payments with an Idempotency-Key for the live holds the hold scenario left,
their owners taking turns the way they did when holding."""

from __future__ import annotations

from collections import defaultdict

from bench.fixtures import User
from bench.wrk import Request, json_body

ENDPOINT = "POST /payments"


def requests(holds: list[tuple[int, int]], people: dict[int, User], width: int) -> list[Request]:
    """`holds` are (reservation id, user id); users take turns in blocks of `width`."""
    by_user: defaultdict[int, list[int]] = defaultdict(list)
    for reservation_id, user_id in holds:
        by_user[user_id].append(reservation_id)
    users = list(by_user)
    ordered: list[Request] = []
    for first in range(0, len(users), width):
        block = [by_user[u] for u in users[first : first + width]]
        for turn in range(max(len(b) for b in block)):
            for owner, held in zip(users[first : first + width], block, strict=True):
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
