"""Settings: one object, read from BOXOFFICE_* environment variables and `.env`."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from boxoffice.users.ledger import MAX_BALANCE

DEV_JWT_SECRET = "boxoffice-development-secret-change-me-0123456789"
DEV_ADMIN_KEY = "boxoffice-dev-admin-key"

log = logging.getLogger("boxoffice")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOXOFFICE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///boxoffice.db"
    redis_url: str | None = None
    jwt_secret: str = DEV_JWT_SECRET
    admin_key: str = DEV_ADMIN_KEY
    # Bounded so that `now + ttl` is always a date a token can carry.
    access_token_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0, le=10 * 365 * 24 * 3600)
    hold_ttl_seconds: float = Field(default=300, gt=0)
    hold_limit: int = Field(default=4, ge=1)
    # A charge past the largest balance could never succeed, and past 2**63 it would not even
    # bind as a SQLite integer.
    max_charge: int = Field(default=10_000_000, ge=1, le=MAX_BALANCE)
    queue_max_active: int = Field(default=100, ge=1)
    queue_active_ttl_seconds: float = Field(default=600, gt=0)
    sweep_interval_seconds: float = Field(default=1, gt=0)
    db_pool_size: int = Field(default=20, ge=1, le=1000)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Settings:
        if self.env == "production":
            if self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError("BOXOFFICE_JWT_SECRET must be set when BOXOFFICE_ENV=production")
            if self.admin_key == DEV_ADMIN_KEY:
                raise ValueError("BOXOFFICE_ADMIN_KEY must be set when BOXOFFICE_ENV=production")
        return self

    def warn_about_development_secrets(self) -> None:
        if self.jwt_secret == DEV_JWT_SECRET:
            log.warning("BOXOFFICE_JWT_SECRET is not set: using the development secret")
        if self.admin_key == DEV_ADMIN_KEY:
            log.warning("BOXOFFICE_ADMIN_KEY is not set: the admin key is %r", DEV_ADMIN_KEY)


@lru_cache
def get_settings() -> Settings:
    return Settings()
