"""Settings: one object, read from BOXOFFICE_* environment variables and `.env`."""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import Literal

from argon2.profiles import RFC_9106_LOW_MEMORY
from limits import parse
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from boxoffice.money import MAX_BALANCE

# The embedded database: a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite:///boxoffice.db"
DEV_JWT_SECRET = "boxoffice-development-secret-change-me-0123456789"
DEV_ADMIN_KEY = "boxoffice-dev-admin-key"
# HS256 wants a key at least as long as its 256-bit hash; an admin key shorter than this is
# guessable.
MIN_JWT_SECRET_BYTES = 32
MIN_ADMIN_KEY_CHARS = 16

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

log = logging.getLogger("boxoffice")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOXOFFICE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # Put before every Redis key and channel, so that two deployments can share one Redis.
    redis_prefix: str = Field(default="boxoffice:", max_length=100)
    # Never empty, in any environment: an empty admin key would make an empty header an admin.
    jwt_secret: str = Field(default=DEV_JWT_SECRET, min_length=1)
    admin_key: str = Field(default=DEV_ADMIN_KEY, min_length=1)
    # Bounded so that `now + ttl` is always a date a token can carry.
    access_token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0, le=10 * 365 * 24 * 3600)
    hold_ttl_seconds: float = Field(default=300, gt=0)
    hold_limit: int = Field(default=4, ge=1)
    # A charge past the largest balance could never succeed, and past 2**63 it would not even
    # bind as a SQLite integer.
    max_charge: int = Field(default=10_000_000, ge=1, le=MAX_BALANCE)
    queue_max_active: int = Field(default=100, ge=1)
    queue_active_ttl_seconds: float = Field(default=600, gt=0)
    # A waiting place nobody asked about (status, events stream) for this long is given up.
    queue_idle_seconds: float = Field(default=120, gt=0)
    sweep_interval_seconds: float = Field(default=1, gt=0)
    # Bookings a cancelled schedule refunds per transaction.
    cancel_batch_size: int = Field(default=200, ge=1, le=10_000)
    # Room for any body the API takes (a schedule of ~1,500 explicitly listed seats), and no
    # more: a request body is held in memory while it is parsed.
    max_body_bytes: int = Field(default=65536, ge=1024)
    # Argon2id cost of a password hash. The defaults are argon2-cffi's recommended profile
    # (RFC 9106, low memory); tests and the benchmark set cheap ones to stay fast. Memory is in
    # KiB and must be at least 8 per lane.
    password_time_cost: int = Field(default=RFC_9106_LOW_MEMORY.time_cost, ge=1, le=100)
    password_memory_kib: int = Field(default=RFC_9106_LOW_MEMORY.memory_cost, ge=8, le=4 * 1024**2)
    password_parallelism: int = Field(default=RFC_9106_LOW_MEMORY.parallelism, ge=1, le=64)
    # `limits` notation: "10/minute", "100/hour", "5 per second".
    rate_limit_auth: str = "10/minute"
    rate_limit_join: str = "30/minute"
    rate_limit_hold: str = "60/minute"
    # Addresses or networks (comma-separated) whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    # How long a request waits on a dependency before it answers 503 (and changes nothing)
    # instead of piling up behind a database or Redis that is down or slow.
    db_pool_timeout_seconds: float = Field(default=10, gt=0, le=600)
    db_connect_timeout_seconds: float = Field(default=5, gt=0, le=600)
    db_statement_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    redis_socket_timeout_seconds: float = Field(default=5, gt=0, le=600)
    redis_connect_timeout_seconds: float = Field(default=2, gt=0, le=600)
    # Requests one process serves at once; past that, an immediate 503 with Retry-After rather
    # than a queue whose every member waits longer. Three times the default pool: enough to keep
    # the pool and Redis busy, and the benchmark's 64 connections never meet it even if they all
    # land on one worker. Measured with 400 clients on two workers (tests/faults/test_overload.py):
    # 64 kept the p99 of what was served at 3.7 s on a busy machine, 100 let it grow to 8-12 s.
    max_requests_in_flight: int = Field(default=64, ge=1, le=100_000)
    log_level: str = "INFO"
    # How long an idle HTTP connection stays open. Behind a reverse proxy that reuses its
    # connections to the service, it must be longer than the proxy's own idle timeout, or the
    # proxy sends a request on a connection the service is closing and answers 502.
    keep_alive_seconds: int = Field(default=5, ge=1, le=3600)

    @field_validator("rate_limit_auth", "rate_limit_join", "rate_limit_hold")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError as error:
            raise ValueError(f"not a rate such as 10/minute: {value!r}") from error
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        _networks(value)
        return value

    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return _networks(self.trusted_proxies)

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Settings:
        if self.env == "production":
            problems = [*self._jwt_secret_problems(), *self._admin_key_problems()]
            if problems:
                raise ValueError("; ".join(problems))
        return self

    def _jwt_secret_problems(self) -> list[str]:
        if self.jwt_secret == DEV_JWT_SECRET:
            return ["BOXOFFICE_JWT_SECRET must be set when BOXOFFICE_ENV=production"]
        if len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            return [f"BOXOFFICE_JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long"]
        return []

    def _admin_key_problems(self) -> list[str]:
        if self.admin_key == DEV_ADMIN_KEY:
            return ["BOXOFFICE_ADMIN_KEY must be set when BOXOFFICE_ENV=production"]
        if len(self.admin_key) < MIN_ADMIN_KEY_CHARS:
            return [f"BOXOFFICE_ADMIN_KEY must be at least {MIN_ADMIN_KEY_CHARS} characters long"]
        return []

    @model_validator(mode="after")
    def _argon2_needs_eight_kib_per_lane(self) -> Settings:
        if self.password_memory_kib < 8 * self.password_parallelism:
            raise ValueError("BOXOFFICE_PASSWORD_MEMORY_KIB must be at least 8 per lane")
        return self

    def warn_about_development_secrets(self) -> None:
        if self.jwt_secret == DEV_JWT_SECRET:
            log.warning("BOXOFFICE_JWT_SECRET is not set: using the development secret")
        if self.admin_key == DEV_ADMIN_KEY:
            log.warning("BOXOFFICE_ADMIN_KEY is not set: the admin key is %r", DEV_ADMIN_KEY)


def _networks(addresses: str) -> tuple[IPNetwork, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in addresses.split(",")
            if part.strip()
        )
    except ValueError as error:
        raise ValueError(f"not a list of addresses or networks: {addresses!r}") from error


def environment_variables() -> list[str]:
    """`BOXOFFICE_NAME (default: value)` for every setting, for `boxoffice --help`."""
    shown = {"jwt_secret": "a development secret", "admin_key": "a development key"}
    lines = []
    for name, field in Settings.model_fields.items():
        default = shown.get(name, "unset" if field.default is None else repr(field.default))
        lines.append(f"BOXOFFICE_{name.upper()} (default: {default})")
    return lines


@lru_cache
def get_settings() -> Settings:
    return Settings()
