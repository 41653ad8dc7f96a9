"""What the pages read from a visitor: typed numbers and the time-zone cookie."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from starlette.requests import Request

from boxoffice.web.forms import local_time, whole_number
from boxoffice.web.i18n import TIME_ZONE_COOKIE, time_zone_of


@pytest.mark.parametrize(
    ("typed", "read"),
    [("50000", 50_000), ("50,000", 50_000), (" 50 000 ", 50_000), ("1_000", 1_000), ("0", None)],
)
def test_a_whole_number_is_read_the_ways_people_write_it(typed: str, read: int | None) -> None:
    assert whole_number(typed, 1, 10**9) == read


@pytest.mark.parametrize("typed", ["²", "1²", "\u0663", "\uff19\uff19", "-5", "1.5", "", "1" * 16])
def test_anything_but_ascii_digits_is_not_a_number(typed: str) -> None:
    assert whole_number(typed, 0, 10**18) is None


def _request(cookie: str | None) -> Request:
    headers = [] if cookie is None else [(b"cookie", cookie.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("cookie", "zone"),
    [
        # As the pages' script writes it: percent-encoded, since "/" may not stand in a cookie.
        (f"{TIME_ZONE_COOKIE}=Europe%2FBerlin", "Europe/Berlin"),
        (
            f"{TIME_ZONE_COOKIE}=America%2FArgentina%2FBuenos_Aires",
            "America/Argentina/Buenos_Aires",
        ),
        (f"{TIME_ZONE_COOKIE}=UTC", "UTC"),
        (f"{TIME_ZONE_COOKIE}=Mars%2FOlympus", "Asia/Seoul"),
        (f"{TIME_ZONE_COOKIE}=..%2F..%2Fetc%2Fpasswd", "Asia/Seoul"),
        (None, "Asia/Seoul"),
    ],
)
def test_the_visitors_zone_comes_from_the_cookie_the_script_writes(
    cookie: str | None, zone: str
) -> None:
    assert time_zone_of(_request(cookie)) == ZoneInfo(zone)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("2031-05-01T20:00", datetime(2031, 5, 1, 11, 0, tzinfo=UTC)),
        ("2031-05-01T20:00:30", datetime(2031, 5, 1, 11, 0, 30, tzinfo=UTC)),
        ("0001-01-01T00:00", None),  # before the calendar's start in UTC
        ("9999-12-31T23:59", None),  # past the latest time a show may have
        ("tomorrow", None),
    ],
)
def test_a_local_time_is_read_in_the_visitors_zone(typed: str, read: datetime | None) -> None:
    assert local_time(typed, ZoneInfo("Asia/Seoul")) == read
