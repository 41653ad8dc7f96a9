"""Liveness, readiness and metrics endpoints (outside /api/v1)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from boxoffice.errors import ServiceUnavailable
from boxoffice.line_metrics import line_families
from boxoffice.observability import metrics_response
from boxoffice.problems import PROBLEM_JSON, DocumentedRoute, answers

router = APIRouter(tags=["operations"], route_class=DocumentedRoute)
log = logging.getLogger("boxoffice")


@router.get(
    "/healthz",
    summary="Liveness",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    """`ok` while the process runs, whatever the database and Redis do."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "string", "enum": ["ok"]},
                            "checks": {
                                "type": "object",
                                "additionalProperties": {"type": "string", "enum": ["ok"]},
                            },
                        },
                        "required": ["status", "checks"],
                    },
                    "example": {"status": "ok", "checks": {"database": "ok", "redis": "ok"}},
                }
            }
        }
    },
)
@answers(ServiceUnavailable)
async def readyz(request: Request) -> JSONResponse:
    """`ok` when the database (and Redis, when configured) answer; otherwise a 503 whose
    `checks` says which does not."""
    checks: dict[str, Any] = {}
    try:
        await request.app.state.db.ping()
        checks["database"] = "ok"
    except Exception as error:
        log.warning("readiness: database unreachable: %s", error)
        checks["database"] = "unreachable"
    redis = getattr(request.app.state, "redis", None)
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception as error:
            log.warning("readiness: redis unreachable: %s", error)
            checks["redis"] = "unreachable"
    if all(value == "ok" for value in checks.values()):
        return JSONResponse({"status": "ok", "checks": checks})
    # Unready is an error like any other: problem details, with what failed.
    unready = ServiceUnavailable("The database or Redis cannot be reached.", checks=checks)
    return JSONResponse(
        unready.problem(), status_code=503, media_type=PROBLEM_JSON, headers=unready.headers()
    )


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    responses={
        200: {
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": "# TYPE boxoffice_http_requests_total counter\n"
                    'boxoffice_http_requests_total{method="GET",route="/api/v1/concerts",'
                    'status="200"} 42.0\n',
                }
            }
        }
    },
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies, sales and waiting-room figures, in Prometheus' text
    format; with several workers, their sum."""
    return metrics_response(await line_families(request.app.state.waiting_room))
