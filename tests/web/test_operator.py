"""The operator in a browser: enters with the key, creates a concert and a date that fans see,
watches its sale, checks a ticket in at the door, and cancels the date, refunding the fan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.conftest import ADMIN_KEY
from tests.web.browser import charge, check_page, signed_in_fan
from tests.web.conftest import WEB_BACKENDS, PageFactory, Site, running_site


@pytest.fixture(scope="module", params=WEB_BACKENDS)
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    with running_site(request, sweep_interval_seconds=0.2) as running:
        yield running


async def test_the_operator_creates_a_concert_and_a_date_that_fans_see(
    fresh: Site, new_page: PageFactory
) -> None:
    operator = await new_page()
    await operator.goto(f"{fresh.root}/admin")
    await check_page(operator)
    await operator.get_by_label("Admin key").fill(ADMIN_KEY)
    await operator.get_by_role("button", name="Enter").click()
    await expect(operator.get_by_role("button", name="Create concert")).to_be_visible()
    await check_page(operator)
    await operator.get_by_label("Title").fill("Han River Sessions")
    await operator.get_by_label("Duration (minutes)").fill("120")
    await operator.get_by_role("button", name="Create concert").click()
    await expect(operator.get_by_role("heading", name="Han River Sessions")).to_be_visible()
    await check_page(operator)

    # The form reads the time in the operator's zone (the browser's: Seoul here).
    starts = (datetime.now(ZoneInfo("Asia/Seoul")) + timedelta(days=10)).replace(
        hour=19, minute=30, second=0, microsecond=0
    )
    await operator.get_by_label("Start time").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    await operator.get_by_label("Seat count").fill("40")
    await operator.get_by_label("Price (won)").fill("77,000")
    await operator.get_by_role("button", name="Add schedule").click()
    await expect(operator.get_by_text("40 of 40 seats free")).to_be_visible()
    await expect(operator.get_by_text(f"{starts.day}, {starts.year}, 7:30")).to_be_visible()
    await check_page(operator)

    # A date in the past is refused in words, and nothing is added.
    await operator.get_by_label("Start time").fill("2001-01-01T10:00")
    await operator.get_by_label("Seat count").fill("5")
    await operator.get_by_label("Price (won)").fill("1000")
    await operator.get_by_role("button", name="Add schedule").click()
    await expect(operator.get_by_role("alert")).to_have_text("A date must be in the future.")
    await expect(operator.get_by_text("of 5 seats free")).to_have_count(0)

    fan = await new_page()
    await fan.goto(fresh.root)
    await check_page(fan)
    await fan.get_by_role("link", name="Han River Sessions").click()
    await expect(fan.get_by_role("button", name="Join the line")).to_be_visible()
    await expect(fan.get_by_text("40 / 40")).to_be_visible()
    await check_page(fan)

    # The operator watches the sale while the fan buys: the counters move without a reload.
    await operator.get_by_role("link", name="Live sale").click()
    status = operator.get_by_role("status")
    await expect(status).to_contain_text("sold")
    await expect(status).to_contain_text("held")
    await expect(status).to_contain_text("free")
    await _expect_counts(operator, sold="0", held="0", free="40", revenue="0")
    await check_page(operator)
    await signed_in_fan(fan, fresh, "Seo-yeon", root=fresh.other())
    await charge(fan, fresh.other(), 100_000)
    await fan.goto(f"{fresh.other()}/")
    await fan.get_by_role("link", name="Han River Sessions").click()
    await fan.get_by_role("button", name="Join the line").click()
    await fan.get_by_role("button", name="Seat 9", exact=True).click()
    await _expect_counts(operator, sold="0", held="1", free="39", revenue="0")
    await fan.get_by_role("button", name="Pay").click()
    await expect(fan.get_by_text("Payment complete.")).to_be_visible()
    await _expect_counts(operator, sold="1", held="0", free="39", revenue="77,000")

    # At the door: the fan's ticket checks in once, then it is "already used".
    await fan.get_by_role("link", name="My tickets").click()
    await expect(fan.get_by_role("img", name="Ticket QR code")).to_be_visible()
    code = (await fan.locator(".ticket-code").text_content() or "").strip()
    assert code
    await operator.get_by_role("link", name="Check-in").click()
    await check_page(operator)
    for verdict in ("Valid ticket.", "Already used."):
        await operator.get_by_label("Ticket code").fill(code)
        await operator.get_by_role("button", name="Check in").click()
        await expect(operator.get_by_role("status")).to_contain_text(verdict)
        await check_page(operator)
    await operator.get_by_label("Ticket code").fill(
        code[:-2] + ("AA" if code[-2:] != "AA" else "BB")
    )
    await operator.get_by_role("button", name="Check in").click()
    await expect(operator.get_by_role("status")).to_contain_text("Unknown ticket.")

    # The show is called off: the operator cancels the date, after a confirmation that says
    # what it ends and refunds, and the fan's ticket shows its refund.
    await operator.get_by_role("link", name="Concerts").click()
    await operator.get_by_role("link", name="Han River Sessions").click()
    # Both steps' buttons are named `Cancel schedule` exactly (WEB.md); the second says what
    # it refunds in the text beside it.
    await operator.get_by_role("button", name="Cancel schedule", exact=True).click()
    await expect(operator.get_by_role("heading", name="Cancel this date?")).to_be_visible()
    await expect(operator.get_by_text("77,000 won")).to_be_visible()
    confirm = operator.get_by_role("button", name="Cancel schedule", exact=True)
    await expect(confirm).to_have_accessible_description(
        "Every ticket sold is refunded in full to its buyer's balance."
    )
    await check_page(operator)
    await confirm.click()
    await expect(operator.get_by_role("status")).to_have_text(
        "The date is cancelled: its holds ended and every ticket was refunded."
    )
    await expect(operator.get_by_text("Cancelled", exact=True)).to_be_visible()
    await expect(operator.get_by_role("button", name="Cancel schedule")).to_have_count(0)
    await check_page(operator)
    await fan.reload()
    await expect(fan.get_by_text("Cancelled, 77,000 won refunded")).to_be_visible()
    await expect(fan.get_by_role("img", name="Ticket QR code")).to_have_count(0)
    await check_page(fan)
    await fan.get_by_role("link", name="Balance").click()
    # 100,000 charged, 77,000 paid, 77,000 refunded.
    await expect(fan.locator("p.big")).to_have_text("100,000 won")
    # A cancelled ticket's code no longer lets anyone in.
    await operator.get_by_role("link", name="Check-in").click()
    await operator.get_by_label("Ticket code").fill(code)
    await operator.get_by_role("button", name="Check in").click()
    await expect(operator.get_by_role("status")).to_contain_text("Unknown ticket.")


async def _expect_counts(page: Page, **counts: str) -> None:
    for name, value in counts.items():
        await expect(page.locator(f"[data-count={name}]")).to_have_text(value, timeout=5_000)
