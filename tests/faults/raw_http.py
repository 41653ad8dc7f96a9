"""A bare HTTP/1.1 client on asyncio streams: one keep-alive connection, one request at a time.

For loads of hundreds of connections from one test process: httpx's connection pool spends
time per request that grows with the requests waiting on it, and with a few hundred of them the
test's own client, not the service, sets the latency it measures. This costs tens of
microseconds a request. It speaks only what the service answers: a `Content-Length` body.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        """The problem-details `code` of an error (None for a success)."""
        if self.status < 400:
            return None
        found: str | None = self.json().get("code")
        return found


class Connection:
    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname is not None and parts.port is not None, base_url
        self.host, self.port, self.prefix = parts.hostname, parts.port, parts.path
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> Answer:
        """Send one request and read its answer; a connection the server closed is opened
        again for the next request."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [
            f"{method} {self.prefix}{path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(payload)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            answer_headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in header_lines if line)
            }
            content = await reader.readexactly(int(answer_headers["content-length"]))
        except BaseException:
            self.close()
            raise
        if answer_headers.get("connection", "").lower() == "close":
            self.close()
        return Answer(int(status_line.split()[1]), answer_headers, content)

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None
