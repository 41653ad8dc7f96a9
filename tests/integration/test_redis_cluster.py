"""The waiting room on a real three-node Redis Cluster, started here with `redis-server` on free
ports in a temporary directory, and on a shared Redis under a deployment prefix: every key of the
service carries the prefix, and the lines of two concerts live in different slots."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from boxoffice.clock import utcnow
from tests import api, backends
from tests.api import ADMIN
from tests.conftest import ClientFactory

PREFIX = "test-deployment:"
NODES = 3


def _free_port_pair() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _binaries() -> tuple[str, str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        backends.unavailable("redis-server and redis-cli", "not on PATH")
    assert server is not None and cli is not None
    return server, cli


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A three-node Redis Cluster (no replicas) of this module's own; its URL."""
    server, cli = _binaries()
    ports: list[int] = []
    while len(ports) < NODES:
        port = _free_port_pair()
        if port not in ports:
            ports.append(port)
    processes = []
    try:
        for port in ports:
            workdir: Path = tmp_path_factory.mktemp(f"redis-node-{port}")
            processes.append(
                subprocess.Popen(
                    [
                        server,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        str(workdir),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "5000",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=subprocess.DEVNULL,
                )
            )
        for port in ports:
            _wait_for(lambda port=port: redis.Redis(port=port).ping())
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"127.0.0.1:{p}" for p in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=60,
        )
        for port in ports:
            _wait_for(
                lambda port=port: redis.Redis(port=port).cluster("info")["cluster_state"] == "ok"
            )
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _wait_for(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, "the Redis Cluster did not come up"
        time.sleep(0.1)


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> dict[str, Any]:
    response = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _status(client: httpx.AsyncClient, user: dict[str, Any], token: str) -> Any:
    response = await client.get(
        "/queue/status", headers={**user["headers"], "X-Queue-Token": token}
    )
    assert response.status_code == 200, response.text
    return response.json()["status"], response.json()["position"]


async def _a_line_with_an_opening(client: httpx.AsyncClient) -> tuple[int, list[Any]]:
    """Two users in the pre-queue, opened, then one after the opening; places and a leave."""
    concert = await api.create_concert(client, sale_opens_at=utcnow() + timedelta(hours=1))
    people = []
    for _ in range(2):
        user = await api.sign_up(client)
        ticket = await _join(client, user, concert["id"])
        assert (ticket["position"], ticket["opens_at"] is None) == (None, False)
        people.append((user, ticket["token"]))
    opened = await client.patch(
        f"/admin/concerts/{concert['id']}", json={"sale_opens_at": None}, headers=ADMIN
    )
    assert opened.status_code == 200, opened.text
    late = await api.sign_up(client)
    people.append((late, (await _join(client, late, concert["id"]))["token"]))
    statuses = [await _status(client, *p) for p in people]
    assert sorted(statuses[:2]) == [("ACTIVE", None), ("WAITING", 1)]
    assert statuses[2] == ("WAITING", 2)
    admitted = people[statuses.index(("ACTIVE", None))]
    left = await client.delete(
        "/queue/status", headers={**admitted[0]["headers"], "X-Queue-Token": admitted[1]}
    )
    assert left.status_code == 204
    assert await _status(client, *people[2]) == ("WAITING", 1)
    line = await client.get(f"/admin/concerts/{concert['id']}/queue", headers=ADMIN)
    assert (line.json()["waiting"], line.json()["active"]) == (1, 1)
    return concert["id"], people


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_waiting_room_works_on_a_redis_cluster(
    make_client: ClientFactory, redis_cluster: str
) -> None:
    client = await make_client(redis_url=redis_cluster, redis_prefix=PREFIX, queue_max_active=1)

    concerts = [(await _a_line_with_an_opening(client))[0] for _ in range(3)]

    cluster = RedisCluster.from_url(redis_cluster.replace("redis+cluster", "redis", 1))
    try:
        found = await cluster.keys(target_nodes=RedisCluster.ALL_NODES)
        keys = [_text(k) for k in found]
        nodes = set()
        for concert_id in concerts:
            node = cluster.get_node_from_key(f"{PREFIX}queue:{{{concert_id}}}:waiting")
            assert node is not None
            nodes.add(node.name)
    finally:
        await cluster.aclose()
    assert keys and all(key.startswith(PREFIX) for key in keys), keys
    # The lines of concerts 1, 2 and 3 live on two different nodes of the three: the script
    # calls really were routed across the cluster.
    assert len(nodes) == 2, nodes


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_every_key_on_a_shared_redis_carries_the_deployment_prefix(
    make_client: ClientFactory, flushed_redis: str
) -> None:
    client = await make_client(redis_url=flushed_redis, redis_prefix=PREFIX, queue_max_active=1)

    await _a_line_with_an_opening(client)
    await asyncio.sleep(0.5)  # a tick of the sweeper, which touches keys of its own

    plain = aioredis.from_url(flushed_redis)
    try:
        keys = [_text(k) for k in await plain.keys("*")]
    finally:
        await plain.aclose()
    assert keys and all(key.startswith(PREFIX) for key in keys), keys


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key
