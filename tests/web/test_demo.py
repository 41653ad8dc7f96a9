"""The README's first command: `boxoffice serve --demo` prints where the page is, and the demo
concert can be bought there in a browser."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import ADMIN_KEY, JWT_SECRET
from tests.servers import _free_port, _wait_until_ready
from tests.web.browser import charge, check_page, signed_in_fan
from tests.web.conftest import PageFactory, Site


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    directory: Path = tmp_path_factory.mktemp("demo")
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(directory),
        "BOXOFFICE_ADMIN_KEY": ADMIN_KEY,
        "BOXOFFICE_JWT_SECRET": JWT_SECRET,
        "BOXOFFICE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "boxoffice", "serve", "--demo", "--port", str(port)],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        printed = process.stdout.readline().decode()
        found = re.search(r"open (http://\S+) in a browser", printed)
        assert found, f"serve printed {printed!r}"
        address = found.group(1)
        assert address == f"http://127.0.0.1:{port}/"
        _wait_until_ready(address.rstrip("/"), process)
        yield Site([address.rstrip("/")], f"sqlite:///{directory / 'boxoffice.db'}", None)
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_the_demo_concert_can_be_bought_in_a_browser(
    demo: Site, new_page: PageFactory
) -> None:
    page = await new_page()
    await signed_in_fan(page, demo, "Demo Fan")
    await charge(page, demo.root, 200_000)
    await page.get_by_role("link", name="Home").click()
    await check_page(page)
    await page.get_by_role("link", name="Midnight Orchestra: Winter Live").click()
    await check_page(page)
    await page.get_by_role("button", name="Join the line").click()
    # Two dates: the fan picks the first, then a VIP seat.
    await page.get_by_role("navigation", name="Dates").get_by_role("link").first.click()
    await check_page(page)
    await page.get_by_role("button", name="Seat 1", exact=True).click()
    await expect(page.get_by_text("150,000 won").first).to_be_visible()
    await page.get_by_role("button", name="Pay").click()
    await expect(page.get_by_text("Payment complete.")).to_be_visible()
    await expect(page.get_by_text("Confirmed")).to_be_visible()
    await expect(page.get_by_text("7:00 PM")).to_be_visible()  # an evening show in Seoul
    await check_page(page)
