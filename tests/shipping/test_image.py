"""The image's commands, run as plain processes: what `docker compose up` would start.

The Dockerfile's ENTRYPOINT and CMD, compose's migrate command and the HEALTHCHECK run here
with the environment compose.yaml gives, pointed at the test PostgreSQL and Redis instead of
the compose services, and on a free port instead of 8000.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import _free_port, _wait_until_ready
from tests.shipping import deployment
from tests.shipping.deployment import PRODUCTION_ADMIN_KEY, PRODUCTION_JWT_SECRET


def as_process(command: list[str]) -> list[str]:
    """The image runs `boxoffice` and `python` from its environment; here, this interpreter's."""
    program = {"boxoffice": [sys.executable, "-m", "boxoffice"], "python": [sys.executable]}
    return [*program[command[0]], *command[1:]]


def compose_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment compose gives the instances, with the test's database, Redis and
    secrets where compose reads them from `.env` or names its own services."""
    instance = next(iter(deployment.serving_services().values()))
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    for key, value in instance["environment"].items():
        if not deployment.interpolated(value):
            env[key] = value
    env |= {
        "BOXOFFICE_DATABASE_URL": database_url,
        "BOXOFFICE_REDIS_URL": redis_url,
        "BOXOFFICE_JWT_SECRET": PRODUCTION_JWT_SECRET,
        "BOXOFFICE_ADMIN_KEY": PRODUCTION_ADMIN_KEY,
        "BOXOFFICE_LOG_LEVEL": "WARNING",
    }
    return env


def on_port(command: list[str], port: int) -> list[str]:
    """The command with the image's port 8000 replaced, and bound to loopback only."""
    replaced = [part.replace("8000", str(port)) for part in command]
    return ["127.0.0.1" if part == "0.0.0.0" else part for part in replaced]


@pytest.fixture(scope="module")
def image_server(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, subprocess.Popen[bytes], dict[str, str]]]:
    """One server for the module (starting two workers is slow); the last test stops it."""
    tmp_path = tmp_path_factory.mktemp("image")
    env = compose_environment(postgres_url, redis_url)
    migrate = deployment.services()["migrate"]["command"]
    entrypoint = deployment.dockerfile_instruction("ENTRYPOINT")
    upgraded = subprocess.run(
        as_process([*entrypoint, *migrate]), env=env, cwd=tmp_path, capture_output=True, timeout=120
    )
    assert upgraded.returncode == 0, upgraded.stderr
    port = _free_port()
    command = on_port([*entrypoint, *deployment.dockerfile_instruction("CMD")], port)
    process = subprocess.Popen(as_process(command), env=env, cwd=tmp_path)
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", process, timeout=120)
        yield port, process, env
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def healthcheck(port: int, env: dict[str, str]) -> int:
    command = on_port(deployment.dockerfile_instruction("HEALTHCHECK"), port)
    return subprocess.run(as_process(command), env=env, capture_output=True, timeout=30).returncode


def get_healthz(connection: socket.socket) -> bytes:
    """Send one request on the connection and read its whole answer; the status line."""
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: boxoffice\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(4096)
    head, body = received.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(4096)
    return head.split(b"\r\n", 1)[0]


def test_an_idle_connection_outlives_the_proxys_idle_timeout(
    image_server: tuple[int, subprocess.Popen[bytes], dict[str, str]],
) -> None:
    """With compose's BOXOFFICE_KEEP_ALIVE_SECONDS, a connection idle for longer than uvicorn's
    default 5 s is still open: the setting reaches the server."""
    port, _, _ = image_server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        assert get_healthz(connection) == b"HTTP/1.1 200 OK"
        connection.settimeout(6.5)
        # Nothing arrives, and the server does not close the connection meanwhile.
        with pytest.raises(TimeoutError):
            connection.recv(1)
        connection.settimeout(10)
        assert get_healthz(connection) == b"HTTP/1.1 200 OK"


def test_the_image_commands_serve_and_the_healthcheck_follows_them(
    image_server: tuple[int, subprocess.Popen[bytes], dict[str, str]],
) -> None:
    port, process, env = image_server
    assert healthcheck(port, env) == 0
    process.terminate()
    process.wait(timeout=15)
    assert healthcheck(port, env) != 0


def test_a_short_keep_alive_closes_idle_connections(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOXOFFICE_")}
    env |= {"BOXOFFICE_KEEP_ALIVE_SECONDS": "1", "BOXOFFICE_LOG_LEVEL": "WARNING"}
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", process, timeout=120)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            assert get_healthz(connection) == b"HTTP/1.1 200 OK"
            connection.settimeout(4)
            # Closed by the server after about 1 s, well before uvicorn's default 5 s.
            assert connection.recv(1) == b""
    finally:
        process.terminate()
        process.wait(timeout=15)
