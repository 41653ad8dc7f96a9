"""Request metrics (Prometheus) and structured access logs, as one ASGI middleware."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "boxoffice_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "boxoffice_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

access_log = logging.getLogger("boxoffice.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            counter, histogram = _series(scope["method"], route, status)
            counter.inc()
            histogram.observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "method": scope["method"],
                            "path": scope["path"],
                            "route": route,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 2),
                        }
                    },
                )


# The labelled series of each (method, route, status) seen: `labels()` takes a lock and
# builds its key on every call. Routes are templates, so the set stays small.
_known_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    key = (method, route, status)
    found = _known_series.get(key)
    if found is None:
        found = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        _known_series[key] = found
    return found


def route_template(scope: Scope) -> str:
    """The matched route's path template, e.g. `/api/v1/concerts/{concert_id}`, so that metrics
    have one series per route, not one per id. A router included under a prefix reports only
    its own part of the template; the prefix is then the literal segments of the request path
    in front of the ones the template matched (a `{param}` never spans a slash)."""
    template = getattr(scope.get("route"), "path", None)
    if not isinstance(template, str):
        return "unmatched"
    if ":path}" in template:
        return template
    matched = len(_segments(template))
    path = _segments(scope.get("path", ""))
    if len(path) <= matched:
        return template
    prefix = "/".join(path[: len(path) - matched])
    return f"/{prefix}{template}"


def _segments(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def metrics_response(shared: Iterable[Metric] = ()) -> Response:
    """The process's metrics (added up over every worker when there are several) followed by
    `shared`: figures read from state all workers share, the same whichever worker answers."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several workers: add up what every process has written to the shared directory.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    shared_registry = CollectorRegistry(auto_describe=False)
    shared_registry.register(_Collected(list(shared)))
    body = generate_latest(registry) + generate_latest(shared_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class _Collected(Collector):
    """Metric families collected beforehand (an async read), handed to a registry."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families
