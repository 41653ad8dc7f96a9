"""The OpenAPI document, as the tools of the service's clients meet it: committed and current,
valid OpenAPI 3.1, a typed client generated from it without a warning, every operation summed
up with examples, and every error response listing exactly the codes its route declares."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from openapi_spec_validator import OpenAPIV31SpecValidator

from boxoffice.app import create_app
from boxoffice.errors import ConcertNotFound, DomainError, SeatNotFound
from boxoffice.openapi import COMMITTED, install, render
from boxoffice.problems import PROBLEM_JSON, DocumentedRoute, answers
from tests import conftest
from tests.documented import DocumentedProblems

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document as /openapi.json serves it."""
    app = create_app(conftest.test_settings("sqlite:///never-opened.db"))
    # As JSON carries it (tuples become lists, say).
    served: dict[str, Any] = json.loads(json.dumps(app.openapi()))
    return served


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def bodies(operation: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(which body, media type, media type object) of the request and every response."""
    found = [
        ("request", media_type, media)
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
    ]
    for status, response in operation["responses"].items():
        for media_type, media in response.get("content", {}).items():
            found.append((status, media_type, media))
    return found


async def test_the_committed_document_is_the_served_one(sqlite_url: str) -> None:
    settings = conftest.test_settings(sqlite_url)
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        served = (await client.get("/openapi.json")).json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert served == committed, (
        "docs/openapi.json differs from the served document; regenerate it with "
        "`uv run boxoffice openapi --output docs/openapi.json` and review the diff"
    )
    # Byte for byte too, so that regenerating an unchanged document changes nothing.
    assert COMMITTED.read_text(encoding="utf-8") == render(served)


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    errors = [str(error) for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert not errors, "\n".join(errors[:10])


def test_a_typed_python_client_generates_without_a_warning(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(COMMITTED.read_text(encoding="utf-8"), encoding="utf-8")
    tools = str(Path(sys.executable).parent)
    generated = subprocess.run(
        [
            f"{tools}/openapi-python-client",
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "client"),
        ],
        # The generator formats its code with ruff, which it looks for on the PATH.
        env={**os.environ, "PATH": f"{tools}:{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    assert "warning" not in output.lower(), output
    hold = (tmp_path / "client" / "api" / "reservations" / "hold_seat.py").read_text()
    assert "HoldSeatResponse409" in hold and "ReservationOut" in hold
    codes = (tmp_path / "client" / "models" / "hold_seat_response_409_code.py").read_text()
    assert "SEAT_UNAVAILABLE" in codes and "HOLD_LIMIT_REACHED" in codes


def test_every_operation_is_summed_up_and_described(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        name = operation["operationId"]
        summary = operation.get("summary", "")
        # FastAPI's own summary is the function's name in title case: a sign none was written.
        assert summary and summary != name.replace("_", " ").title(), (method, path)
        description = operation.get("description", "")
        assert description, (method, path)
        sentences = description.count(". ") + 1
        assert sentences <= 3 and len(description) <= 400, (method, path, description)


def test_the_sections_are_listed_described_and_in_reading_order(
    document: dict[str, Any],
) -> None:
    """Routes are registered busiest first; the docs' sections keep their own order."""
    listed = [tag["name"] for tag in document["tags"]]
    assert listed[:3] == ["users", "auth", "catalog"] and listed[-1] == "operations"
    assert all(tag.get("description") for tag in document["tags"])
    used = {tag for _, _, operation in operations(document) for tag in operation["tags"]}
    assert used == set(listed)


def test_no_two_operations_match_the_same_request(document: dict[str, Any]) -> None:
    """What lets the API's routers be registered in any order (busiest first): a request's
    route never depends on which of two matching routes comes first."""
    routes = [(path, method) for method, path, _ in operations(document)]
    for path, method in routes:
        # The template with its parameters filled in, three ways: a request only its own
        # operation may take.
        for value in ("1", "me", "x"):
            request = re.sub(r"\{[^}]+\}", value, path)
            takers = [
                (other, m)
                for other, m in routes
                if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", other), request)
            ]
            assert takers == [(path, method)], (request, takers)


def test_every_body_has_an_example_that_fits_its_schema(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for which, media_type, media in bodies(operation):
            where = (method, path, which, media_type)
            if "examples" in media:
                examples = [resolve(document, ex)["value"] for ex in media["examples"].values()]
            else:
                assert "example" in media, where
                examples = [media["example"]]
            schema = media.get("schema")
            assert examples and schema is not None, where
            for example in examples:
                # The components at the root, so that the schema's references resolve.
                jsonschema.validate(
                    example,
                    {**schema, "components": document["components"]},
                    cls=jsonschema.Draft202012Validator,
                )


def error_codes(document: dict[str, Any], media: dict[str, Any]) -> list[str]:
    parts = media["schema"]["allOf"]
    assert resolve(document, parts[0]) == document["components"]["schemas"]["Problem"]
    codes: list[str] = parts[1]["properties"]["code"]["enum"]
    return codes


def test_every_error_response_lists_its_codes(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)
            media = response["content"][PROBLEM_JSON]
            codes = error_codes(document, media)
            assert codes and sorted(media["examples"]) == codes, (method, path, status)
            for code in codes:
                example = resolve(document, media["examples"][code])["value"]
                assert example["status"] == int(status) and example["code"] == code
                assert f"`{code}`" in response["description"]


def test_the_codes_are_those_the_routes_and_their_dependencies_declare(
    document: dict[str, Any],
) -> None:
    def codes(path: str, method: str) -> dict[str, list[str]]:
        responses = document["paths"][path][method]["responses"]
        return {
            status: error_codes(document, response["content"][PROBLEM_JSON])
            for status, response in responses.items()
            if int(status) >= 400
        }

    assert codes("/api/v1/reservations", "post") == {
        "401": ["UNAUTHENTICATED"],
        "403": [
            "CSRF_TOKEN_INVALID",
            "QUEUE_NOT_ADMITTED",
            "QUEUE_TOKEN_INVALID",
            "USER_BLOCKED",
        ],
        "404": ["SEAT_NOT_FOUND", "USER_NOT_FOUND"],
        "409": ["HOLD_LIMIT_REACHED", "SCHEDULE_CLOSED", "SEAT_UNAVAILABLE"],
        "413": ["PAYLOAD_TOO_LARGE"],
        "422": ["VALIDATION_ERROR"],
        "429": ["RATE_LIMITED"],
        "503": ["SERVICE_UNAVAILABLE"],
    }
    # No input, no 422; no database, no 503.
    assert codes("/api/v1/users/me", "get") == {
        "401": ["UNAUTHENTICATED"],
        "403": ["CSRF_TOKEN_INVALID"],
        "404": ["USER_NOT_FOUND"],
        "503": ["SERVICE_UNAVAILABLE"],
    }
    assert codes("/api/v1/admin/checkins", "post")["401"] == ["ADMIN_KEY_INVALID"]
    assert codes("/api/v1/users/me/balance/charge", "post")["422"] == [
        "IDEMPOTENCY_KEY_REUSED",
        "VALIDATION_ERROR",
    ]
    assert codes("/healthz", "get") == {}


def test_the_security_schemes_fill_the_three_credentials(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "BearerToken": schemes["BearerToken"] | {"type": "http", "scheme": "bearer"},
        "AdminKey": schemes["AdminKey"] | {"type": "apiKey", "in": "header", "name": "X-Admin-Key"},
        "QueueToken": schemes["QueueToken"]
        | {"type": "apiKey", "in": "header", "name": "X-Queue-Token"},
    }
    for method, path, operation in operations(document):
        needed = operation.get("security", [])
        # One requirement naming every scheme: they are all needed together.
        assert len(needed) <= 1, (method, path)
        names = set(needed[0]) if needed else set()
        header_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        # A credential is asked for by its scheme, never as a plain header parameter.
        assert not header_names & {"Authorization", "X-Admin-Key", "X-Queue-Token"}
        if path.startswith("/api/v1/admin/"):
            assert names == {"AdminKey"}, (method, path)
        if path in ("/api/v1/reservations", "/api/v1/payments") and method == "POST":
            assert names == {"BearerToken", "QueueToken"}


def test_operation_ids_are_the_endpoint_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert {"hold_seat", "pay", "sign_up", "join_line"} <= set(ids)


async def test_a_code_a_route_does_not_declare_breaks_its_documented_schema() -> None:
    """What makes the fuzzing's response-schema check catch an undeclared code."""
    router = APIRouter(route_class=DocumentedRoute)

    @router.get("/concerts/{concert_id}")
    @answers(ConcertNotFound)
    async def concert(concert_id: int) -> dict[str, int]:
        # The same status as the declared error, another code.
        error: DomainError = (
            ConcertNotFound("declared") if concert_id == 1 else SeatNotFound("undeclared")
        )
        raise error

    app = FastAPI(title="one route")
    app.include_router(router)
    install(app)

    @app.exception_handler(DomainError)
    async def problem(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse(error.problem(), status_code=error.status, media_type=PROBLEM_JSON)

    document = app.openapi()
    responses = document["paths"]["/concerts/{concert_id}"]["get"]["responses"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        declared = await client.get("/concerts/1")
        undeclared = await client.get("/concerts/2")

    def fits(answer: httpx.Response) -> bool:
        response = responses.get(str(answer.status_code))
        if response is None:
            return False
        schema = {
            **response["content"][PROBLEM_JSON]["schema"],
            "components": document["components"],
        }
        return jsonschema.Draft202012Validator(schema).is_valid(answer.json())

    assert fits(declared)
    assert not fits(undeclared)

    # And the tests' own clients refuse it, wherever a test meets it.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        event_hooks={"response": [DocumentedProblems(app)]},
    ) as client:
        await client.get("/concerts/1")
        with pytest.raises(AssertionError, match="SEAT_NOT_FOUND"):
            await client.get("/concerts/2")
