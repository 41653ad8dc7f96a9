"""compose.yaml, the Dockerfile and the Caddyfile checked against the service's settings.

Docker cannot run here; these tests read the files and hold them to what the code accepts.
"""

from __future__ import annotations

from typing import Any

import pytest

from boxoffice.config import Settings
from tests.shipping import deployment
from tests.shipping.deployment import PRODUCTION_ADMIN_KEY, PRODUCTION_JWT_SECRET

SETTING_NAMES = {f"BOXOFFICE_{name.upper()}" for name in Settings.model_fields}


def boxoffice_variables(service: dict[str, Any]) -> dict[str, str]:
    environment: dict[str, str] = service.get("environment", {})
    return {key: value for key, value in environment.items() if key.startswith("BOXOFFICE_")}


def test_two_instances_of_the_image_run_the_service() -> None:
    instances = deployment.serving_services()
    assert len(instances) == 2
    for service in instances.values():
        assert service["restart"] == "unless-stopped"
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_boxoffice_variable_compose_sets_is_a_setting() -> None:
    for name, service in deployment.services().items():
        unknown = set(boxoffice_variables(service)) - SETTING_NAMES
        assert not unknown, f"{name} sets variables the service does not read: {unknown}"


def test_the_settings_compose_gives_are_valid_in_production() -> None:
    """The literal values validate; the interpolated ones (secrets, the database password) stand
    in for what `.env` gives."""
    for service in deployment.boxoffice_services().values():
        variables = boxoffice_variables(service)
        values: dict[str, Any] = {
            key.removeprefix("BOXOFFICE_").lower(): value
            for key, value in variables.items()
            if not deployment.interpolated(value)
        }
        values |= {"jwt_secret": PRODUCTION_JWT_SECRET, "admin_key": PRODUCTION_ADMIN_KEY}
        settings = Settings(_env_file=None, **values)
        assert settings.env == "production"
        assert deployment.interpolated(variables["BOXOFFICE_JWT_SECRET"])
        assert deployment.interpolated(variables["BOXOFFICE_ADMIN_KEY"])
        # PostgreSQL and Redis, the services compose runs, not the SQLite default.
        assert variables["BOXOFFICE_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in variables["BOXOFFICE_DATABASE_URL"]
        assert variables["BOXOFFICE_REDIS_URL"].startswith("redis://redis:6379/")


def test_the_service_keeps_idle_connections_longer_than_the_proxy() -> None:
    proxy_idle = deployment.caddy_keepalive_seconds()
    for service in deployment.serving_services().values():
        variables = boxoffice_variables(service)
        assert int(variables["BOXOFFICE_KEEP_ALIVE_SECONDS"]) > proxy_idle


def test_the_proxy_forwards_to_both_instances_on_their_port() -> None:
    expected = []
    for name, service in deployment.serving_services().items():
        command = service["command"]
        expected.append(f"{name}:{command[command.index('--port') + 1]}")
    assert sorted(deployment.caddy_upstreams()) == sorted(expected)
    caddy = deployment.services()["caddy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]


def test_redis_persists_with_an_append_only_file() -> None:
    command = deployment.services()["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    # The waiting room must never lose keys to eviction.
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(volume.endswith(":/data") for volume in deployment.services()["redis"]["volumes"])


def test_postgres_has_room_for_every_connection_pool() -> None:
    postgres = deployment.services()["postgres"]
    command = postgres["command"]
    max_connections = int(
        next(arg.split("=")[1] for arg in command if arg.startswith("max_connections="))
    )
    pools = 0
    for service in deployment.serving_services().values():
        arguments = service["command"]
        workers = int(arguments[arguments.index("--workers") + 1])
        pools += workers * int(boxoffice_variables(service)["BOXOFFICE_DB_POOL_SIZE"])
    # Room left for the migrations, backups and an operator's psql.
    assert pools + 10 <= max_connections


def test_migrations_run_once_before_the_instances() -> None:
    migrate = deployment.services()["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"


@pytest.mark.parametrize("instruction", ["ENTRYPOINT", "CMD", "HEALTHCHECK"])
def test_the_image_uses_exec_form(instruction: str) -> None:
    # Exec form: the server is PID 1's child directly and gets the stop signal.
    assert deployment.dockerfile_instruction(instruction)


def test_the_image_runs_as_a_user_of_its_own() -> None:
    runtime = deployment.DOCKERFILE.read_text().rsplit("\nFROM ", 1)[1]
    users = [line.split()[1] for line in runtime.splitlines() if line.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0"))
    assert "AS build" in deployment.DOCKERFILE.read_text()
    assert "COPY --from=build /app/.venv /app/.venv" in runtime
