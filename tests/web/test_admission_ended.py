"""A fan whose turn to buy ended while on the checkout is told so, and can join again from there."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import expect

from tests import api
from tests.web.browser import charge, check_page, join_line, signed_in_fan
from tests.web.conftest import PageFactory, Site, running_site

ADMITTED_SECONDS = 5


@pytest.fixture(scope="module", params=["sqlite"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    # A short turn to buy: it ends while the fan looks at the checkout.
    with running_site(
        request, queue_active_ttl_seconds=ADMITTED_SECONDS, sweep_interval_seconds=0.2
    ) as running:
        yield running


async def test_a_fan_whose_turn_ended_at_the_checkout_can_join_the_line_again(
    fresh: Site, new_page: PageFactory
) -> None:
    async with httpx.AsyncClient(base_url=f"{fresh.root}/api/v1", timeout=30) as client:
        concert = await api.create_concert(client, title="Daegu Strings")
        await api.create_schedule(client, concert["id"], seat_count=6, price=20_000)
    page = await new_page()
    await signed_in_fan(page, fresh, "Seoyeon")
    await charge(page, fresh.root, 50_000)
    await join_line(page, fresh.root, concert["id"])
    await expect(page).to_have_url(re.compile(r"/seats"))
    await page.get_by_role("button", name="Seat 2", exact=True).click()
    await expect(page.get_by_role("button", name="Pay")).to_be_visible()

    await asyncio.sleep(ADMITTED_SECONDS + 1)
    await page.get_by_role("button", name="Pay").click()

    await expect(page.get_by_text(re.compile("^Your turn to buy has ended."))).to_be_visible()
    # Paying again would fail again: the way on is the line.
    await expect(page.get_by_role("button", name="Pay")).to_have_count(0)
    await check_page(page)
    await page.get_by_role("button", name="Join the line").click()
    # Nobody else is in line: admitted again at once, back on the seat map.
    await expect(page).to_have_url(re.compile(rf"/concerts/{concert['id']}/(seats|wait)"))
    await page.get_by_role("link", name="My tickets").click()
    await expect(page.get_by_role("link", name="Pay for seat 2")).to_be_visible()
