"""Access tokens: HS256 JWTs whose `sub` is the user id, refused when tampered with or old."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from boxoffice.auth import ALGORITHM, issue_access_token, user_id_from_token
from boxoffice.config import Settings
from boxoffice.errors import Unauthenticated

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, jwt_secret=SECRET, **overrides)  # type: ignore[arg-type]


def test_an_issued_token_names_its_user() -> None:
    token = issue_access_token(settings(), 42)
    assert user_id_from_token(settings(), token) == 42
    claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM])
    assert claims["sub"] == "42"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_a_token_lives_for_the_configured_time() -> None:
    token = issue_access_token(settings(access_token_ttl_seconds=3600), 1)
    claims = jwt.decode(token, SECRET, algorithms=[ALGORITHM])
    assert claims["exp"] - claims["iat"] == 3600


def test_an_expired_token_is_refused() -> None:
    now = datetime.now(UTC)
    token = jwt.encode(
        {"sub": "1", "iat": now - timedelta(hours=2), "exp": now - timedelta(seconds=1)}, SECRET
    )
    with pytest.raises(Unauthenticated):
        user_id_from_token(settings(), token)


def test_a_token_from_another_secret_is_refused() -> None:
    token = issue_access_token(settings(), 1)
    other = Settings(_env_file=None, jwt_secret="another-secret-another-secret-another!")
    with pytest.raises(Unauthenticated):
        user_id_from_token(other, token)


def test_a_tampered_token_is_refused() -> None:
    header, _, signature = issue_access_token(settings(), 1).split(".")
    forged = jwt.encode({"sub": "2", "exp": datetime.now(UTC) + timedelta(hours=1)}, "x" * 32)
    payload = forged.split(".")[1]
    with pytest.raises(Unauthenticated):
        user_id_from_token(settings(), f"{header}.{payload}.{signature}")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "1"},
        {"exp": 4102444800},
        {"sub": "one", "exp": 4102444800},
        {"sub": "0", "exp": 4102444800},
        {"sub": "-5", "exp": 4102444800},
        {"sub": str(2**63), "exp": 4102444800},
    ],
)
def test_tokens_without_a_valid_user_or_expiry_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        user_id_from_token(settings(), jwt.encode(claims, SECRET))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer x"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(Unauthenticated):
        user_id_from_token(settings(), token)


def test_the_none_algorithm_is_refused() -> None:
    token = jwt.encode({"sub": "1", "exp": 4102444800}, None, algorithm="none")
    with pytest.raises(Unauthenticated):
        user_id_from_token(settings(), token)


def test_a_token_seen_before_is_refused_once_it_expires() -> None:
    """Verified tokens are remembered, and the memory honours the expiry."""
    expires = int(time.time()) + 2
    token = jwt.encode({"sub": "7", "iat": expires - 60, "exp": expires}, SECRET)
    assert user_id_from_token(settings(), token) == 7
    assert user_id_from_token(settings(), token) == 7
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    with pytest.raises(Unauthenticated):
        user_id_from_token(settings(), token)


def test_a_token_seen_under_one_secret_is_refused_under_another() -> None:
    token = issue_access_token(settings(), 5)
    assert user_id_from_token(settings(), token) == 5
    other = Settings(_env_file=None, jwt_secret="another-secret-another-secret-another!")
    with pytest.raises(Unauthenticated):
        user_id_from_token(other, token)
