"""Password hashing: Argon2id with the configured costs, and the same work for every refusal."""

from __future__ import annotations

from typing import Literal

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY

from boxoffice.config import Settings
from boxoffice.users.passwords import Passwords, passwords_for


class CountingHasher(PasswordHasher):
    """The real hasher, counting the verifications it runs and the hashes they were against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified.append(hash if isinstance(hash, str) else hash.decode())
        return super().verify(hash, password)


def test_production_defaults_are_the_libraries_recommended_profile() -> None:
    settings = Settings(_env_file=None)
    assert (
        settings.password_time_cost,
        settings.password_memory_kib,
        settings.password_parallelism,
    ) == (
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )


def test_costs_come_from_the_settings() -> None:
    settings = Settings(
        _env_file=None, password_time_cost=2, password_memory_kib=32, password_parallelism=2
    )
    parameters = extract_parameters(passwords_for(settings).hash("a password"))
    assert parameters.type is Type.ID
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (2, 32, 2)


def test_too_little_memory_for_the_lanes_is_refused() -> None:
    with pytest.raises(ValueError, match="8 per lane"):
        Settings(_env_file=None, password_memory_kib=8, password_parallelism=2)


def test_a_missing_hash_costs_one_verification_against_a_hash_of_todays_costs() -> None:
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    real = passwords.hash("the right one")
    assert not passwords.verify(real, "a wrong one").matches
    assert not passwords.verify(None, "the right one").matches
    assert len(hasher.verified) == 2
    assert hasher.verified[0] == real
    # The second ran against the dummy, made with the same parameters as a real hash.
    assert extract_parameters(hasher.verified[1]) == extract_parameters(real)


def test_the_right_password_matches_and_old_costs_ask_for_a_rehash() -> None:
    passwords = Passwords(CountingHasher())
    fresh = passwords.hash("the right one")
    assert passwords.verify(fresh, "the right one") == passwords.verify(fresh, "the right one")
    assert passwords.verify(fresh, "the right one").matches
    assert not passwords.verify(fresh, "the right one").needs_rehash
    old = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1).hash("the right one")
    verdict = passwords.verify(old, "the right one")
    assert verdict.matches and verdict.needs_rehash


@pytest.mark.parametrize("stored", ["", "garbage", "$argon2id$v=19$m=8,t=1,p=1$AAAA$BBBB"])
def test_a_damaged_hash_never_matches(stored: str) -> None:
    assert not Passwords(CountingHasher()).verify(stored, "anything").matches
