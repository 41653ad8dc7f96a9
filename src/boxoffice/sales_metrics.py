"""Business metrics: what the box office did, as Prometheus counters.

Each is counted once, by the code that makes the change, after its transaction has committed
(a rolled-back sale is no sale). Label sets are fixed here, so the number of series never
grows with the data. With several workers, the counters go to the shared metrics directory
and /metrics adds them up (see `boxoffice.observability`).
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import Counter

HOLDS = Counter("boxoffice_holds_total", "Seat holds taken")
HOLD_EXPIRIES = Counter("boxoffice_hold_expiries_total", "Seat holds that ran out unpaid")
SALES = Counter("boxoffice_sales_total", "Seats sold: successful payments")
SALES_WON = Counter("boxoffice_sales_won_total", "Won taken by successful payments")
REFUNDS = Counter("boxoffice_refunds_total", "Paid bookings refunded in full", ["reason"])
REFUNDS_WON = Counter("boxoffice_refunds_won_total", "Won refunded to balances", ["reason"])
CHECKINS = Counter("boxoffice_checkins_total", "Tickets scanned at the door", ["result"])

RefundReason = Literal["customer", "show_cancelled"]
CheckinResult = Literal["admitted", "already_used", "not_found"]

# Every series exists from the start, at zero: a rate over a series that appears only with its
# first event misses that event.
for _reason in ("customer", "show_cancelled"):
    REFUNDS.labels(_reason)
    REFUNDS_WON.labels(_reason)
for _result in ("admitted", "already_used", "not_found"):
    CHECKINS.labels(_result)


def count_hold() -> None:
    HOLDS.inc()


def count_expiries(count: int) -> None:
    if count:
        HOLD_EXPIRIES.inc(count)


def count_sale(amount: int) -> None:
    SALES.inc()
    SALES_WON.inc(amount)


def count_refunds(reason: RefundReason, count: int, amount: int) -> None:
    if count:
        REFUNDS.labels(reason).inc(count)
        REFUNDS_WON.labels(reason).inc(amount)


def count_checkin(result: CheckinResult) -> None:
    CHECKINS.labels(result).inc()
