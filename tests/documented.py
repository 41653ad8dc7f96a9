"""Every problem the tests' in-process clients receive must be one the app's OpenAPI document
lists for that operation and status. A route that answers a code it does not declare (see
`boxoffice.problems`) fails whichever test meets it, not only the fuzzing that may not."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from boxoffice.problems import PROBLEM_JSON

Operations = list[tuple[str, re.Pattern[str], dict[str, Any]]]
# Every boxoffice app the tests build has the same routes: the document is read once per app
# title and version.
_read: dict[tuple[str, str], Operations] = {}


class DocumentedProblems:
    """An httpx response hook holding each problem answer to the document."""

    def __init__(self, app: FastAPI) -> None:
        key = (app.title, app.version)
        if key not in _read:
            _read[key] = [
                (method.upper(), _template(path), operation)
                for path, item in app.openapi()["paths"].items()
                for method, operation in item.items()
            ]
        self.operations = _read[key]

    async def __call__(self, response: httpx.Response) -> None:
        if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            return
        request = response.request
        operation = self._operation(request.method, request.url.path)
        if operation is None:
            return  # no such route: the router's own 404 or 405
        await response.aread()
        code = response.json().get("code")
        where = f"{request.method} {request.url.path} answered {response.status_code} {code}"
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, f"{where}: a status its OpenAPI document does not list"
        codes = _codes(documented)
        assert code in codes, f"{where}: a code its OpenAPI document does not list ({codes})"

    def _operation(self, method: str, path: str) -> dict[str, Any] | None:
        for documented_method, template, operation in self.operations:
            if documented_method == method and template.fullmatch(path):
                return operation
        return None


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)))


def _codes(response: dict[str, Any]) -> list[str]:
    schema = response["content"][PROBLEM_JSON]["schema"]
    codes: list[str] = schema["allOf"][1]["properties"]["code"]["enum"]
    return codes
