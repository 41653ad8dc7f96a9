"""The `boxoffice` command."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from boxoffice import db_admin
from boxoffice.config import DEV_ADMIN_KEY, Settings, environment_variables, get_settings
from boxoffice.db import Database
from boxoffice.migrate import describe, head, upgrade
from boxoffice.observability import configure_logging

T = TypeVar("T")

app = typer.Typer(
    help="boxoffice: concert-ticket reservation service.",
    epilog="Settings come from these environment variables (and a .env file):\n\n"
    + "\n\n".join(environment_variables()),
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _settings() -> Settings:
    """The settings, or a short message naming each bad variable and exit code 2, rather than
    a traceback, when the environment is wrong (say, development secrets in production)."""
    try:
        return get_settings()
    except ValidationError as error:
        typer.echo("boxoffice: invalid configuration", err=True)
        for problem in error.errors():
            where = f"BOXOFFICE_{str(problem['loc'][0]).upper()}: " if problem["loc"] else ""
            typer.echo(f"  {where}{problem['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(code=2) from None


def serving_app() -> FastAPI:
    """The factory each server worker calls: logs as JSON lines, then builds the app."""
    from boxoffice.app import create_app
    from boxoffice.gc_tuning import tune_for_serving

    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_for_serving()
    return app


async def _load_demo(url: str) -> bool:
    from boxoffice.catalog.demo import load_demo_if_empty

    db = Database(url)
    try:
        return await load_demo_if_empty(db)
    finally:
        await db.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    demo: Annotated[bool, typer.Option(help="Load a demo concert into an empty database")] = False,
) -> None:
    """Run the HTTP API."""
    settings = _settings()
    configure_logging(settings.log_level)
    settings.warn_about_development_secrets()
    if settings.admin_key == DEV_ADMIN_KEY:
        typer.echo(f"admin key (development): {settings.admin_key}", err=True)
    if settings.database_url.startswith("sqlite"):
        upgrade(settings.database_url)
    if demo:
        loaded = asyncio.run(_load_demo(settings.database_url))
        typer.echo(_demo_report(settings.database_url, loaded), err=True)
    typer.echo(f"boxoffice: open {page_address(host, port)} in a browser (operator: /admin)")
    with _shared_metrics(workers):
        uvicorn.run(
            "boxoffice.cli:serving_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            timeout_keep_alive=settings.keep_alive_seconds,
            access_log=False,
            log_config=None,
            # The client address is the service's to judge (BOXOFFICE_TRUSTED_PROXIES): left
            # on, uvicorn would take X-Forwarded-For from any peer on 127.0.0.1 as the address.
            proxy_headers=False,
        )


def _demo_report(url: str, loaded: bool) -> str:
    """What `serve --demo` did, where the data lives, and how to start over: the data outlives
    the server, which a demo's user does not expect unless told."""
    what = (
        "loaded the demo concert"
        if loaded
        else "the database already has concerts; the demo concert is not loaded again"
    )
    path = db_admin.sqlite_path(url)
    where = str(path.resolve()) if path is not None else describe(url)
    if db_admin.is_embedded(url):
        reset = "boxoffice db reset"
    elif path is not None:
        reset = "boxoffice db reset --yes"
    else:
        reset = "boxoffice db reset --yes --force"
    return (
        f"{what}\ndemo data: {where} (kept across restarts)\n"
        f"to start over: stop the server, then run `{reset}`"
    )


def page_address(host: str, port: int) -> str:
    """Where a person on this machine opens the pages: a wildcard bind is reached locally."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, each writes its metrics to one directory and /metrics adds them
    up. A directory made here is removed when the server stops; one given in
    PROMETHEUS_MULTIPROC_DIR is the caller's to keep."""
    if workers == 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="boxoffice-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to BOXOFFICE_DATABASE_URL and say which ones it applied."""
    settings = _settings()
    where = describe(settings.database_url)
    applied = _or_exit(db_admin.upgrade_reporting(settings.database_url))
    if applied:
        typer.echo(f"{where}: applied {', '.join(applied)}")
    else:
        typer.echo(f"{where}: already at the newest revision, {head()}")


@db_app.command("reset")
def db_reset(
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: throw away every row of this database")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Allow resetting a PostgreSQL database (with --yes)")
    ] = False,
) -> None:
    """Start over: drop the database and create it afresh, migrated and empty.

    The embedded SQLite database (boxoffice.db in the working directory, the default) is reset
    at once. Any other SQLite file needs --yes; a PostgreSQL database needs --yes --force.
    """
    settings = _settings()
    url = settings.database_url
    where = describe(url)
    if db_admin.sqlite_path(url) is None and not (yes and force):
        typer.echo(f"boxoffice: refusing to reset {where} without --yes --force", err=True)
        raise typer.Exit(code=2)
    if not db_admin.is_embedded(url) and not yes:
        typer.echo(f"boxoffice: refusing to reset {where} without --yes", err=True)
        raise typer.Exit(code=2)
    _or_exit(db_admin.reset(url))
    typer.echo(f"{where}: reset; empty and at revision {head()}")


def _or_exit(work: Coroutine[Any, Any, T]) -> T:
    """Run `work`; a database that is missing, unreachable or not migrated is one line on
    stderr and exit code 2, not a traceback."""
    try:
        return asyncio.run(work)
    except db_admin.DatabaseNotReady as error:
        typer.echo(f"boxoffice: {error}", err=True)
        raise typer.Exit(code=2) from None
    except db_admin.UNREACHABLE as error:
        typer.echo(f"boxoffice: cannot use the database: {_first_line(error)}", err=True)
        raise typer.Exit(code=2) from None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


async def _audit(url: str) -> bool:
    from boxoffice.audit import run_audit

    await db_admin.check_migrated(url)
    db = Database(url)
    try:
        results = await run_audit(db)
    finally:
        await db.dispose()
    typer.echo(f"audit of {describe(url)}")
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        typer.echo(f"{mark} {result.name} ({result.checked} checked)")
        for violation in result.violations[:10]:
            typer.echo(f"       violation: {violation}")
        if len(result.violations) > 10:
            typer.echo(f"       ... and {len(result.violations) - 10} more")
    return all(result.ok for result in results)


@app.command("openapi")
def openapi_document(
    output: Annotated[
        Path | None,
        typer.Option(help="Write it to this file (docs/openapi.json in the repository)"),
    ] = None,
) -> None:
    """Print the OpenAPI document the service serves at /openapi.json, or write it to a file."""
    from boxoffice.app import create_app
    from boxoffice.openapi import render

    # The document the service serves, whatever the settings (they change no route). The app
    # is never started: building it touches no database.
    settings = Settings(_env_file=None, env="development", database_url="sqlite:///unused.db")
    text = render(create_app(settings).openapi())
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command()
def audit() -> None:
    """Check every invariant of the data; exits 1 on any violation, 2 when the database is
    missing, unreachable or not migrated."""
    settings = _settings()
    if not _or_exit(_audit(settings.database_url)):
        raise typer.Exit(code=1)
