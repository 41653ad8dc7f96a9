"""The order of the line, judged from what the clients saw.

Whoever joins before the sale opens is put in one random order at the opening; whoever joins
after it goes behind them, in arrival order. A join's answer says on which side of the opening
it landed (`opens_at` is set before it), so the two groups are known exactly.

Requests overlap, so the client cannot know the service's order of two joins that were in
flight at the same time. It does know it when one join had been answered before the other was
sent: then the first user is ahead. The arrival-order checks below only compare such pairs, so
any violation they report is real.

The service's order itself is read from two things it says: the admission time of everyone it
admitted (`active_until` minus the admission's length), and, for everyone still waiting once
every seat is sold, the place each is told in a census taken while the line stands still
(nobody pays, leaves or is admitted meanwhile). The admitted come before the waiting.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Arrival:
    """One user's trip through the line, on the load generator's monotonic clock (seconds),
    except `admitted_at`, the service's own admission time (epoch seconds) derived from
    `active_until`."""

    join_sent: float
    join_done: float
    before_opening: bool = False  # the join was answered before the sale opened
    last_waiting_sent: float | None = None  # latest request answered WAITING
    first_active_done: float | None = None  # earliest answer that said ACTIVE
    admitted_at: float | None = None
    positions: list[int] = field(default_factory=list)  # every WAITING position seen, in order
    census_position: int | None = None  # place told in the census, once every seat was sold


@dataclass
class Census:
    """Everyone still waiting once every seat is sold, asked for their place. Nobody pays any
    more and nobody leaves before it is over, so the line stands still and the places told are
    one snapshot of the order the service would go on admitting in."""

    asked: int
    waiting_before: int  # the line's waiting count (operator's view) before and after
    waiting_after: int
    positions: list[int]  # the places told to those still waiting

    @property
    def still(self) -> bool:
        """The line did not move while it was taken, and everyone in it was asked."""
        return self.waiting_before == self.waiting_after and sorted(self.positions) == list(
            range(1, self.waiting_before + 1)
        )


# A place in the service's order: (0, admission time) for the admitted, who all come before
# (1, census position) for those still waiting when every seat was sold.
Place = tuple[int, float]
# active_until is given to the millisecond.
ADMISSION_SLACK = 0.001


def place(arrival: Arrival) -> Place | None:
    """Where the service put this user; None when it never said (left early, say)."""
    if arrival.admitted_at is not None:
        return (0, arrival.admitted_at)
    if arrival.census_position is not None:
        return (1, float(arrival.census_position))
    return None


def surely_before(a: Place, b: Place) -> bool:
    """Whether place `a` comes before `b` beyond the rounding of admission times."""
    if a[0] != b[0]:
        return a[0] < b[0]
    return a[1] + (ADMISSION_SLACK if a[0] == 0 else 0.0) < b[1]


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


def placed_out_of_order(arrivals: Sequence[Arrival]) -> int:
    """How many users the service placed (admitted, or told a census place) before someone
    surely ahead of them."""
    placed = [a for a in arrivals if place(a) is not None]
    done, order = _ahead(placed)
    prefix_last: list[Place] = []
    last: Place = (-1, -math.inf)
    for i in order:
        last = max(last, place(placed[i]) or last)
        prefix_last.append(last)
    violations = 0
    for b in placed:
        ahead = bisect.bisect_left(done, b.join_sent)
        mine = place(b)
        if ahead and mine is not None and surely_before(mine, prefix_last[ahead - 1]):
            violations += 1
    return violations


def placed_before_the_pre_queue(pre_queue: Sequence[Arrival], later: Sequence[Arrival]) -> int:
    """How many later arrivals the service placed before someone who joined before the opening."""
    last = max((p for a in pre_queue if (p := place(a)) is not None), default=None)
    if last is None:
        return 0
    return sum(1 for a in later if (p := place(a)) is not None and surely_before(p, last))


def seen_admitted_before_the_pre_queue(
    pre_queue: Sequence[Arrival], later: Sequence[Arrival]
) -> int:
    """How many later arrivals were seen admitted while someone who joined before the opening
    was still seen waiting afterwards."""
    waits = [a.last_waiting_sent for a in pre_queue if a.last_waiting_sent is not None]
    latest_wait = max(waits, default=-math.inf)
    return sum(
        1 for a in later if a.first_active_done is not None and a.first_active_done < latest_wait
    )


def positions_went_up(arrivals: Sequence[Arrival]) -> int:
    """Users whose place in line ever grew: someone was put in front of them."""
    return sum(
        1
        for a in arrivals
        if any(b > a for a, b in zip(a.positions, a.positions[1:], strict=False))
    )


def _ranks(values: Sequence[Place] | Sequence[float]) -> list[float]:
    """Rank of each value (0-based); tied values share the average of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2
        start = end + 1
    return ranks


def rank_correlation(arrivals: Sequence[Arrival]) -> float | None:
    """Spearman's rank correlation between arrival order (join answered) and the service's
    order, over the users it placed: 1 for the same order, about 0 for unrelated ones (for a
    random order of n, spread about 1 / sqrt(n - 1)). None for fewer than two."""
    placed = [(a.join_done, p) for a in arrivals if (p := place(a)) is not None]
    if len(placed) < 2:
        return None
    try:
        return statistics.correlation(
            _ranks([done for done, _ in placed]), _ranks([p for _, p in placed])
        )
    except statistics.StatisticsError:  # every place tied: no order to speak of
        return None


def placed_count(arrivals: Sequence[Arrival]) -> int:
    return sum(1 for a in arrivals if place(a) is not None)
