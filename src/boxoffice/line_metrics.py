"""The waiting rooms in /metrics: line length and admission rate per concert.

These are read from the waiting room (Redis or the database) when /metrics is scraped, not
counted in the process: every worker reads the same shared lines, so whichever worker answers a
scrape gives the same figures, and they are never added up over workers as the counters of
`boxoffice.sales_metrics` are. Across instances, too, they are combined with `max`, not `sum`.
The label set is bounded: only concerts whose lines have people in them, the busiest
`LINES_SHOWN` of them.
"""

from __future__ import annotations

import logging

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from boxoffice.api import UNREACHABLE
from boxoffice.queue.backend import WaitingRoom

LINES_SHOWN = 20

log = logging.getLogger("boxoffice")


async def line_families(room: WaitingRoom) -> list[Metric]:
    """Gauges of the busiest lines; families without samples when the room cannot be read,
    so that a scrape during a Redis or database outage still answers with everything else."""
    waiting = _gauge("waiting", "People waiting in the concert's line")
    active = _gauge("active", "People of the concert's line admitted to buy right now")
    rate = _gauge("admitted_per_minute", "Admissions per minute the concert's line showed lately")
    oldest = _gauge("oldest_wait_seconds", "How long the longest-waiting person has waited")
    try:
        lines = await room.busiest_lines(LINES_SHOWN)
    except (*UNREACHABLE, DBAPIError, RedisError) as error:
        log.warning("metrics: the waiting room cannot be read: %s", error)
        lines = []
    for concert_id, stats in lines:
        label = [str(concert_id)]
        waiting.add_metric(label, stats.waiting)
        active.add_metric(label, stats.active)
        rate.add_metric(label, stats.admitted_per_minute)
        if stats.oldest_wait_seconds is not None:
            oldest.add_metric(label, stats.oldest_wait_seconds)
    return [waiting, active, rate, oldest]


def _gauge(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        f"boxoffice_queue_{name}",
        f"{documentation} (the {LINES_SHOWN} busiest lines)",
        labels=["concert_id"],
    )
