"""A TCP proxy that delays every byte by a latency the test can change while it runs: put
between the server processes and PostgreSQL or Redis, it makes a dependency slow without
touching it.

It runs its own event loop on a thread of its own, so that the test's load (many clients on the
test's loop) does not add to the delay it sets. Each direction of a connection is a reader that
stamps every chunk with the moment it is due (when it was read plus the latency of that moment)
and a writer that sends it then: the delay is a latency, not a throttle, and bytes keep their
order. Lowering the latency speeds up the chunks read after it; those already on their way keep
the delay they were given.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

CHUNK_BYTES = 65536
T = TypeVar("T")


class LatencyProxy:
    """Listens on 127.0.0.1:`port` and forwards to `upstream_host`:`upstream_port`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        # Seconds added to each direction. A float is read and written whole, so the test's
        # thread may set it while the proxy's loop reads it.
        self.latency = 0.0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @classmethod
    def for_url(cls, url: str) -> LatencyProxy:
        """A proxy in front of the server of `url` (postgresql:// or redis://)."""
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None, url
        return cls(parts.hostname, parts.port)

    def url(self, upstream_url: str) -> str:
        """`upstream_url` with the proxy's address in place of the server's."""
        parts = urlsplit(upstream_url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@" if credentials else ""
        return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{self.port}"))

    def start(self) -> LatencyProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close the listener and every connection through it, then end the loop."""
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._forward(client_in, client_out)
        except asyncio.CancelledError:
            pass  # the proxy is closing: asyncio would log a cancelled connection as an error
        finally:
            _close(client_out)
            self._connections.discard(task)

    async def _forward(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.upstream)
        except OSError:
            return  # the server is down: the client sees its connection closed
        pipes = {
            asyncio.create_task(self._pipe(client_in, server_out)),
            asyncio.create_task(self._pipe(server_in, client_out)),
        }
        try:
            # Either side closing ends the connection, as a dropped connection does.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            _close(server_out)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Copy `source` to `sink`, each chunk sent when it is due, until `source` ends or
        either side fails."""
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def read() -> None:
            with contextlib.suppress(OSError):
                while chunk := await source.read(CHUNK_BYTES):
                    due.put_nowait((loop.time() + self.latency, chunk))
            due.put_nowait((loop.time() + self.latency, b""))

        async def write() -> None:
            while True:
                when, chunk = await due.get()
                await asyncio.sleep(max(0.0, when - loop.time()))
                if not chunk:
                    break
                sink.write(chunk)
                await sink.drain()

        reader = asyncio.create_task(read())
        try:
            await write()
        except OSError:
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def _close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        writer.close()
