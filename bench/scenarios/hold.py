"""Hold: C clients holding distinct seats, POST /reservations, either all in one schedule or
spread over several. Every client uses a fresh user every `holds_per_user` holds."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from bench.fixtures import User
from bench.http import ClientPool
from bench.stats import Recorder
from bench.steady import Step

ENDPOINT = "POST /reservations"


@dataclass
class Layout:
    name: str  # "one schedule" / "20 schedules"
    schedule_ids: list[int]
    seats: list[int]  # shuffled; handed out from the end, each seat once

    def next_seat(self) -> int | None:
        return self.seats.pop() if self.seats else None


def layout(name: str, schedule_ids: list[int], seats: list[int], seed: int) -> Layout:
    shuffled = list(seats)
    random.Random(seed).shuffle(shuffled)
    return Layout(name, schedule_ids, shuffled)


def steps(
    http: ClientPool,
    where: Layout,
    people: Iterator[User],
    concurrency: int,
    holds_per_user: int,
) -> list[Step]:
    def one_client() -> Step:
        user: User | None = None
        held = 0

        async def step(recorder: Recorder) -> bool:
            nonlocal user, held
            seat_id = where.next_seat()
            if seat_id is None:
                return False
            if user is None or held >= holds_per_user:
                user = next(people, None)
                held = 0
                if user is None:
                    return False
            held += 1
            await http.call(
                recorder,
                ENDPOINT,
                "POST",
                "/reservations",
                json={"seat_id": seat_id},
                headers=user.headers,
            )
            return True

        return step

    return [one_client() for _ in range(concurrency)]
