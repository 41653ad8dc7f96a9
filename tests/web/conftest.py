"""Browser tests: real `boxoffice serve` processes, Debian's Chromium through Playwright.

Each module starts its servers once per backend: one process on SQLite, two on PostgreSQL with
the waiting room in Redis. Every test gets emptied tables and Redis db, phone-sized pages, and
leaves a screenshot of each page it used in `test-screenshots/`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests import backends
from tests.conftest import empty_tables
from tests.servers import running_servers
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, SCREENSHOTS

WEB_BACKENDS = ["sqlite", "postgres"]


@dataclass(frozen=True)
class Site:
    """The running service: the root URL of each process, and its database."""

    roots: list[str]
    database_url: str
    redis_url: str | None

    @property
    def root(self) -> str:
        return self.roots[0]

    def other(self) -> str:
        """A second process when there is one: two fans on two processes."""
        return self.roots[-1]


@contextmanager
def running_site(request: pytest.FixtureRequest, **settings: Any) -> Iterator[Site]:
    backend: str = request.param
    url: str = request.getfixturevalue(f"{backend}_url")
    redis_url = request.getfixturevalue("redis_url") if backend == "postgres" else None
    extra = {"redis_url": redis_url} if redis_url else {}
    count = 2 if backend == "postgres" else 1
    _empty(url, redis_url)
    with running_servers(url, count=count, **settings, **extra) as bases:
        yield Site([base.removesuffix("/api/v1") for base in bases], url, redis_url)


def _empty(database_url: str, redis_url: str | None) -> None:
    asyncio.run(empty_tables(database_url))
    if redis_url:
        client = redis.Redis.from_url(redis_url)
        try:
            client.flushdb()
        finally:
            client.close()


@pytest.fixture
def fresh(site: Site) -> Iterator[Site]:
    """The site with nothing in it, and emptied again after the test."""
    yield site
    _empty(site.database_url, site.redis_url)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 (once per session, before any test)
        backends.unavailable("Chromium", f"{CHROMIUM} is missing; apt-get install chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


PageFactory = Callable[..., Any]


@pytest.fixture
async def new_page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[PageFactory]:
    """A page in a browser of its own (its own cookies: one fan each), phone-sized."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    async def make(**options: Any) -> Page:
        context = await browser.new_context(
            viewport=PHONE,
            locale=options.pop("locale", "en-US"),
            timezone_id=options.pop("timezone_id", "Asia/Seoul"),
            **options,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = await context.new_page()
        pages.append(page)
        return page

    yield make
    SCREENSHOTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for number, page in enumerate(pages, start=1):
        try:
            await page.screenshot(path=SCREENSHOTS / f"{name}-{number}.png", full_page=True)
        except Exception as error:  # A page that crashed leaves no screenshot, not a failure.
            print(f"no screenshot of {page.url}: {error}")
    for context in contexts:
        await context.close()
