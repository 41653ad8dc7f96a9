"""A PostgreSQL cluster and a redis-server of the fault tests' own, on free ports in temporary
directories: the tests stop, kill and restart them, which they must never do to the shared ones
every other test runs on."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import redis

from tests import backends
from tests.servers import _free_port as free_port

ShutdownMode = Literal["smart", "fast", "immediate"]


def _newest_postgres_bin() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    found = shutil.which("initdb")
    if candidates:
        return Path(candidates[-1]).parent
    if found is not None:
        return Path(found).parent
    backends.unavailable("initdb", "no PostgreSQL server binaries installed")
    raise AssertionError("unreachable")


def _wait_for(check: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError("service did not come up")
        time.sleep(0.05)


class PostgresCluster:
    """A throwaway PostgreSQL cluster: trust authentication, no fsync (its data is worthless
    once the test ends; what matters is how the service meets its restarts)."""

    def __init__(self) -> None:
        self.bin = _newest_postgres_bin()
        # PostgreSQL refuses to run as root: the cluster belongs to `postgres` then, and lives
        # outside pytest's own temporary directory, which only root may enter.
        self.as_root = os.geteuid() == 0
        self.home = Path(tempfile.mkdtemp(prefix="boxoffice-faults-pg-"))
        self.data = self.home / "data"
        self.port = free_port()
        if self.as_root:
            shutil.chown(self.home, user="postgres", group="postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.home}",
                "-c fsync=off",
                "-c full_page_writes=off",
                "-c max_connections=100",
            ]
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.home / "log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: ShutdownMode = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self, name: str) -> None:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)

    def remove(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)


class RedisServer:
    """A redis-server of its own; `appendonly` as docs/deployment.md recommends, or no
    persistence at all."""

    def __init__(self, appendonly: bool) -> None:
        found = shutil.which("redis-server")
        if found is None:
            backends.unavailable("redis-server", "not on PATH")
        assert found is not None
        self.binary = found
        self.appendonly = appendonly
        self.home = Path(tempfile.mkdtemp(prefix="boxoffice-faults-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        if not self.appendonly:
            persistence = ["--appendonly", "no"]
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.home), "--save", "", *persistence),
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_for(lambda: redis.Redis(port=self.port).ping())

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): with append-only persistence, everything written is
        on disk when it returns."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
