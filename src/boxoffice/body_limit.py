"""Request bodies over BOXOFFICE_MAX_BODY_BYTES are refused before they are read into memory.

A pure ASGI middleware: a declared Content-Length over the limit is answered at once, without
reading a byte of the body; a chunked body, whose length no header declares, is counted as it
streams and refused as soon as it passes the limit. A body of a declared length within the limit
goes straight through: the server hands the application no more than the length says. Either
way the application never holds more than the limit, whoever is asking, signed in or not.
"""

from __future__ import annotations

import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boxoffice.errors import PayloadTooLarge
from boxoffice.problems import PROBLEM_JSON


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _body_framing(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self.refuse(send)
            return
        if not chunked:
            # No body, or one of a declared length within the limit: the server hands the
            # application no more than the length says, so there is nothing to count.
            await self.app(scope, receive, send)
            return
        await _LimitedRequest(self, receive, send).run(scope)

    async def refuse(self, send: Send) -> None:
        error = PayloadTooLarge(
            f"The request body is larger than {self.max_body_bytes} bytes.",
            max_body_bytes=self.max_body_bytes,
        )
        body = json.dumps(error.problem()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of the body is never read, so the connection cannot be reused.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _LimitedRequest:
    """One request whose body is counted as the application reads it. Past the limit the 413
    goes out at once, the application is told the client has gone (so it stops reading), and
    whatever it tries to answer after that is dropped."""

    def __init__(self, limit: BodyLimitMiddleware, receive: Receive, send: Send) -> None:
        self.limit = limit
        self.receive = receive
        self.send = send
        self.received = 0
        self.refused = False
        self.answered = False

    async def run(self, scope: Scope) -> None:
        await self.limit.app(scope, self.counted_receive, self.guarded_send)

    async def counted_receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_body_bytes:
                self.refused = True
                if not self.answered:
                    await self.limit.refuse(self.send)
                return {"type": "http.disconnect"}
        return message

    async def guarded_send(self, message: Message) -> None:
        if not self.refused:
            self.answered = True
            await self.send(message)


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length, if any, and whether the body comes in chunks
    (Transfer-Encoding), whose total no header tells: those are counted as they arrive."""
    declared = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            # A malformed length is refused by the server itself.
            with contextlib.suppress(ValueError):
                declared = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked
