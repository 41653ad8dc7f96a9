"""Liveness, readiness and metrics endpoints (outside /api/v1)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from boxoffice.api import PROBLEM_JSON, problems
from boxoffice.errors import ServiceUnavailable
from boxoffice.line_metrics import line_families
from boxoffice.observability import metrics_response

router = APIRouter(tags=["operations"])
log = logging.getLogger("boxoffice")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=problems(503))
async def readyz(request: Request) -> JSONResponse:
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


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return metrics_response(await line_families(request.app.state.waiting_room))
