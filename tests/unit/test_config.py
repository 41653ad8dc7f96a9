"""Settings: environment variables, defaults, and no development secrets in production."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from boxoffice.config import DEV_ADMIN_KEY, DEV_JWT_SECRET, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No BOXOFFICE_* variable and no .env file of the caller's leaks into these tests."""
    for name in list(os.environ):
        if name.startswith("BOXOFFICE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_contract() -> None:
    settings = Settings()
    assert settings.env == "development"
    assert settings.database_url == "sqlite:///boxoffice.db"
    assert settings.redis_url is None
    assert (settings.hold_ttl_seconds, settings.hold_limit) == (300, 4)
    assert settings.max_charge == 10_000_000
    assert (settings.queue_max_active, settings.queue_active_ttl_seconds) == (100, 600)
    assert settings.sweep_interval_seconds == 1
    assert settings.jwt_secret == DEV_JWT_SECRET and settings.admin_key == DEV_ADMIN_KEY


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOXOFFICE_MAX_CHARGE", "500")
    monkeypatch.setenv("BOXOFFICE_HOLD_TTL_SECONDS", "2.5")
    monkeypatch.setenv("BOXOFFICE_REDIS_URL", "redis://cache:6379/0")
    settings = Settings()
    assert settings.max_charge == 500
    assert settings.hold_ttl_seconds == 2.5
    assert settings.redis_url == "redis://cache:6379/0"


def test_a_dot_env_file_is_read() -> None:
    Path(".env").write_text("BOXOFFICE_HOLD_LIMIT=7\n")
    assert Settings().hold_limit == 7


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_CHARGE", "0"),
        ("MAX_CHARGE", str(10**15)),
        ("ACCESS_TOKEN_TTL_SECONDS", str(10**12)),
        ("HOLD_LIMIT", "-1"),
        ("SWEEP_INTERVAL_SECONDS", "0"),
        ("ENV", "prod"),
    ],
)
def test_nonsense_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"BOXOFFICE_{name}", value)
    with pytest.raises(ValidationError):
        Settings()


def test_production_refuses_the_development_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOXOFFICE_ENV", "production")
    monkeypatch.setenv("BOXOFFICE_ADMIN_KEY", "a-real-admin-key")
    with pytest.raises(ValidationError, match="BOXOFFICE_JWT_SECRET"):
        Settings()


def test_production_refuses_the_development_admin_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOXOFFICE_ENV", "production")
    monkeypatch.setenv("BOXOFFICE_JWT_SECRET", "a-real-secret-a-real-secret-a-real-secret")
    with pytest.raises(ValidationError, match="BOXOFFICE_ADMIN_KEY"):
        Settings()


REAL_SECRET = "a-real-secret-a-real-secret-a-real-secret"
REAL_ADMIN_KEY = "a-real-admin-key"


@pytest.mark.parametrize(
    ("jwt_secret", "admin_key", "named"),
    [
        ("", REAL_ADMIN_KEY, "jwt_secret"),
        ("x", REAL_ADMIN_KEY, "BOXOFFICE_JWT_SECRET must be at least 32 bytes"),
        ("s" * 31, REAL_ADMIN_KEY, "BOXOFFICE_JWT_SECRET must be at least 32 bytes"),
        # 16 characters but only 31 bytes would do: the length that counts is in bytes.
        ("\u00e9" * 15 + "s", REAL_ADMIN_KEY, "BOXOFFICE_JWT_SECRET must be at least 32 bytes"),
        (REAL_SECRET, "", "admin_key"),
        (REAL_SECRET, "k", "BOXOFFICE_ADMIN_KEY must be at least 16 characters"),
        (REAL_SECRET, "k" * 15, "BOXOFFICE_ADMIN_KEY must be at least 16 characters"),
        (REAL_SECRET, DEV_ADMIN_KEY, "BOXOFFICE_ADMIN_KEY must be set"),
        (DEV_JWT_SECRET, REAL_ADMIN_KEY, "BOXOFFICE_JWT_SECRET must be set"),
    ],
)
def test_production_refuses_weak_secrets(
    monkeypatch: pytest.MonkeyPatch, jwt_secret: str, admin_key: str, named: str
) -> None:
    monkeypatch.setenv("BOXOFFICE_ENV", "production")
    monkeypatch.setenv("BOXOFFICE_JWT_SECRET", jwt_secret)
    monkeypatch.setenv("BOXOFFICE_ADMIN_KEY", admin_key)
    with pytest.raises(ValidationError, match=named):
        Settings()


@pytest.mark.parametrize("name", ["JWT_SECRET", "ADMIN_KEY"])
def test_an_empty_secret_is_refused_in_every_environment(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"BOXOFFICE_{name}", "")
    with pytest.raises(ValidationError):
        Settings()


def test_production_runs_with_secrets_just_long_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOXOFFICE_ENV", "production")
    monkeypatch.setenv("BOXOFFICE_JWT_SECRET", "s" * 32)
    monkeypatch.setenv("BOXOFFICE_ADMIN_KEY", "k" * 16)
    assert Settings().env == "production"


def test_production_runs_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOXOFFICE_ENV", "production")
    monkeypatch.setenv("BOXOFFICE_JWT_SECRET", "a-real-secret-a-real-secret-a-real-secret")
    monkeypatch.setenv("BOXOFFICE_ADMIN_KEY", "a-real-admin-key")
    assert Settings().env == "production"


def test_development_warns_about_its_secrets(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="boxoffice")
    Settings().warn_about_development_secrets()
    text = caplog.text
    assert "BOXOFFICE_JWT_SECRET" in text and "BOXOFFICE_ADMIN_KEY" in text


def test_serve_names_the_page_a_person_can_open() -> None:
    from boxoffice.cli import page_address

    assert page_address("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert page_address("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert page_address("::1", 8000) == "http://[::1]:8000/"
