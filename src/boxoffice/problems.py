"""Which problems each route may answer, declared where they are raised, and documented from
those declarations.

A route's endpoint, and every dependency that raises a domain error of its own, says which
with `@answers(...)`. `DocumentedRoute` gathers the declarations of an endpoint and of its whole
dependency tree, adds what FastAPI itself may refuse (a malformed request, an oversized body),
and documents one response per status whose `code` is an enum of exactly those codes. The
documented codes and the raised ones therefore come from one list, and the schema-conformance
test (tests/integration/test_api_fuzz.py) fails on any code a route answers without declaring it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from boxoffice.errors import DomainError, PayloadTooLarge, ValidationFailed

PROBLEM_JSON = "application/problem+json"

Call = TypeVar("Call", bound=Callable[..., Any])
_DECLARED = "__boxoffice_answers__"


def answers(*errors: type[DomainError]) -> Callable[[Call], Call]:
    """Declare the domain errors an endpoint or a dependency may raise."""

    def declare(call: Call) -> Call:
        setattr(call, _DECLARED, (*declared_by(call), *errors))
        return call

    return declare


def declared_by(call: Any) -> tuple[type[DomainError], ...]:
    found: tuple[type[DomainError], ...] = getattr(call, _DECLARED, ())
    return found


def answered_by(endpoint: Callable[..., Any], dependant: Dependant) -> set[type[DomainError]]:
    """Everything a route may answer: its endpoint's and its dependencies' declarations, a
    malformed request when it reads any input, an oversized body when it reads a body."""
    found = set(declared_by(endpoint))
    takes_input = takes_body = False
    pending = [dependant]
    while pending:
        current = pending.pop()
        found.update(declared_by(current.call))
        takes_body = takes_body or bool(current.body_params)
        takes_input = takes_input or bool(
            current.path_params
            or current.query_params
            or current.header_params
            or current.cookie_params
            or current.body_params
        )
        pending.extend(current.dependencies)
    if takes_input:
        found.add(ValidationFailed)
    if takes_body:
        found.add(PayloadTooLarge)
    return found


def problem_responses(errors: Iterable[type[DomainError]]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses, one per status, for these errors. They refer to the shared schema and
    examples of `problem_components`."""
    by_status: dict[int, dict[str, type[DomainError]]] = {}
    for error in sorted(errors, key=lambda kind: (kind.status, kind.code, kind.__name__)):
        # Subclasses that share a code (say, a charge out of range is a VALIDATION_ERROR)
        # are documented once, by the first of them.
        by_status.setdefault(error.status, {}).setdefault(error.code, error)
    return {
        status: _response(status, list(codes.values()))
        for status, codes in sorted(by_status.items())
    }


def _response(status: int, errors: list[type[DomainError]]) -> dict[str, Any]:
    lines = "\n".join(f"- `{error.code}`: {_when(error)}" for error in errors)
    codes = [error.code for error in errors]
    headers = {
        name: header for error in errors for name, header in _HEADERS.get(error.code, {}).items()
    }
    return {
        "description": f"{HTTPStatus(status).phrase}, as problem details.\n\n{lines}",
        **({"headers": headers} if headers else {}),
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Problem"},
                        {
                            "type": "object",
                            "properties": {"code": {"type": "string", "enum": codes}},
                        },
                    ]
                },
                "examples": {code: {"$ref": f"#/components/examples/{code}"} for code in codes},
            }
        },
    }


def _when(error: type[DomainError]) -> str:
    return " ".join((error.__doc__ or error.title).split())


