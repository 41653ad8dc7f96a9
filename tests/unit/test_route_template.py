"""Metric labels: one per route template, whatever prefix the router was included under."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from boxoffice.observability import route_template


def scope(path: str, template: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "http", "path": path}
    if template is not None:
        found["route"] = SimpleNamespace(path=template)
    return found


@pytest.mark.parametrize(
    ("path", "template", "label"),
    [
        ("/api/v1/concerts/5", "/concerts/{concert_id}", "/api/v1/concerts/{concert_id}"),
        ("/api/v1/concerts", "/concerts", "/api/v1/concerts"),
        ("/api/v1/concerts/5", "/api/v1/concerts/{concert_id}", "/api/v1/concerts/{concert_id}"),
        ("/healthz", "/healthz", "/healthz"),
        ("/", "/", "/"),
        ("/static/a/b/c", "/static/{rest:path}", "/static/{rest:path}"),
        ("/nothing/here", None, "unmatched"),
    ],
)
def test_labels(path: str, template: str | None, label: str) -> None:
    assert route_template(scope(path, template)) == label
