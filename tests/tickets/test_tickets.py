"""GET /reservations/{id}/ticket: the owner's confirmed reservation has a signed code and its
QR code; nobody else's, and nothing unconfirmed."""

from __future__ import annotations

import io

import httpx
import segno

from tests import api
from tests.conftest import ClientFactory
from tests.integration.test_errors import assert_problem
from tests.tickets.purchase import bought_seat

OPEN = {"queue_max_active": 10_000}


def qr_of(code: str) -> str:
    out = io.BytesIO()
    segno.make_qr(code, error="m").save(
        out, kind="svg", scale=4, border=4, xmldecl=False, title="Ticket QR code"
    )
    return out.getvalue().decode()


async def test_a_confirmed_reservation_has_a_ticket_with_its_qr_code(
    make_client: ClientFactory,
) -> None:
    client = await make_client(**OPEN)
    bought = await bought_seat(client)
    assert bought.reservation["status"] == "CONFIRMED"
    reservation_id = bought.reservation["id"]
    response = await client.get(
        f"/reservations/{reservation_id}/ticket", headers=bought.user["headers"]
    )
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert set(ticket) == {"reservation_id", "code", "qr_svg"}
    assert ticket["reservation_id"] == reservation_id
    assert ticket["code"].startswith(f"BX1-{reservation_id}-")
    assert ticket["qr_svg"].startswith("<svg") and ticket["qr_svg"].rstrip().endswith("</svg>")
    # The symbol is the code's, not some other text's.
    assert ticket["qr_svg"] == qr_of(ticket["code"])
    again = await client.get(
        f"/reservations/{reservation_id}/ticket", headers=bought.user["headers"]
    )
    assert again.json() == ticket


async def test_two_tickets_have_unrelated_codes(make_client: ClientFactory) -> None:
    client = await make_client(**OPEN)
    first, second = await bought_seat(client), await bought_seat(client)
    codes = []
    for bought in (first, second):
        path = f"/reservations/{bought.reservation['id']}/ticket"
        codes.append((await client.get(path, headers=bought.user["headers"])).json()["code"])
    assert codes[0].split("-")[2] != codes[1].split("-")[2]


async def test_a_hold_has_no_ticket_yet(make_client: ClientFactory) -> None:
    client = await make_client(**OPEN)
    held = await bought_seat(client, pay=False)
    path = f"/reservations/{held.reservation['id']}/ticket"
    assert_problem(await client.get(path, headers=held.user["headers"]), 409, "TICKET_NOT_ISSUED")


async def test_a_cancelled_reservation_has_no_ticket(make_client: ClientFactory) -> None:
    client = await make_client(**OPEN)
    bought = await bought_seat(client)
    reservation_id = bought.reservation["id"]
    cancelled = await client.post(
        f"/reservations/{reservation_id}/cancel", headers=bought.user["headers"]
    )
    assert cancelled.status_code == 200, cancelled.text
    response = await client.get(
        f"/reservations/{reservation_id}/ticket", headers=bought.user["headers"]
    )
    assert_problem(response, 409, "TICKET_NOT_ISSUED")


async def test_another_users_ticket_is_not_found(make_client: ClientFactory) -> None:
    client = await make_client(**OPEN)
    bought = await bought_seat(client)
    stranger = await api.sign_up(client)
    path = f"/reservations/{bought.reservation['id']}/ticket"
    body = assert_problem(
        await client.get(path, headers=stranger["headers"]), 404, "RESERVATION_NOT_FOUND"
    )
    assert "BX1" not in str(body)
    missing = await client.get("/reservations/999999/ticket", headers=stranger["headers"])
    assert_problem(missing, 404, "RESERVATION_NOT_FOUND")


async def test_a_ticket_needs_the_owner_signed_in(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/reservations/1/ticket"), 401, "UNAUTHENTICATED")
    user = await api.sign_up(client)
    for bad in ("0", "-1", "abc", "1.0", str(2**63)):
        response = await client.get(f"/reservations/{bad}/ticket", headers=user["headers"])
        assert_problem(response, 422, "VALIDATION_ERROR")
