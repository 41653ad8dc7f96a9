"""The garbage collector's settings for a server worker.

Every open event stream keeps a few hundred container objects alive (the connection, the
request, its coroutines and tasks). With thousands of streams, CPython's default settings
(a young-generation collection every 700 allocations) promote the short-lived objects of each
burst of writes into the oldest generation, which then fills up and is walked whole every
second or two: measured with 5,000 streams on two workers (`python -m bench streams`), each
walk took 0.5-0.6 s, a third of a worker's time, and set the p99 delay of a seat change.

A young generation of 50,000 lets a burst's objects die before any collection looks at them,
so almost nothing is promoted and the full walks stop; a young collection then takes 10-17 ms.
What was loaded at start-up (modules, routes, the schema) is frozen out of every collection.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000
MIDDLE_GENERATION_THRESHOLD = 20
OLD_GENERATION_THRESHOLD = 10


def tune_for_serving() -> None:
    """Call once in a worker, after the app is built and before it serves."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(
        YOUNG_GENERATION_THRESHOLD, MIDDLE_GENERATION_THRESHOLD, OLD_GENERATION_THRESHOLD
    )