def problem_components(codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The `components` the problem responses refer to: the Problem schema, and an example of
    the error of each of these codes, named by the code."""
    wanted = set(codes)
    examples = {
        error.code: {"summary": error.title, "value": example_problem(error)}
        for error in sorted(_every_error(), key=lambda kind: kind.__name__, reverse=True)
        if error.code in wanted
    }
    return {"schemas": {"Problem": PROBLEM_SCHEMA}, "examples": dict(sorted(examples.items()))}


def _every_error() -> list[type[DomainError]]:
    found: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending.extend(kind.__subclasses__())
    return found


# Members some problems carry besides the five of RFC 9457 and `code`, with an example value,
# keyed by the code that carries them.
_MEMBERS: dict[str, dict[str, tuple[dict[str, Any], Any]]] = {
    "VALIDATION_ERROR": {
        "errors": (
            {
                "type": "array",
                "description": "VALIDATION_ERROR: what is wrong, one entry per mistake",
                "items": {
                    "type": "object",
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "msg": {"type": "string"},
                        "type": {"type": "string"},
                    },
                    "required": ["loc", "msg", "type"],
                },
            },
            [
                {
                    "loc": ["body", "seat_id"],
                    "msg": "Input should be a valid integer",
                    "type": "int_type",
                }
            ],
        )
    },
    "QUEUE_NOT_ADMITTED": {
        "position": (
            {
                "type": ["integer", "null"],
                "description": "QUEUE_NOT_ADMITTED: the place in line; null before the opening",
            },
            17,
        ),
        "opens_at": (
            {
                "type": "string",
                "format": "date-time",
                "description": "QUEUE_NOT_ADMITTED before the opening: when the sale opens",
            },
            None,
        ),
    },
    "TICKET_ALREADY_USED": {
        "checked_in_at": (
            {
                "type": "string",
                "format": "date-time",
                "description": "TICKET_ALREADY_USED: when the ticket was checked in",
            },
            "2026-12-24T18:42:07Z",
        )
    },
    "RATE_LIMITED": {
        "retry_after": (
            {"type": "integer", "description": "RATE_LIMITED: seconds to wait, as Retry-After"},
            42,
        )
    },
    "PAYLOAD_TOO_LARGE": {
        "max_body_bytes": (
            {"type": "integer", "description": "PAYLOAD_TOO_LARGE: the largest body taken"},
            65536,
        )
    },
    "SERVICE_UNAVAILABLE": {
        "checks": (
            {
                "type": "object",
                "additionalProperties": {"type": "string", "enum": ["ok", "unreachable"]},
                "description": "SERVICE_UNAVAILABLE from /readyz: what answers and what does not",
            },
            None,
        )
    },
}

# Headers some problems carry (`DomainError.headers`), keyed by code.
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer"},
    }
}
_HEADERS: dict[str, dict[str, Any]] = {
    "RATE_LIMITED": _RETRY_AFTER,
    "SERVICE_UNAVAILABLE": _RETRY_AFTER,
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, with the service's `code`.",
    "properties": {
        "type": {"type": "string", "description": "Always about:blank"},
        "title": {"type": "string", "description": "The code in words"},
        "status": {"type": "integer", "description": "The HTTP status"},
        "detail": {"type": "string", "description": "What happened, for a person"},
        "code": {"type": "string", "description": "What happened, for a program"},
        **{name: schema for members in _MEMBERS.values() for name, (schema, _) in members.items()},
    },
    "required": ["type", "title", "status", "detail", "code"],
}


def example_problem(error: type[DomainError]) -> dict[str, Any]:
    members = {
        name: example
        for name, (_, example) in _MEMBERS.get(error.code, {}).items()
        if example is not None
    }
    return {
        "type": "about:blank",
        "title": error.title,
        "status": error.status,
        "detail": _when(error),
        "code": error.code,
        **members,
    }


class DocumentedRoute(APIRoute):
    """An API route whose error responses are the problems it may answer (`answered_by`).

    Computed whenever they are read, so that `@answers` works above or below the route's own
    decorator."""

    @property
    def responses(self) -> dict[int | str, dict[str, Any]]:
        dependant: Dependant | None = getattr(self, "dependant", None)
        if dependant is None:  # still being built
            return self._declared_responses
        return {
            **self._declared_responses,
            **problem_responses(answered_by(self.endpoint, dependant)),
        }

    @responses.setter
    def responses(self, value: dict[int | str, dict[str, Any]]) -> None:
        self._declared_responses = value
