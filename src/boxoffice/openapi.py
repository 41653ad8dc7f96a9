"""The OpenAPI document as clients meet it, and its committed copy, docs/openapi.json.

FastAPI builds the document from the routes (summaries, descriptions, the problems each route
answers: see `boxoffice.problems`); `install` finishes it:

- Security: an operation needs every scheme it names (a bearer token and a queue token, say),
  where FastAPI would offer them as alternatives.
- Examples: every body without an example of its own gets one composed from its models'
  examples, so that Swagger UI's "Try it out" starts from a request that works.

`boxoffice openapi --output docs/openapi.json` writes the document; a test fails whenever the
served document differs from that file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from boxoffice.problems import problem_components

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def operation_id(route: APIRoute) -> str:
    """The endpoint's name (`hold_seat`): what generated clients call their functions."""
    return route.name


# The docs' sections, in the order a reader meets them (routes are registered in another order,
# busiest first: see `app.create_app`).
TAGS = [
    {"name": "users", "description": "Signing up, the signed-in user and the prepaid balance."},
    {"name": "auth", "description": "Logging in for an access token."},
    {"name": "catalog", "description": "Concerts, their schedules and seats."},
    {"name": "admin", "description": "The operator's side. Needs `X-Admin-Key`."},
    {"name": "reservations", "description": "Holding a seat, and giving it back."},
    {"name": "payments", "description": "Paying for a hold from the balance."},
    {"name": "waiting room", "description": "A concert's line, and admission in turn."},
    {"name": "live updates", "description": "Server-sent events: the line, the seat map."},
    {"name": "tickets", "description": "The e-ticket of a paid reservation."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def install(app: FastAPI) -> None:
    app.openapi_tags = TAGS
    finished: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = FastAPI.openapi(app)
        if not finished or finished[0] is not document:
            finish(document)
            finished[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def finish(document: dict[str, Any]) -> None:
    _add_problem_components(document)
    schemas: dict[str, Any] = document["components"]["schemas"]
    for schema in schemas.values():
        _put_back_nulls(schema)
    for operation in operations(document):
        security = operation.get("security")
        if security:
            operation["security"] = [
                {name: scopes for requirement in security for name, scopes in requirement.items()}
            ]
        for media in media_types(operation):
            if "example" in media or "examples" in media or "schema" not in media:
                continue
            example = example_of(media["schema"], schemas)
            if example is not _NONE:
                media["example"] = example


def _add_problem_components(document: dict[str, Any]) -> None:
    codes = {
        reference["$ref"].rsplit("/", 1)[-1]
        for operation in operations(document)
        for media in media_types(operation)
        for reference in media.get("examples", {}).values()
        if reference.get("$ref", "").startswith("#/components/examples/")
    }
    components = document.setdefault("components", {})
    for kind, entries in problem_components(codes).items():
        components[kind] = dict(sorted({**components.get(kind, {}), **entries}.items()))


def _put_back_nulls(schema: dict[str, Any]) -> None:
    """FastAPI drops every null from the document, the models' examples' too: put back those
    of required properties that may be null, or the examples would not fit their schemas."""
    nullable = [
        name
        for name in schema.get("required", ())
        if any(
            option.get("type") == "null" for option in schema["properties"][name].get("anyOf", ())
        )
    ]
    for example in schema.get("examples", ()):
        if isinstance(example, dict):
            for name in nullable:
                example.setdefault(name, None)


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for item in document["paths"].values() for operation in item.values()]


def media_types(operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The request body's and every response's media type objects."""
    bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
    return [media for body in bodies for media in body.get("content", {}).values()]


class _NoExample:
    """No example can be composed: some part of the schema has none."""


_NONE: Any = _NoExample()


def example_of(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    """An example of `schema`: its own, or one composed of its parts' (an object of its
    properties' examples, a list of one item); `_NONE` when a required part has none."""
    if "$ref" in schema:
        return example_of(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    if schema.get("examples"):
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "anyOf" in schema:
        return _first_example(schema["anyOf"], schemas)
    if schema.get("type") == "array" and "items" in schema:
        item = example_of(schema["items"], schemas)
        return _NONE if item is _NONE else [item]
    if schema.get("type") == "object" and "properties" in schema:
        return _object_example(schema, schemas)
    return _NONE


def _first_example(options: list[dict[str, Any]], schemas: dict[str, Any]) -> Any:
    for option in options:
        if option.get("type") != "null":
            example = example_of(option, schemas)
            if example is not _NONE:
                return example
    return None if any(option.get("type") == "null" for option in options) else _NONE


def _object_example(schema: dict[str, Any], schemas: dict[str, Any]) -> Any:
    example: dict[str, Any] = {}
    for name, part in schema["properties"].items():
        value = example_of(part, schemas)
        if value is _NONE:
            if name in schema.get("required", ()):
                return _NONE
            continue
        example[name] = value
    return example


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
