"""The service under test: a fresh PostgreSQL database, an empty Redis database, and
`boxoffice serve --workers N` on a free port, always torn down again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "boxoffice_bench"
DATABASE_URL = f"postgresql://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = "redis://127.0.0.1:6379/12"
ADMIN_KEY = "bench-admin-key"
JWT_SECRET = "bench-jwt-secret-0123456789-0123456789-0123456789"
REPOSITORY = Path(__file__).resolve().parent.parent
# PostgreSQL connections each worker keeps, for the service and the reference app alike: small
# enough that both fit in PostgreSQL's 100 connections beside everything else on the machine,
# and plenty for two cores.
POOL_SIZE = 10


@dataclass
class Server:
    base_url: str  # ends with /api/v1
    root_url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path
    settings: dict[str, str] = field(default_factory=dict)

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor), or the supervisor itself
        when it serves alone."""
        children = _children(self.process.pid)
        return children or [self.process.pid]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def reset_database() -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await conn.close()


async def reset_redis() -> None:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def service_env(settings: Mapping[str, object]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    env.update(
        {
            "BOXOFFICE_DATABASE_URL": DATABASE_URL,
            "BOXOFFICE_REDIS_URL": REDIS_URL,
            "BOXOFFICE_ADMIN_KEY": ADMIN_KEY,
            "BOXOFFICE_JWT_SECRET": JWT_SECRET,
            "BOXOFFICE_LOG_LEVEL": "WARNING",
            "BOXOFFICE_DB_POOL_SIZE": str(POOL_SIZE),
            # Argon2id at its cheapest: the benchmark measures booking, not password hashing.
            "BOXOFFICE_PASSWORD_TIME_COST": "1",
            "BOXOFFICE_PASSWORD_MEMORY_KIB": "8",
            "BOXOFFICE_PASSWORD_PARALLELISM": "1",
            # The load generator is one address making a crowd's sign-ups, joins and holds.
            "BOXOFFICE_RATE_LIMIT_AUTH": "1000000/second",
            "BOXOFFICE_RATE_LIMIT_JOIN": "1000000/second",
            "BOXOFFICE_RATE_LIMIT_HOLD": "1000000/second",
        }
    )
    env.update({f"BOXOFFICE_{key.upper()}": str(value) for key, value in settings.items()})
    return env


def boxoffice_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "boxoffice", *args]


async def migrate() -> None:
    """What `boxoffice db upgrade` does, run in this process to spare a Python start-up."""
    from boxoffice.migrate import upgrade

    await asyncio.to_thread(upgrade, DATABASE_URL)


async def run_audit(env: dict[str, str]) -> tuple[bool, str]:
    """`boxoffice audit` as a subprocess: (passed, what it printed)."""
    process = await asyncio.create_subprocess_exec(
        *boxoffice_command("audit"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode == 0, output.decode(errors="replace")


async def _wait_until_ready(server: Server, within: float = 60, path: str = "/readyz") -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {server.process.returncode}; "
                    f"see {server.log_path}:\n{_tail(server.log_path)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{server.root_url}{path}")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the server did not become ready in {within} s")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole process group (supervisor and workers)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _spawn(env: dict[str, str], command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            env=env,
            cwd=REPOSITORY,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that we can stop all of it
        )


@asynccontextmanager
async def running_service(
    settings: Mapping[str, object], workers: int, log_dir: Path
) -> AsyncIterator[Server]:
    """A fresh database and Redis, migrated, and a server on them; stopped on the way out."""
    await reset_database()
    await reset_redis()
    env = service_env(settings)
    await migrate()
    port = free_port()
    log_path = log_dir / f"server-{port}.log"
    command = boxoffice_command(
        "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)
    )
    process = _spawn(env, command, log_path)
    root = f"http://127.0.0.1:{port}"
    server = Server(
        base_url=f"{root}/api/v1",
        root_url=root,
        process=process,
        env=env,
        log_path=log_path,
        settings={key: str(value) for key, value in settings.items()},
    )
    try:
        await _wait_until_ready(server)
        yield server
    finally:
        _stop(process)


@asynccontextmanager
async def running_reference(workers: int, log_dir: Path) -> AsyncIterator[Server]:
    """The reference app (`bench/reference/app.py`) on the benchmark's database, under uvicorn
    with uvloop and httptools and the service's number of workers. The database must be set up
    already: it runs beside the service, on the service's schema."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    env["REFERENCE_DATABASE_URL"] = DATABASE_URL
    env["REFERENCE_POOL_SIZE"] = str(POOL_SIZE)
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.reference.app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log_path = log_dir / f"reference-{port}.log"
    process = _spawn(env, command, log_path)
    root = f"http://127.0.0.1:{port}"
    server = Server(base_url=root, root_url=root, process=process, env=env, log_path=log_path)
    try:
        await _wait_until_ready(server, path="/docs")
        yield server
    finally:
        _stop(process)
