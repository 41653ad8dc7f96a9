"""Cursor pagination: `{"items": [...], "next_cursor": ...}` with opaque cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel

from boxoffice.api import query_count
from boxoffice.errors import ValidationFailed

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: list[Any] | None
    # The list being paged (its path): its cursors name it, so that another list refuses them
    # rather than answering an arbitrary page of its own.
    list_path: str = ""

    def page(self, rows: list[T], key: Callable[[T], list[Any]]) -> Page[T]:
        """Shape `limit + 1` fetched rows into a page; the extra row only says there is more."""
        items = rows[: self.limit]
        more = len(rows) > self.limit
        cursor = encode_cursor([self.list_path, *key(items[-1])]) if more else None
        return Page[T](items=items, next_cursor=cursor)

    def after_id(self) -> int | None:
        """The id a `[id]` cursor points past."""
        if self.after is None:
            return None
        return _cursor_id(self.after[-1])

    def after_time_and_id(self) -> tuple[datetime, int] | None:
        """The (time, id) a `[iso time, id]` cursor points past."""
        if self.after is None:
            return None
        if len(self.after) != 2 or not isinstance(self.after[0], str):
            raise _bad_cursor()
        try:
            moment = datetime.fromisoformat(self.after[0])
            # A forged offset can push the moment past the calendar's ends in UTC.
            in_utc = moment.astimezone(UTC) if moment.tzinfo is not None else None
        except (ValueError, OverflowError) as error:
            raise _bad_cursor() from error
        if in_utc is None:
            raise _bad_cursor()
        return in_utc, _cursor_id(self.after[1])


def _cursor_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise _bad_cursor()
    return value


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeError) as error:
        raise _bad_cursor() from error
    if not isinstance(values, list) or not values:
        raise _bad_cursor()
    return values


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this service issued.",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
    )


def _position_in(path: str, values: list[Any]) -> list[Any]:
    """What a cursor of the list at `path` points past; refused if it belongs to another."""
    if len(values) < 2 or values[0] != path:
        raise _bad_cursor()
    return values[1:]


async def page_request(
    request: Request,
    limit: Annotated[int, query_count(1, 100, "Items per page")] = 20,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PageRequest:
    path = request.url.path
    after = _position_in(path, decode_cursor(cursor)) if cursor else None
    return PageRequest(limit=limit, after=after, list_path=path)
