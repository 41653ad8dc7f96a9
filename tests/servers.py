"""Real server processes for the multi-process tests: several `boxoffice serve` on one database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

import httpx

from tests.conftest import (
    ADMIN_KEY,
    CHEAP_PASSWORD_HASHING,
    JWT_SECRET,
    RAISED_IN_FLIGHT_LIMIT,
    RAISED_RATE_LIMITS,
)


class Server(str):
    """A server's API base URL that also knows its process (to kill it, say)."""

    process: subprocess.Popen[bytes]

    def __new__(cls, url: str, process: subprocess.Popen[bytes]) -> Server:
        server = super().__new__(cls, url)
        server.process = process
        return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Generous: on a busy 2-core machine, starting several processes next to a browser has taken
# over 30 s. Only a server that never comes up waits this long.
def _wait_until_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server {base} exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server {base} did not become ready")


@contextmanager
def running_servers(database_url: str, count: int = 2, **settings: Any) -> Iterator[list[Server]]:
    """Start `count` server processes; yields their API base URLs. Keyword arguments become
    BOXOFFICE_* environment variables."""
    env = {
        **os.environ,
        "BOXOFFICE_DATABASE_URL": database_url,
        "BOXOFFICE_ADMIN_KEY": ADMIN_KEY,
        "BOXOFFICE_JWT_SECRET": JWT_SECRET,
        "BOXOFFICE_LOG_LEVEL": "WARNING",
        **{
            f"BOXOFFICE_{key.upper()}": str(value)
            for key, value in {
                **CHEAP_PASSWORD_HASHING,
                **RAISED_RATE_LIMITS,
                **RAISED_IN_FLIGHT_LIMIT,
                **SLOW_MACHINE_KEEP_ALIVE,
                **settings,
            }.items()
        },
    }
    processes: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for _ in range(count):
            port = _free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "boxoffice", "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
            )
            processes.append(process)
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            _wait_until_ready(base, process)
        yield [
            Server(f"{base}/api/v1", process)
            for base, process in zip(bases, processes, strict=True)
        ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


# uvicorn closes a connection idle for 5 s, and httpx keeps one for 5 s too: a request sent on a
# connection at that very moment meets a closed socket ("Server disconnected without sending a
# response"). A client must let go of an idle connection well before the server does.
_CLIENT_KEEPALIVE_SECONDS = 1.0
# On a loaded machine a server's event loop can stall for seconds; when it resumes, its
# keep-alive timer may close a connection the client has just sent a request on. The test
# servers keep idle connections far longer than the clients do.
SLOW_MACHINE_KEEP_ALIVE = {"keep_alive_seconds": 60}


@asynccontextmanager
async def clients_for(
    bases: Sequence[str], request_timeout: float = 60
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One HTTP client per server process."""
    limits = httpx.Limits(
        max_connections=200,
        max_keepalive_connections=200,
        keepalive_expiry=_CLIENT_KEEPALIVE_SECONDS,
    )
    async with AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, timeout=request_timeout, limits=limits)
            )
            for base in bases
        ]
