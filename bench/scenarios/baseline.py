"""Baseline: C clients reading one concert, GET /concerts/{id}, as fast as it answers."""

from __future__ import annotations

from bench.http import ClientPool
from bench.stats import Recorder
from bench.steady import Step

ENDPOINT = "GET /concerts/{id}"


def steps(http: ClientPool, concert_id: int, concurrency: int) -> list[Step]:
    url = f"/concerts/{concert_id}"

    async def step(recorder: Recorder) -> bool:
        await http.call(recorder, ENDPOINT, "GET", url)
        return True

    return [step] * concurrency
