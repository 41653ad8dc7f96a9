"""A fan buys in a browser, and a capped line moves on by itself (issue 11)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.async_api import Page, expect

from tests import api
from tests.web.browser import (
    charge,
    check_page,
    join_line,
    log_in,
    press_tab_until,
    sign_up,
    signed_in_fan,
    words_broken_across_lines,
)
from tests.web.conftest import WEB_BACKENDS, PageFactory, Site, running_site


@pytest.fixture(scope="module", params=WEB_BACKENDS)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    # One admitted fan at a time: the second waits for the first.
    with running_site(request, queue_max_active=1, sweep_interval_seconds=0.2) as running:
        yield running


async def _concert(site: Site, seats: int = 12) -> int:
    async with httpx.AsyncClient(base_url=f"{site.root}/api/v1", timeout=30) as client:
        concert = await api.create_concert(client, title="Seoul Philharmonic")
        await api.create_schedule(client, concert["id"], seat_count=seats, price=30_000)
    concert_id: int = concert["id"]
    return concert_id


async def _hold(page: Page, seat: str) -> None:
    await expect(page).to_have_url(re.compile(r"/seats"))
    await check_page(page)
    await page.get_by_role("button", name=f"Seat {seat}", exact=True).click()
    await expect(page.get_by_role("button", name="Pay")).to_be_visible()
    await check_page(page)
    # The two actions of the checkout stand side by side on one line, neither lower.
    pay = await page.get_by_role("button", name="Pay").bounding_box()
    release = await page.get_by_role("button", name="Release this seat").bounding_box()
    assert pay and release
    assert abs(pay["y"] - release["y"]) < 1 and abs(pay["height"] - release["height"]) < 1, (
        pay,
        release,
    )


async def test_a_fan_charges_joins_holds_pays_sees_the_ticket_cancels_and_is_refunded(
    fresh: Site, new_page: PageFactory
) -> None:
    concert_id = await _concert(fresh)
    page = await new_page()
    email = await sign_up(page, fresh.root, "Jiwoo")
    await page.get_by_role("link", name="Log out").click()
    await expect(page.get_by_role("link", name="Log in")).to_be_visible()
    await page.get_by_role("link", name="Log in").click()
    await check_page(page)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account."
    )
    await check_page(page)
    await log_in(page, fresh.root, email)
    await charge(page, fresh.root, 100_000)
    await check_page(page)
    await join_line(page, fresh.root, concert_id)
    # The seat is chosen and paid for with the keyboard alone.
    await expect(page).to_have_url(re.compile(r"/seats"))
    await check_page(page)
    await press_tab_until(page, "Seat 4")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Pay")).to_be_visible()
    await check_page(page)
    await expect(page.get_by_text("30,000 won")).to_be_visible()
    await expect(page.get_by_text("100,000 won")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"Time left to pay: 4:5\d"))).to_be_visible()
    await press_tab_until(page, "Pay")
    await page.keyboard.press("Enter")
    await expect(page.get_by_text("Payment complete.")).to_be_visible()
    qr = page.get_by_role("img", name="Ticket QR code")
    await expect(qr).to_be_visible()
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml;base64,")
    await check_page(page)
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_text("30,000 won was refunded to your balance")).to_be_visible()
    await expect(page.get_by_text("Cancelled, 30,000 won refunded")).to_be_visible()
    await check_page(page)
    await page.get_by_role("link", name="Balance").click()
    await expect(page.get_by_text("100,000 won").first).to_be_visible()
    await expect(page.get_by_role("cell", name="Refund")).to_be_visible()
    await expect(page.get_by_role("cell", name="Payment")).to_be_visible()
    await expect(page.get_by_role("cell", name="Charge")).to_be_visible()
    await check_page(page)

    # In Korean, on a phone, the tables' short words stay whole: no "환/불" over two lines.
    await page.get_by_role("link", name="한국어").click()
    await expect(page.get_by_role("cell", name="환불")).to_be_visible()
    assert await words_broken_across_lines(page, "th, td") == []
    await check_page(page)
    await page.goto(f"{fresh.root}/concerts/{concert_id}")
    await expect(page.get_by_role("columnheader", name="남은 좌석")).to_be_visible()
    assert await words_broken_across_lines(page, "th, td") == []
    await check_page(page)


async def test_a_hold_left_at_the_checkout_is_found_again_in_my_tickets(
    fresh: Site, new_page: PageFactory
) -> None:
    concert_id = await _concert(fresh)
    page = await new_page()
    await signed_in_fan(page, fresh, "Minji")
    await charge(page, fresh.root, 50_000)
    await join_line(page, fresh.root, concert_id)
    await _hold(page, "3")

    # The fan wanders off before paying: the hold waits in My tickets, with the way back.
    await page.get_by_role("link", name="My tickets").click()
    await expect(page.get_by_text("On hold, not paid yet")).to_be_visible()
    until = page.get_by_text(re.compile(r"^The seat is yours until .+; after that"))
    await expect(until).to_be_visible()
    assert "<" not in await until.inner_text()
    await check_page(page)
    await page.get_by_role("link", name="Pay for seat 3").click()
    await page.get_by_role("button", name="Pay").click()

    await expect(page.get_by_text("Payment complete.")).to_be_visible()
    await expect(page.get_by_role("img", name="Ticket QR code")).to_be_visible()
    await expect(page.get_by_text("On hold, not paid yet")).to_have_count(0)
    await check_page(page)


async def test_a_ticket_used_at_the_door_shows_so_and_offers_no_cancel(
    fresh: Site, new_page: PageFactory
) -> None:
    concert_id = await _concert(fresh)
    page = await new_page()
    await sign_up(page, fresh.root, "Minseo")
    await charge(page, fresh.root, 30_000)
    await join_line(page, fresh.root, concert_id)
    await _hold(page, "2")
    await page.get_by_role("button", name="Pay").click()
    await expect(page.get_by_text("Payment complete.")).to_be_visible()
    # The notice came in the address; the address lets go of it, so a reload does not repeat it.
    await expect(page).to_have_url(f"{fresh.root}/tickets")
    code = await page.locator("code.ticket-code").inner_text()
    async with httpx.AsyncClient(base_url=f"{fresh.root}/api/v1", timeout=30) as door:
        scanned = await door.post("/admin/checkins", json={"code": code}, headers=api.ADMIN)
    assert scanned.status_code == 200, scanned.text

    await page.reload()

    await expect(page.get_by_text("Used at the door")).to_be_visible()
    await expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    await expect(page.get_by_text("Payment complete.")).to_have_count(0)
    await check_page(page)


async def test_the_second_fan_waits_at_position_one_and_moves_on_when_the_first_pays(
    fresh: Site, new_page: PageFactory
) -> None:
    concert_id = await _concert(fresh)
    first, second = await new_page(), await new_page()
    await signed_in_fan(first, fresh, "First", root=fresh.root)
    await signed_in_fan(second, fresh, "Second", root=fresh.other())
    await charge(first, fresh.root, 50_000)
    await join_line(first, fresh.root, concert_id)
    await _hold(first, "1")

    await join_line(second, fresh.other(), concert_id)
    await expect(second).to_have_url(re.compile(r"/wait$"))
    status = second.get_by_role("status")
    await expect(status).to_contain_text("position")
    await expect(status).to_contain_text("1")
    await expect(second.locator("html")).to_have_attribute("data-live", "stream")
    await check_page(second)

    url_before = second.url
    await first.get_by_role("button", name="Pay").click()
    await expect(first.get_by_text("Payment complete.")).to_be_visible()
    # No reload: the waiting page takes the second fan to the seat map by itself.
    await expect(second).to_have_url(re.compile(r"/seats"), timeout=15_000)
    assert url_before.endswith("/wait")
    await expect(second.get_by_role("button", name="Seat 1", exact=True)).to_be_disabled()
    await expect(second.get_by_role("button", name="Seat 2", exact=True)).to_be_enabled()
    await check_page(second)


async def test_a_korean_browser_gets_korean_pages_and_can_switch_to_english(
    fresh: Site, new_page: PageFactory
) -> None:
    concert_id = await _concert(fresh)
    page = await new_page(locale="ko-KR")
    await page.goto(fresh.root)
    await expect(page.get_by_role("heading", name="공연")).to_be_visible()
    await page.get_by_role("link", name="Seoul Philharmonic").click()
    await expect(page.get_by_role("button", name="대기열 들어가기")).to_be_visible()
    await check_page(page)
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(f"{fresh.root}/concerts/{concert_id}")
    await expect(page.get_by_role("button", name="Join the line")).to_be_visible()
    await page.get_by_role("link", name="한국어").click()
    await expect(page.get_by_role("button", name="대기열 들어가기")).to_be_visible()


async def test_the_language_switch_after_a_refused_form_shows_the_form_page(
    fresh: Site, new_page: PageFactory
) -> None:
    page = await new_page()
    await signed_in_fan(page, fresh, "Taeyang")
    await page.goto(f"{fresh.root}/balance")
    await page.get_by_label("Amount").fill("abc")
    await page.get_by_role("button", name="Charge").click()
    await expect(page.get_by_role("alert")).to_contain_text("Enter an amount")
    await expect(page).to_have_url(f"{fresh.root}/balance/charge")  # takes only a POST
    await page.get_by_role("link", name="한국어").click()
    await expect(page).to_have_url(f"{fresh.root}/balance")
    await expect(page.get_by_role("heading", name="잔액")).to_be_visible()
    await check_page(page)


async def test_before_the_sale_opens_the_waiting_page_counts_down_to_the_opening(
    fresh: Site, new_page: PageFactory
) -> None:
    opens = datetime.now(UTC) + timedelta(hours=1)
    async with httpx.AsyncClient(base_url=f"{fresh.root}/api/v1", timeout=30) as client:
        concert = await api.create_concert(client, title="Opening Night", sale_opens_at=opens)
        await api.create_schedule(client, concert["id"], seat_count=5)
    page = await new_page()
    await signed_in_fan(page, fresh, "Early Bird")
    await page.goto(f"{fresh.root}/concerts/{concert['id']}")
    await expect(page.get_by_text("Sales open at")).to_be_visible()
    await page.get_by_role("button", name="Join the line").click()
    await expect(page).to_have_url(re.compile(r"/wait$"))
    countdown = page.get_by_text(re.compile(r"Sales open in (0:)?59:\d\d"))
    await expect(countdown).to_be_visible()
    first = await countdown.text_content()
    await expect(countdown).not_to_have_text(first or "", timeout=3_000)  # it counts down
    # The countdown is outside every live region: a screen reader is not made to read it
    # every second. The status region says what matters, and stays still meanwhile.
    live = await countdown.evaluate(
        "el => !!el.closest('[role=status], [role=alert], [role=log], [role=timer],"
        " [aria-live]:not([aria-live=off])')"
    )
    assert not live
    status = page.get_by_role("status")
    await expect(status).to_contain_text("Sales open at")
    await expect(status).not_to_contain_text("Sales open in")
    said = await status.text_content()
    await page.wait_for_timeout(2_000)
    assert await status.text_content() == said
    await check_page(page)
