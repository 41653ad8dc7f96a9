"""The interactive API docs with the network cut off: /docs and /redoc render from the service
alone, and a developer authorizes in Swagger UI and holds a seat and pays for it there."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests import api
from tests.web.browser import SCREENSHOTS
from tests.web.conftest import Site, running_site

# ReDoc's sidebar shows Redocly's logo from their CDN; offline the image fails and ReDoc hides
# it. Nothing else may leave the machine.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module", params=["sqlite"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    with running_site(request) as running:
        yield running


class Offline:
    """A browser context whose every request to another host is refused, and remembered."""

    def __init__(self, context: BrowserContext, local_host: str) -> None:
        self.context = context
        self.local_host = local_host
        self.refused: list[str] = []

    async def route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname == self.local_host:
            await route.continue_()
        else:
            self.refused.append(route.request.url)
            await route.abort("internetdisconnected")


@pytest.fixture
async def offline(
    browser: Browser, site: Site, request: pytest.FixtureRequest
) -> AsyncIterator[Offline]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    cut_off = Offline(context, urlsplit(site.root).hostname or "")
    await context.route("**/*", cut_off.route)
    yield cut_off
    SCREENSHOTS.mkdir(exist_ok=True)
    name = request.node.originalname
    for number, page in enumerate(context.pages, start=1):
        await page.screenshot(path=SCREENSHOTS / f"{name}-{number}.png")
    await context.close()


async def admitted_fan(site: Site) -> dict[str, Any]:
    """A fan with a balance, admitted to a new concert's line, and a free seat of it."""
    async with httpx.AsyncClient(base_url=f"{site.root}/api/v1", timeout=30) as client:
        fan = await api.sign_up(client, "Docs Reader")
        assert (await api.charge(client, fan, 500_000)).status_code == 200
        concert = await api.create_concert(client, "Docs Live")
        schedule = await api.create_schedule(client, concert["id"], seat_count=5)
        joined = await client.post(
            f"/concerts/{concert['id']}/queue/tokens", headers=fan["headers"]
        )
        token = joined.json()["token"]
        assert joined.json()["status"] == "ACTIVE"
        seats = await client.get(
            f"/schedules/{schedule['id']}/seats",
            headers={**fan["headers"], "X-Queue-Token": token},
        )
        return {**fan, "queue_token": token, "seat_id": seats.json()["items"][0]["id"]}


async def authorize(page: Page, credentials: dict[str, str]) -> None:
    """Fill these security schemes in the Authorize dialog, as a developer would."""
    await page.locator(".auth-wrapper").get_by_role("button", name="Authorize").click()
    for scheme, value in credentials.items():
        form = page.locator(".auth-container").filter(has_text=scheme)
        await form.locator("input").fill(value)
        await form.get_by_role("button", name="Apply credentials").click()
        await expect(form.get_by_role("button", name="Remove authorization")).to_be_visible()
    await page.locator(".auth-container").last.get_by_role("button", name="Close").click()


async def try_it_out(page: Page, tag: str, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """Open an operation, fill its body, execute it; the answer's status and body."""
    block = page.locator(f"#operations-{tag}-{operation}")
    await block.locator(".opblock-summary").click()
    await block.get_by_role("button", name="Try it out").click()
    await block.locator("textarea.body-param__text").fill(json.dumps(body))
    await block.get_by_role("button", name="Execute").click()
    live = block.locator(".live-responses-table .response")
    await expect(live.locator(".response-col_status")).to_have_text(
        "201", use_inner_text=True, timeout=30_000
    )
    answer: dict[str, Any] = json.loads(await live.locator(".microlight").first.inner_text())
    return answer


async def test_swagger_ui_works_offline_for_a_hold_and_a_payment(
    site: Site, offline: Offline
) -> None:
    fan = await admitted_fan(site)
    page = await offline.context.new_page()
    await page.goto(f"{site.root}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("boxoffice")
    await authorize(page, {"BearerToken": fan["access_token"], "QueueToken": fan["queue_token"]})

    held = await try_it_out(page, "reservations", "hold_seat", {"seat_id": fan["seat_id"]})
    assert held["status"] == "TEMPORARY" and held["seat_id"] == fan["seat_id"]
    paid = await try_it_out(page, "payments", "pay", {"reservation_id": held["id"]})
    assert paid["status"] == "SUCCESS" and paid["reservation_id"] == held["id"]
    assert offline.refused == []


async def test_redoc_renders_offline(site: Site, offline: Offline) -> None:
    page = await offline.context.new_page()
    await page.goto(f"{site.root}/redoc")
    await expect(page.get_by_role("heading", name="Hold a seat").first).to_be_visible()
    await expect(page.get_by_text("SEAT_UNAVAILABLE").first).to_be_attached()
    assert set(offline.refused) <= {REDOC_LOGO}
