"""Two fans on one live seat map, a lost race, and a hold that runs out (issue 11)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests import api
from tests.web.browser import charge, check_page, contrast, join_line, looks, signed_in_fan
from tests.web.conftest import WEB_BACKENDS, PageFactory, Site, running_site

HOLD_SECONDS = 6


@pytest.fixture(scope="module", params=WEB_BACKENDS)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    with running_site(
        request,
        queue_max_active=50,
        hold_ttl_seconds=HOLD_SECONDS,
        sweep_interval_seconds=0.2,
    ) as running:
        yield running


async def _two_fans_on_the_map(site: Site, new_page: PageFactory) -> tuple[Page, Page]:
    async with httpx.AsyncClient(base_url=f"{site.root}/api/v1", timeout=30) as client:
        concert = await api.create_concert(client, title="Busan Rock Festival")
        await api.create_schedule(client, concert["id"], seat_count=20, price=10_000)
    fans = []
    for name, root in (("Minji", site.root), ("Hyun", site.other())):
        page = await new_page()
        await signed_in_fan(page, site, name, root=root)
        await charge(page, root, 50_000)
        await join_line(page, root, concert["id"])
        await expect(page).to_have_url(re.compile(r"/seats"))
        fans.append(page)
    return fans[0], fans[1]


async def test_a_hold_greys_the_seat_out_on_the_other_fans_map_and_a_lost_race_says_so(
    fresh: Site, new_page: PageFactory
) -> None:
    one, other = await _two_fans_on_the_map(fresh, new_page)
    await check_page(other)
    # The map follows the seat-map event stream (API.md "Live updates"), not a fallback.
    await expect(other.locator("html")).to_have_attribute("data-live", "stream")
    await one.get_by_role("button", name="Seat 3", exact=True).click()
    await expect(one.get_by_role("button", name="Pay")).to_be_visible()
    # Within a second, without a reload.
    await expect(other.get_by_role("button", name="Seat 3", exact=True)).to_be_disabled(
        timeout=1_500
    )

    # Both reach for the same seat at once: one gets it, the other is told, and keeps the map.
    seat_map = other.url
    for number in (7, 8, 9, 10):
        for page in (one, other):
            await page.goto(seat_map)
            await expect(
                page.get_by_role("button", name=f"Seat {number}", exact=True)
            ).to_be_enabled()
        clicks = [
            page.evaluate("n => document.querySelector(`[aria-label='Seat ${n}']`).click()", number)
            for page in (one, other)
        ]
        await asyncio.gather(*clicks)
        await asyncio.gather(*(page.wait_for_load_state() for page in (one, other)))
        await asyncio.sleep(0.5)
        told = [
            page
            for page in (one, other)
            if await page.get_by_text(f"Seat {number} was just taken").count()
        ]
        if told:
            break
    else:
        pytest.fail("no click ever raced the other one")
    loser = told[0]
    winner = other if loser is one else one
    await expect(loser.get_by_role("alert")).to_have_text(f"Seat {number} was just taken")
    await expect(loser).not_to_have_url(re.compile(r"taken="))  # said once (see below)
    await expect(loser.get_by_role("button", name=f"Seat {number}", exact=True)).to_be_disabled()
    await expect(loser.get_by_role("button", name="Seat 12", exact=True)).to_be_enabled()
    await expect(winner.get_by_role("button", name="Pay")).to_be_visible()
    await check_page(loser)


async def test_a_problem_carried_in_the_address_is_said_once_and_not_again_on_reload(
    fresh: Site, new_page: PageFactory
) -> None:
    async with httpx.AsyncClient(base_url=f"{fresh.root}/api/v1", timeout=30) as client:
        concert = await api.create_concert(client, title="Daegu Strings")
        schedule = await api.create_schedule(client, concert["id"], seat_count=6)
    page = await new_page()
    await signed_in_fan(page, fresh, "Dahye")
    await join_line(page, fresh.root, concert["id"])
    await expect(page).to_have_url(re.compile(r"/seats"))
    seat_map = f"{fresh.root}/concerts/{concert['id']}/seats?date={schedule['id']}"
    for problem, said in (
        ("taken=3", "Seat 3 was just taken"),
        ("problem=HOLD_LIMIT_REACHED", "You already hold as many seats as one person may."),
    ):
        await page.goto(f"{seat_map}&{problem}")
        await expect(page.get_by_role("alert")).to_have_text(said)
        # The address lets go of the problem and keeps the chosen date.
        await expect(page).to_have_url(seat_map)
        await check_page(page)
        # The language switch keeps the chosen date, and does not say the problem again.
        await page.get_by_role("link", name="한국어").click()
        await expect(page).to_have_url(seat_map)
        await expect(page.get_by_role("button", name="1번 좌석", exact=True)).to_be_enabled()
        await expect(page.get_by_role("alert")).to_have_count(0)
        await page.get_by_role("link", name="English").click()
        await expect(page).to_have_url(seat_map)
        await page.goto(f"{seat_map}&{problem}")
        await expect(page.get_by_role("alert")).to_have_text(said)
        await page.reload()
        await expect(page.get_by_role("button", name="Seat 1", exact=True)).to_be_enabled()
        await expect(page.get_by_role("alert")).to_have_count(0)


async def test_a_hold_running_out_tells_the_fan_and_frees_the_seat_on_the_other_map(
    fresh: Site, new_page: PageFactory
) -> None:
    one, other = await _two_fans_on_the_map(fresh, new_page)
    await one.get_by_role("button", name="Seat 5", exact=True).click()
    await expect(one.get_by_text(re.compile(r"Time left to pay: 0:0\d"))).to_be_visible()
    await check_page(one)
    pay, release = (one.get_by_role("button", name=name) for name in ("Pay", "Release this seat"))
    enabled = [await looks(pay), await looks(release)]
    await expect(other.get_by_role("button", name="Seat 5", exact=True)).to_be_disabled()
    await expect(one.get_by_role("alert")).to_have_text(
        "Your hold has expired and the seat went back on sale.", timeout=HOLD_SECONDS * 1000 + 2000
    )
    await expect(one.get_by_role("button", name="Pay")).to_be_disabled()
    await expect(release).to_be_disabled()
    # Disabled buttons look disabled (not only a different cursor), and stay readable.
    for button, before in zip((pay, release), enabled, strict=True):
        after = await looks(button)
        assert after["background"] != before["background"], (before, after)
        assert after["border"] != before["border"], (before, after)
        assert float(after["opacity"]) == 1
        assert contrast(after["color"], after["background"]) >= 4.5, after
    await expect(other.get_by_role("button", name="Seat 5", exact=True)).to_be_enabled(
        timeout=3_000
    )
    await check_page(one)
