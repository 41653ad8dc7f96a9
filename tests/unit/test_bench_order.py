"""The benchmark's judgement of the line's order after a sale opening: a random pre-queue ahead
of later arrivals in arrival order passes, and each way of breaking that promise is caught."""

from __future__ import annotations

import random

from bench import order
from bench.order import Arrival

PRE_QUEUE = 400
LATER = 50
ADMITTED = 100
PER_SETTLE = 20  # admitted together share one admission time


def _line(shuffled: bool = True) -> tuple[list[Arrival], list[Arrival]]:
    """A line served as promised: the pre-queue in a random order (the first ADMITTED of it
    admitted, the rest told their place in the census), then the later arrivals in order."""
    pre = [Arrival(join_sent=i, join_done=i + 0.5, before_opening=True) for i in range(PRE_QUEUE)]
    drawn = list(range(PRE_QUEUE))
    if shuffled:
        random.Random(14).shuffle(drawn)
    for arrival, rank in zip(pre, drawn, strict=True):
        if rank < ADMITTED:
            arrival.admitted_at = 1_000.0 + rank // PER_SETTLE
        else:
            arrival.census_position = rank - ADMITTED + 1
    later = [Arrival(join_sent=PRE_QUEUE + i, join_done=PRE_QUEUE + i + 0.5) for i in range(LATER)]
    for n, arrival in enumerate(later):
        arrival.census_position = PRE_QUEUE - ADMITTED + 1 + n
    return pre, later


def test_a_line_served_as_promised_passes() -> None:
    pre, later = _line()

    rho = order.rank_correlation(pre)
    assert rho is not None and abs(rho) < 4 / (PRE_QUEUE - 1) ** 0.5
    assert order.rank_correlation(later) == 1.0
    assert order.placed_before_the_pre_queue(pre, later) == 0
    assert order.placed_out_of_order(later) == 0


def test_a_pre_queue_left_in_arrival_order_is_correlated() -> None:
    pre, _ = _line(shuffled=False)

    rho = order.rank_correlation(pre)
    assert rho is not None and rho > 0.99


def test_a_later_arrival_placed_ahead_of_the_pre_queue_is_caught() -> None:
    pre, later = _line()
    later[-1].census_position = 1

    assert order.placed_before_the_pre_queue(pre, later) == 1


def test_a_later_arrival_admitted_before_the_pre_queue_ran_out_is_caught() -> None:
    pre, later = _line()
    later[0].census_position = None
    later[0].admitted_at = 1_000.0

    assert order.placed_before_the_pre_queue(pre, later) == 1
    assert order.placed_out_of_order(later) == 0


def test_two_later_arrivals_swapped_are_caught_but_joins_in_flight_together_are_not() -> None:
    _, later = _line()
    first, second = later[10], later[11]
    first.census_position, second.census_position = second.census_position, first.census_position

    assert order.placed_out_of_order(later) == 1
    # Had the second join been sent before the first was answered, either order is fair.
    second.join_sent = first.join_done - 0.1
    assert order.placed_out_of_order(later) == 0


def test_admissions_in_the_same_millisecond_are_not_an_inversion() -> None:
    _, later = _line()
    for n, arrival in enumerate(later[:2]):
        arrival.census_position = None
        arrival.admitted_at = 2_000.0005 - n * 0.0005

    assert order.placed_out_of_order(later) == 0
