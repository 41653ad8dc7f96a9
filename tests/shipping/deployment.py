"""Reading the shipped deployment files: compose.yaml, the Dockerfile, the Caddyfile."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
CADDYFILE = ROOT / "deploy" / "Caddyfile"

# What `.env` would give: secrets long enough for production.
PRODUCTION_JWT_SECRET = "0123456789abcdef" * 4
PRODUCTION_ADMIN_KEY = "fedcba9876543210" * 2

# `${NAME:?message}` and `${NAME:-default}`: compose fills these from `.env` at start-up.
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def boxoffice_services() -> dict[str, dict[str, Any]]:
    """The services that run the boxoffice image."""
    return {
        name: service
        for name, service in services().items()
        if service.get("image") == "boxoffice:latest"
    }


def serving_services() -> dict[str, dict[str, Any]]:
    """The instances of the image that serve the API."""
    return {
        name: service
        for name, service in boxoffice_services().items()
        if service.get("command", [])[:1] == ["serve"]
    }


def interpolated(value: str) -> bool:
    return bool(_INTERPOLATION.search(value))


def dockerfile_instruction(name: str) -> list[str]:
    """The JSON (exec) form of the runtime stage's last `name` instruction."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    runtime = text.rsplit("\nFROM ", 1)[1]
    lines = [line.strip() for line in runtime.splitlines()]
    matching = [line for line in lines if line.startswith(f"{name} ")]
    assert matching, f"the runtime stage has no {name}"
    argument = matching[-1].removeprefix(f"{name} ")
    if name == "HEALTHCHECK":
        argument = argument[argument.index("CMD ") + len("CMD ") :]
    command: list[str] = json.loads(argument)
    return command


def caddy_keepalive_seconds() -> int:
    """The proxy's idle timeout for its connections to the instances."""
    match = re.search(r"^\s*keepalive\s+(\d+)s\s*$", CADDYFILE.read_text(), re.MULTILINE)
    assert match, "the Caddyfile sets no upstream keepalive"
    return int(match.group(1))


def caddy_upstreams() -> list[str]:
    match = re.search(r"^\s*reverse_proxy\s+([^{]+)\{", CADDYFILE.read_text(), re.MULTILINE)
    assert match, "the Caddyfile has no reverse_proxy"
    return match.group(1).split()
