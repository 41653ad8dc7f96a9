"""create_app(): wiring of settings, database, Redis, the sweeper, routers, error handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException

from boxoffice import openapi, ops, rate_limit_storage, web
from boxoffice.api import UNREACHABLE
from boxoffice.body_limit import BodyLimitMiddleware
from boxoffice.booking import expiry, show_cancellation
from boxoffice.booking.router import router as booking_router
from boxoffice.catalog import counters
from boxoffice.catalog.router import admin as catalog_admin_router
from boxoffice.catalog.router import router as catalog_router
from boxoffice.clock import utcnow
from boxoffice.config import Settings, get_settings
from boxoffice.db import Database, Timeouts, is_unavailable
from boxoffice.errors import DomainError, ServiceUnavailable, ValidationFailed
from boxoffice.idempotency import store as idempotency
from boxoffice.idempotency.http import Replayed, replay_response
from boxoffice.live import changelog
from boxoffice.live.hub import LiveSeats
from boxoffice.live.router import router as live_router
from boxoffice.load_shedding import LoadSheddingMiddleware
from boxoffice.observability import ObservabilityMiddleware
from boxoffice.operator.router import router as operator_router
from boxoffice.problems import PROBLEM_JSON
from boxoffice.queue.backend import WaitingRoom
from boxoffice.queue.database_backend import DatabaseWaitingRoom
from boxoffice.queue.redis_backend import RedisWaitingRoom
from boxoffice.queue.router import admin as queue_admin_router
from boxoffice.queue.router import router as queue_router
from boxoffice.rate_limits import build_rate_limits
from boxoffice.redis_connection import connect
from boxoffice.sweeper import Sweeper, throttled
from boxoffice.tickets.router import admin as tickets_admin_router
from boxoffice.tickets.router import router as tickets_router
from boxoffice.users.router import router as users_router

log = logging.getLogger("boxoffice")

API_PREFIX = "/api/v1"
# Keys are kept for a day; deleting the old ones once a minute per process is plenty.
PURGE_IDEMPOTENCY_KEYS_EVERY_SECONDS = 60.0
PRUNE_SEAT_CHANGES_EVERY_SECONDS = 30.0
FORGET_ENDED_ADMISSIONS_EVERY_SECONDS = 60.0
DOCS_ASSETS = "/docs/assets"
SWAGGER_UI_PARAMETERS = {
    # Swagger UI would otherwise show a badge fetched from validator.swagger.io.
    "validatorUrl": None,
    # The bearer token, admin key and queue token entered under Authorize survive a reload.
    "persistAuthorization": True,
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(
            settings.database_url, pool_size=settings.db_pool_size, timeouts=_timeouts(settings)
        )
        app.state.db = db
        redis = (
            connect(
                settings.redis_url,
                socket_timeout=settings.redis_socket_timeout_seconds,
                connect_timeout=settings.redis_connect_timeout_seconds,
            )
            if settings.redis_url
            else None
        )
        app.state.redis = redis
        room: WaitingRoom = (
            RedisWaitingRoom(redis, settings) if redis else DatabaseWaitingRoom(db, settings)
        )
        app.state.waiting_room = room
        live_seats = LiveSeats(db, redis, settings.redis_prefix)
        app.state.live_seats = live_seats
        app.state.rate_limits = build_rate_limits(settings, db)
        sweeper = Sweeper(
            {
                "purge rate-limit counters": throttled(
                    lambda: rate_limit_storage.purge_expired(db),
                    PURGE_IDEMPOTENCY_KEYS_EVERY_SECONDS,
                ),
                "expire holds": lambda: expiry.sweep_expired_holds(db),
                "finish cancelled schedules": lambda: show_cancellation.finish_cancelled_schedules(
                    db, settings.cancel_batch_size
                ),
                "fold seat counts": lambda: counters.fold(db),
                "purge idempotency keys": throttled(
                    lambda: idempotency.purge_expired(db), PURGE_IDEMPOTENCY_KEYS_EVERY_SECONDS
                ),
                "admit from waiting rooms": room.tick,
                "forget ended admissions": throttled(
                    lambda: expiry.forget_ended_admissions(db, settings.queue_active_ttl_seconds),
                    FORGET_ENDED_ADMISSIONS_EVERY_SECONDS,
                ),
                "prune seat changes": throttled(
                    lambda: changelog.prune(db, utcnow() - changelog.RETENTION),
                    PRUNE_SEAT_CHANGES_EVERY_SECONDS,
                ),
            },
            settings.sweep_interval_seconds,
        )
        app.state.sweeper = sweeper
        sweeper.start()
        try:
            yield
        finally:
            await sweeper.stop()
            await live_seats.close()
            if redis is not None:
                await redis.aclose()
            await db.dispose()

    # /docs and /redoc with Swagger UI's and ReDoc's files from the installed fastapi-offline
    # package: the docs work on a machine without internet.
    app = FastAPIOffline(
        title="boxoffice",
        version="0.1.0",
        summary="Concert-ticket reservation built for ticket drops.",
        lifespan=lifespan,
        static_url=DOCS_ASSETS,
        favicon_url=f"{DOCS_ASSETS}/favicon.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        generate_unique_id_function=openapi.operation_id,
        # FastAPI's own OpenTelemetry hooks, unused here (metrics are Prometheus, at /metrics):
        # switched off, a request no longer asks three telemetry providers whether they are set.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # User ids this process has seen to exist (see `auth.require_existing_user`).
    app.state.known_users = set()
    # Added first, so it runs inside the observability middleware: refused bodies are counted
    # and logged like every other answer.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    # Outside the body limit (a refused request never reaches it) and inside observability
    # (requests turned away are counted and logged as 503s).
    app.add_middleware(LoadSheddingMiddleware, max_in_flight=settings.max_requests_in_flight)
    app.add_middleware(ObservabilityMiddleware)
    # Busiest first: FastAPI finds a request's route by trying the included routers' routes one
    # by one, a few microseconds each, and most requests are concert and seat reads, status
    # polls, holds and payments. No two routes match the same request, so the order changes
    # nothing else; the docs keep their own order (`openapi.TAGS`).
    for router in (
        catalog_router,
        queue_router,
        booking_router,
        live_router,
        tickets_router,
        users_router,
        catalog_admin_router,
        operator_router,
        queue_admin_router,
        tickets_admin_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(ops.router)
    openapi.install(app)
    web.install(app)
    _install_error_handlers(app)
    return app


def _timeouts(settings: Settings) -> Timeouts:
    return Timeouts(
        pool=settings.db_pool_timeout_seconds,
        connect=settings.db_connect_timeout_seconds,
        statement=settings.db_statement_timeout_seconds,
    )


def problem_response(error: DomainError) -> JSONResponse:
    return JSONResponse(
        error.problem(), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers()
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        return problem_response(error)

    @app.exception_handler(Replayed)
    async def replayed(_: Request, replay: Replayed) -> JSONResponse:
        return replay_response(replay.replay)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": list(e.get("loc", ())),
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in error.errors()
        ]
        return problem_response(
            ValidationFailed("The request is malformed; see errors.", errors=errors)
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code == 404 and web.wants_page(request):
            return web.page_not_found(request)
        if error.status_code == 400:
            # FastAPI's answer to a body it cannot decode at all (not UTF-8); the contract
            # calls every unreadable request a validation error.
            return problem_response(
                ValidationFailed(
                    "The request body cannot be read as JSON.",
                    errors=[{"loc": ["body"], "msg": str(error.detail), "type": "json_invalid"}],
                )
            )
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": _http_title(error.status_code),
            "status": error.status_code,
            "detail": str(error.detail),
            "code": _http_title(error.status_code).upper().replace(" ", "_"),
        }
        return JSONResponse(
            body, status_code=error.status_code, media_type=PROBLEM_JSON, headers=error.headers
        )

    async def unreachable(_: Request, error: Exception) -> JSONResponse:
        log.warning("dependency unreachable: %s", error)
        return problem_response(
            ServiceUnavailable("The database or Redis cannot be reached; nothing was changed.")
        )

    # Registered per type, not in the catch-all below: Starlette runs the catch-all outside
    # every middleware, so metrics and access logs would record these answers as 500s.
    for kind in UNREACHABLE:
        app.add_exception_handler(kind, unreachable)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        # A database shutting down, starting up or out of connections is only "not now".
        if is_unavailable(error):
            return await unreachable(request, error)
        return _internal_error(error)

    @app.exception_handler(RuntimeError)
    async def runtime_error(request: Request, error: RuntimeError) -> JSONResponse:
        if _redis_went_away(error):
            return await unreachable(request, error)
        return _internal_error(error)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        return _internal_error(error)


def _redis_went_away(error: RuntimeError) -> bool:
    """redis-py writing on a connection a restarting Redis has just closed meets asyncio's
    "unable to perform operation on <TCPTransport closed=True ...>": Redis is away, not broken."""
    message = str(error)
    return message.startswith("unable to perform operation on") and "closed" in message


def _internal_error(error: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=error)
    return JSONResponse(
        {
            "type": "about:blank",
            "title": "Internal error",
            "status": 500,
            "detail": "An unexpected error occurred.",
            "code": "INTERNAL_ERROR",
        },
        status_code=500,
        media_type=PROBLEM_JSON,
    )


def _http_title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
