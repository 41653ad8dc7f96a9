"""The interactive docs, /docs (Swagger UI) and /redoc (ReDoc), come entirely from this service:
the pages name no other host, and every file they load is served from the installed package."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests import api, conftest

# Every address an HTML page can load something from: src, href, and the spec's URL.
_REFERENCES = re.compile(r"""(?:src|href|spec-url|url)\s*[=:]\s*["']([^"']+)["']""")


@pytest.fixture
async def root_client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = conftest.test_settings(sqlite_url)
    async with api.app_client(settings, base_url="http://testserver") as client:
        yield client


@pytest.mark.parametrize(
    ("page", "loads"),
    [
        ("/docs", {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"}),
        ("/redoc", {"/docs/assets/redoc.standalone.js"}),
    ],
)
async def test_docs_page_and_everything_it_loads_are_served_here(
    root_client: httpx.AsyncClient, page: str, loads: set[str]
) -> None:
    response = await root_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # No CDN, no web font, no validator badge: nothing names another host.
    assert "//" not in html.replace("<!--", "").replace("-->", ""), html
    references = set(_REFERENCES.findall(html))
    assert loads | {"/openapi.json", "/docs/assets/favicon.png"} <= references
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        loaded = await root_client.get(reference)
        assert loaded.status_code == 200, reference
        assert len(loaded.content) > 1000, reference
