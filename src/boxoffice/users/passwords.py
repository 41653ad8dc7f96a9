"""Password hashing: Argon2id through argon2-cffi, with cost parameters from the settings.

Hashing and verifying are CPU-bound on purpose (tens of milliseconds with the production
profile), so the async helpers run them in a worker thread: the event loop keeps serving other
requests meanwhile (argon2-cffi releases the GIL while it hashes).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from functools import cached_property, lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from boxoffice.config import Settings


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a password: whether it matched, and whether the stored hash was
    made with other cost parameters than today's and should be replaced by a fresh one."""

    matches: bool
    needs_rehash: bool = False


@dataclass(eq=False)
class Passwords:
    """Hashes new passwords and checks given ones, with one set of cost parameters."""

    hasher: PasswordHasher

    @cached_property
    def dummy_hash(self) -> str:
        """A hash of a random password nobody knows, made with today's parameters. Checking a
        password against it costs what checking against a real user's hash costs, so that an
        unknown email is answered in the same time as a wrong password."""
        return self.hasher.hash(secrets.token_urlsafe(32))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> Verdict:
        """Check `password` against `stored_hash`; with no hash (an unknown email, or an account
        that has no password) check it against the dummy hash and refuse, in the same time."""
        if stored_hash is None:
            self._verify(self.dummy_hash, password)
            return Verdict(matches=False)
        if not self._verify(stored_hash, password):
            return Verdict(matches=False)
        return Verdict(matches=True, needs_rehash=self.hasher.check_needs_rehash(stored_hash))

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            # A damaged stored hash can never match; it must not become a 500.
            return False

    async def hash_in_thread(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_in_thread(self, stored_hash: str | None, password: str) -> Verdict:
        return await asyncio.to_thread(self.verify, stored_hash, password)


def passwords_for(settings: Settings) -> Passwords:
    """The hasher for these settings' cost parameters (one per distinct set, kept)."""
    return _passwords(
        settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
    )


@lru_cache(maxsize=8)
def _passwords(time_cost: int, memory_kib: int, parallelism: int) -> Passwords:
    return Passwords(
        PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
    )
