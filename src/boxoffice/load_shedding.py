"""At most BOXOFFICE_MAX_REQUESTS_IN_FLIGHT requests at once per process; past that, an
immediate `503 SERVICE_UNAVAILABLE` with `Retry-After`.

A process with more requests than it can serve only makes every one of them wait longer: each
new one queues behind the others for the database pool and the event loop, until clients time
out on answers the process still works on. Refusing the surplus at the door keeps the latency of
the requests it takes bounded (about the limit divided by the rate the process serves at), and a
refusal costs next to nothing. The count is a plain integer: one event loop per process, so no
lock.

Health checks, metrics and event streams are not counted: a load balancer or a monitor must
still reach an overloaded process, and a stream is held open for minutes, waiting, not working.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from boxoffice.errors import ServiceUnavailable
from boxoffice.problems import PROBLEM_JSON

UNCOUNTED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
STREAM_SUFFIX = "/events"


class LoadSheddingMiddleware:
    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        refusal = ServiceUnavailable(
            "The service is at capacity; nothing was changed. Try again after Retry-After seconds."
        )
        body = json.dumps(refusal.problem(), separators=(",", ":")).encode()
        # Built once: a refusal must cost less than the request it turns away.
        self._start = {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *(
                    (name.lower().encode(), value.encode())
                    for name, value in refusal.headers().items()
                ),
            ],
        }
        self._body = {"type": "http.response.body", "body": body}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _uncounted(scope["path"]):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await send(self._start)
            await send(self._body)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def _uncounted(path: str) -> bool:
    return path in UNCOUNTED_PATHS or path.endswith(STREAM_SUFFIX)
