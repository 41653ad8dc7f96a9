"""Cursors are opaque to clients, round-trip exactly, and anything not issued here is refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.requests import Request

from boxoffice.errors import ValidationFailed
from boxoffice.pagination import PageRequest, decode_cursor, encode_cursor, page_request


@pytest.mark.parametrize(
    "values", [[1], [2**63 - 1], ["2031-05-01T19:00:00+00:00", 42], ["\u00e9\u00e8", None]]
)
def test_cursors_round_trip(values: list[Any]) -> None:
    cursor = encode_cursor(values)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == values


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "a",
        _b64(b"not json"),
        _b64(b"\xff\xfe"),
        _b64(b"{}"),
        _b64(b'{"id": 1}'),
        _b64(b"[]"),
        _b64(b"3"),
        _b64(b"null"),
    ],
)
def test_garbage_cursors_are_validation_errors(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(cursor)
    problem = caught.value.problem()
    assert problem["status"] == 422 and problem["code"] == "VALIDATION_ERROR"
    assert problem["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("value", [0, -1, 2**63, 1.5, "1", True, None, [1]])
def test_an_id_cursor_needs_a_positive_64_bit_integer(value: Any) -> None:
    with pytest.raises(ValidationFailed):
        PageRequest(limit=10, after=[value]).after_id()


def test_an_id_cursor_gives_its_id() -> None:
    assert PageRequest(limit=10, after=None).after_id() is None
    assert PageRequest(limit=10, after=decode_cursor(encode_cursor([7]))).after_id() == 7


@pytest.mark.parametrize(
    "after",
    [
        [5],
        ["2031-05-01T19:00:00+00:00"],
        ["2031-05-01T19:00:00", 5],
        ["yesterday", 5],
        [1234567890, 5],
        ["2031-05-01T19:00:00+00:00", "5"],
        ["2031-05-01T19:00:00+00:00", 5, 6],
        ["9999-12-31T23:59:59-05:00", 5],
        ["0001-01-01T00:00:00+05:00", 5],
    ],
)
def test_a_time_and_id_cursor_is_checked(after: list[Any]) -> None:
    with pytest.raises(ValidationFailed):
        PageRequest(limit=10, after=after).after_time_and_id()


def test_a_time_and_id_cursor_gives_the_moment_in_utc() -> None:
    moment = datetime(2031, 5, 1, 19, tzinfo=UTC)
    request = PageRequest(limit=10, after=["2031-05-02T04:00:00+09:00", 9])
    after = request.after_time_and_id()
    assert after == (moment, 9)
    assert after is not None and after[0].utcoffset() == timedelta(0)


def test_a_page_has_a_cursor_only_when_there_is_more() -> None:
    request = PageRequest(limit=2, after=None, list_path="/api/v1/things")
    full = request.page([1, 2, 3], key=lambda n: [n])
    assert full.items == [1, 2]
    assert full.next_cursor is not None
    assert decode_cursor(full.next_cursor) == ["/api/v1/things", 2]
    last = request.page([1, 2], key=lambda n: [n])
    assert last.items == [1, 2] and last.next_cursor is None
    assert request.page([], key=lambda n: [n]).next_cursor is None


def _request(path: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": []})


async def test_page_request_takes_only_its_own_lists_cursor() -> None:
    things, others = _request("/api/v1/things"), _request("/api/v1/others")
    assert await page_request(things, limit=5, cursor=None) == PageRequest(
        limit=5, after=None, list_path="/api/v1/things"
    )
    mine = encode_cursor(["/api/v1/things", 3])
    assert (await page_request(things, limit=5, cursor=mine)).after == [3]
    for foreign in (mine, encode_cursor([3]), encode_cursor(["/api/v1/things"]), "%%%"):
        with pytest.raises(ValidationFailed):
            await page_request(others if foreign == mine else things, limit=5, cursor=foreign)
