"""A write on a connection that a restarting Redis has just closed is a 503, not a 500; any
other RuntimeError stays an internal error."""

from __future__ import annotations

import httpx

from tests.conftest import ClientFactory


async def test_a_closed_redis_transport_is_unavailable(make_client: ClientFactory) -> None:
    client: httpx.AsyncClient = await make_client()
    app = client._transport.app  # type: ignore[attr-defined]

    async def closed_transport() -> None:
        raise RuntimeError(
            "unable to perform operation on <TCPTransport closed=True>; the handler is closed"
        )

    async def other_fault() -> None:
        raise RuntimeError("something else")

    app.add_api_route("/api/v1/test-closed-transport", closed_transport)
    app.add_api_route("/api/v1/test-other-fault", other_fault)
    away = await client.get("/test-closed-transport")
    assert (away.status_code, away.json()["code"]) == (503, "SERVICE_UNAVAILABLE")
    broken = await client.get("/test-other-fault")
    assert (broken.status_code, broken.json()["code"]) == (500, "INTERNAL_ERROR")
