"""Bodies over BOXOFFICE_MAX_BODY_BYTES are 413 PAYLOAD_TOO_LARGE before they are read: declared
or chunked, signed in or not; and a server process's memory stays bounded however large a body
a client pushes."""

from __future__ import annotations

import select
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests import api
from tests.conftest import ClientFactory
from tests.servers import running_servers

LIMIT = 4096


def padded_json(body: str, size: int) -> bytes:
    """`body` padded with trailing spaces (still valid JSON) to exactly `size` bytes."""
    raw = body.encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


async def chunks(data: bytes, piece: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


def assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_declared_body_over_the_limit_is_refused_unauthenticated(
    make_client: ClientFactory,
) -> None:
    client = await make_client(max_body_bytes=LIMIT)
    body = padded_json(
        '{"name": "Bot", "email": "bot@example.com", "password": "secret123"}', LIMIT + 1
    )
    response = await client.post(
        "/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert_too_large(response)
    signed_up = await client.post(
        "/users", json={"name": "Bot", "email": "bot@example.com", "password": "secret123"}
    )
    assert signed_up.status_code == 201  # the refused sign-up created nobody


async def test_a_chunked_body_over_the_limit_is_refused_signed_in(
    make_client: ClientFactory,
) -> None:
    client = await make_client(max_body_bytes=LIMIT)
    user = await api.sign_up(client)
    body = padded_json('{"amount": 500}', LIMIT + 1)
    response = await client.post(
        "/users/me/balance/charge",
        content=chunks(body),  # no Content-Length: Transfer-Encoding: chunked
        headers={**user["headers"], "Content-Type": "application/json"},
    )
    assert_too_large(response)
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 0


async def test_a_body_of_exactly_the_limit_is_read(make_client: ClientFactory) -> None:
    client = await make_client(max_body_bytes=LIMIT)
    user = await api.sign_up(client)
    for content in (
        padded_json('{"amount": 500}', LIMIT),
        chunks(padded_json('{"amount": 1}', LIMIT)),
    ):
        response = await client.post(
            "/users/me/balance/charge",
            content=content,
            headers={**user["headers"], "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 501


async def test_the_limit_comes_before_the_admin_key(make_client: ClientFactory) -> None:
    client = await make_client(max_body_bytes=LIMIT)
    body = padded_json('{"title": "Huge", "duration_minutes": 60}', LIMIT * 10)
    response = await client.post(
        "/admin/concerts", content=body, headers={"Content-Type": "application/json"}
    )
    assert_too_large(response)


async def test_the_default_limit_is_64_kib(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    for size, status in ((65536, 200), (65537, 413)):
        response = await client.post(
            "/users/me/balance/charge",
            content=padded_json('{"amount": 1}', size),
            headers={**user["headers"], "Content-Type": "application/json"},
        )
        assert response.status_code == status, response.text


# --- a real server process ---------------------------------------------------------------------

HUGE = 100 * 1024 * 1024


def peak_memory_bytes(pid: int) -> int:
    """The process's resident-set high-water mark: what it ever held, not just what it holds."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def open_request(base: str, path: str, headers: dict[str, str]) -> socket.socket:
    url = urlsplit(base)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=10)
    head = f"POST {url.path}{path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    sock.sendall((head + "\r\n").encode())
    return sock


def read_status(sock: socket.socket) -> int:
    answer = b""
    while b"\r\n" not in answer:
        piece = sock.recv(4096)
        if not piece:
            break
        answer += piece
    return int(answer.split(b" ", 2)[1])


def push_chunked(sock: socket.socket, total: int, piece_size: int = 65536) -> int:
    """Send up to `total` bytes in chunks until the server answers or hangs up; returns how
    many bytes went out."""
    piece = b" " * piece_size
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0
    while sent < total:
        if select.select([sock], [], [], 0)[0]:
            break  # the server has answered (or closed): it reads no more
        try:
            sock.sendall(frame)
        except OSError:
            break
        sent += len(piece)
    return sent


JSON_HEADERS = {"Content-Type": "application/json"}


def test_a_large_body_leaves_a_server_s_memory_alone(sqlite_url: str) -> None:
    with running_servers(sqlite_url, count=1, max_body_bytes=LIMIT) as (server,):
        # The server refuses a declared length at once, without waiting for a byte of it.
        with open_request(server, "/users", {**JSON_HEADERS, "Content-Length": str(HUGE)}) as sock:
            assert read_status(sock) == 413
        # A chunked body is refused as soon as it passes the limit.
        with open_request(
            server, "/users", {**JSON_HEADERS, "Transfer-Encoding": "chunked"}
        ) as sock:
            # One chunk just over the limit and nothing more: the server has read all there is, so
            # its hang-up cannot reset the connection before the answer is read.
            push_chunked(sock, LIMIT + 1, piece_size=LIMIT + 1)
            assert read_status(sock) == 413
        before = peak_memory_bytes(server.process.pid)
        # Five clients push 100 MB each; the server stops reading each at the limit.
        for _ in range(5):
            headers = {**JSON_HEADERS, "Transfer-Encoding": "chunked"}
            with open_request(server, "/users", headers) as sock:
                sent = push_chunked(sock, HUGE)
            assert sent < HUGE // 4, sent
        grown = peak_memory_bytes(server.process.pid) - before
        assert grown < 20 * 1024 * 1024, f"peak memory grew by {grown} bytes"
        assert httpx.get(f"{server}/concerts").status_code == 200
