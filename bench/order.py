"""First come, first served, judged from what the clients saw.

Requests overlap, so the client cannot know the service's order of two joins that were in
flight at the same time. It does know it when one join had been answered before the other was
sent: then the first user is ahead, and must never be seen still waiting after the second was
seen admitted. The checks below only compare such pairs, so any violation they report is real.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Arrival:
    """One user's trip through the line, on the load generator's monotonic clock (seconds),
    except `admitted_at`, the service's own admission time (epoch seconds) derived from
    `active_until`."""

    join_sent: float
    join_done: float
    last_waiting_sent: float | None = None  # latest request answered WAITING
    first_active_done: float | None = None  # earliest answer that said ACTIVE
    admitted_at: float | None = None
    positions: list[int] = field(default_factory=list)  # every WAITING position seen, in order


def _ahead(arrivals: Sequence[Arrival]) -> tuple[list[float], list[int]]:
    """Join completion times in ascending order, and the indexes of the arrivals in that order."""
    order = sorted(range(len(arrivals)), key=lambda i: arrivals[i].join_done)
    return [arrivals[i].join_done for i in order], order


def seen_waiting_behind(arrivals: Sequence[Arrival]) -> int:
    """How many users were seen admitted while someone surely ahead of them (joined, and was
    answered, before they sent their join) was still seen waiting afterwards."""
    done, order = _ahead(arrivals)
    prefix_latest_wait: list[float] = []
    latest = -math.inf
    for i in order:
        seen = arrivals[i].last_waiting_sent
        latest = max(latest, seen if seen is not None else -math.inf)
        prefix_latest_wait.append(latest)
    violations = 0
    for b in arrivals:
        if b.first_active_done is None:
            continue
        ahead = bisect.bisect_left(done, b.join_sent)
        if ahead and prefix_latest_wait[ahead - 1] > b.first_active_done:
            violations += 1
    return violations


def admitted_out_of_order(arrivals: Sequence[Arrival]) -> int:
    """How many admitted users the service admitted (by its own clock) before someone surely
    ahead of them who was also admitted."""
    done, order = _ahead(arrivals)
    prefix_latest_admission: list[float] = []
    latest = -math.inf
    for i in order:
        stamp = arrivals[i].admitted_at
        latest = max(latest, stamp if stamp is not None else -math.inf)
        prefix_latest_admission.append(latest)
    violations = 0
    for b in arrivals:
        if b.admitted_at is None:
            continue
        ahead = bisect.bisect_left(done, b.join_sent)
        # A millisecond of slack for the rounding of active_until.
        if ahead and prefix_latest_admission[ahead - 1] > b.admitted_at + 0.001:
            violations += 1
    return violations


def positions_went_up(arrivals: Sequence[Arrival]) -> int:
    """Users whose place in line ever grew: someone was put in front of them."""
    return sum(
        1
        for a in arrivals
        if any(b > a for a, b in zip(a.positions, a.positions[1:], strict=False))
    )


def inversion_share(keys_in_join_order: Sequence[float]) -> float:
    """Share of pairs whose order differs from join order (0 = same order, 0.5 = unrelated).
    Used for the first-seen-ACTIVE order, which polling blurs, so it is informative only."""
    n = len(keys_in_join_order)
    if n < 2:
        return 0.0
    ranks = {v: r for r, v in enumerate(sorted(set(keys_in_join_order)))}
    tree = [0] * (len(ranks) + 1)
    inversions = 0
    for seen, value in enumerate(keys_in_join_order):
        r = ranks[value] + 1
        # How many earlier values are greater than this one.
        not_greater, i = 0, r
        while i:
            not_greater += tree[i]
            i -= i & -i
        inversions += seen - not_greater
        i = r
        while i < len(tree):
            tree[i] += 1
            i += i & -i
    return inversions / (n * (n - 1) / 2)
