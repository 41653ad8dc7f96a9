"""Hold: POST /reservations of distinct seats, all in one schedule or spread over several, and
the reference's one-statement hold of the same kind of seat.

The requests go out in order over C connections. Each user holds `per_user` seats, and C users
take their turns in a block (user 1, 2, .., C, 1, 2, ..), so that the requests in flight at
any moment belong to different users: no user lock is shared, and no user piles up thousands
of live holds (which would make each further hold count more rows, a benchmark artefact)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from bench.fixtures import User
from bench.wrk import Request, json_body

ENDPOINT = "POST /reservations"
JSON = ("Content-Type", "application/json")
T = TypeVar("T")


@dataclass
class Layout:
    name: str  # "one schedule" / "20 schedules" / "reference"
    schedule_ids: list[int]
    seats: list[int]  # shuffled; a run takes them from the front
    users: list[User]

    def shuffled(self, seed: int) -> Layout:
        seats = list(self.seats)
        random.Random(seed).shuffle(seats)
        return Layout(self.name, self.schedule_ids, seats, self.users)


def in_blocks(items: Sequence[T], people: Sequence[User], width: int, per_user: int) -> list[User]:
    """The user of each item: blocks of `width` users taking turns, `per_user` items each."""
    owners: list[User] = []
    block = width * per_user
    for index in range(len(items)):
        first = (index // block) * width
        owners.append(people[(first + index % width) % len(people)])
    return owners


def requests(seats: Sequence[int], owners: Sequence[User]) -> list[Request]:
    return [
        Request(
            "POST",
            "/api/v1/reservations",
            json_body({"seat_id": seat_id}),
            (*user.headers.items(), JSON),
        )
        for seat_id, user in zip(seats, owners, strict=True)
    ]


def reference_requests(seats: Sequence[int], owners: Sequence[User]) -> list[Request]:
    return [
        Request("POST", "/reservations", json_body({"seat_id": s, "user_id": u.id}), (JSON,))
        for s, u in zip(seats, owners, strict=True)
    ]
