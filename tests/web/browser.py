"""Driving Debian's Chromium with Playwright: how it is started, what every page is checked
for (axe, a phone's width), and the screenshot each test leaves for CI's log."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Locator, Page, ViewportSize, expect

from tests import api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
PHONE: ViewportSize = {"width": 360, "height": 780}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-screenshots"
PASSWORD = "correct horse battery"
_AXE = Axe()
_emails = itertools.count(1)


def new_email(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return f"{slug}-{next(_emails)}@example.com"


async def check_page(page: Page) -> None:
    """What every page must pass: axe with no serious or critical violation, and nothing
    wider than the phone it is shown on."""
    results = await _AXE.run(page)
    bad = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}: accessibility violations:\n" + "\n".join(bad)
    width = await page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], (
        f"{page.url} is {width}px wide on a {viewport['width']}px screen"
    )


async def sign_up(page: Page, base: str, name: str) -> str:
    """A new fan through the sign-up page; returns the email."""
    email = new_email(name)
    await page.goto(f"{base}/signup")
    await check_page(page)
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("link", name="Log out")).to_be_visible()
    return email


async def charge(page: Page, base: str, amount: int) -> None:
    await page.goto(f"{base}/balance")
    await page.get_by_label("Amount").fill(str(amount))
    await page.get_by_role("button", name="Charge").click()
    await expect(page.get_by_text("Your balance has been charged.")).to_be_visible()
    # Said once: the notice's part of the address is gone, so a reload does not say it again.
    await expect(page).to_have_url(f"{base}/balance")


async def join_line(page: Page, base: str, concert_id: int) -> None:
    await page.goto(f"{base}/concerts/{concert_id}")
    await check_page(page)
    await page.get_by_role("button", name="Join the line").click()


async def signed_in_fan(page: Page, site: Any, name: str, root: str | None = None) -> str:
    """A fan signed up through the API who logs in on the log-in page; returns the email."""
    async with httpx.AsyncClient(base_url=f"{site.root}/api/v1", timeout=30) as client:
        user = await api.sign_up(client, name, password=PASSWORD)
    await log_in(page, root or site.root, user["email"])
    return str(user["email"])


async def log_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("link", name="Log out")).to_be_visible()


async def press_tab_until(page: Page, name: str, limit: int = 80) -> None:
    """Move the keyboard focus forward, as a person with only a keyboard does, until the
    control named `name` has it."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(
            "() => { const el = document.activeElement;"
            " return el ? (el.getAttribute('aria-label') || el.textContent || '').trim() : ''; }"
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key on {page.url}")


async def looks(control: Locator) -> dict[str, str]:
    """How a control is drawn: its colours, border and opacity as the browser computed them."""
    drawn: dict[str, str] = await control.evaluate(
        "el => { const s = getComputedStyle(el); return { color: s.color,"
        " background: s.backgroundColor, border: s.borderTopColor + ' ' + s.borderTopStyle,"
        " opacity: s.opacity }; }"
    )
    return drawn


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two opaque `rgb(...)` colours."""

    def luminance(colour: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])

        def linear(channel: float) -> float:
            return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

        return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


async def words_broken_across_lines(page: Page, selector: str) -> list[str]:
    """The words (runs without a space) of the elements that the page breaks over two lines."""
    broken: list[str] = await page.locator(selector).evaluate_all(
        """elements => elements.flatMap(element => {
            const broken = [];
            const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (const word of node.data.matchAll(/\\S+/g)) {
                    const range = document.createRange();
                    range.setStart(node, word.index);
                    range.setEnd(node, word.index + word[0].length);
                    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                    if (lines.size > 1) broken.push(word[0]);
                }
            }
            return broken;
        })"""
    )
    return broken
