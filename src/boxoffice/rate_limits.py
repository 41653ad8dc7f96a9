"""Rate limits against bots, as FastAPI dependencies: sign-ups and logins and queue joins per
client address, holds per user (the hold's own admission dependency applies that one).

Counting is the `limits` library's fixed window, kept where every process sees it: Redis when
BOXOFFICE_REDIS_URL is set (keys under BOXOFFICE_REDIS_PREFIX), the database otherwise. Attach
a limit to a route with `dependencies=[AuthRateLimit]` (or the join one).
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.aio.storage import RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from boxoffice.config import IPNetwork, Settings
from boxoffice.db import Database
from boxoffice.errors import RateLimited, ServiceUnavailable
from boxoffice.problems import answers
from boxoffice.rate_limit_storage import DatabaseStorage


@dataclass(frozen=True)
class RateLimits:
    limiter: FixedWindowRateLimiter
    auth: RateLimitItem
    join: RateLimitItem
    hold: RateLimitItem
    trusted_proxies: tuple[IPNetwork, ...]

    async def hit(self, item: RateLimitItem, kind: str, who: str) -> None:
        if await self.limiter.hit(item, kind, who):
            return
        stats = await self.limiter.get_window_stats(item, kind, who)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Too many requests of this kind; try again in {retry_after} seconds.",
            retry_after=retry_after,
        )


def build_rate_limits(settings: Settings, db: Database) -> RateLimits:
    storage: Storage = _redis_storage(settings) if settings.redis_url else DatabaseStorage(db)
    return RateLimits(
        limiter=FixedWindowRateLimiter(storage),
        auth=parse(settings.rate_limit_auth),
        join=parse(settings.rate_limit_join),
        hold=parse(settings.rate_limit_hold),
        trusted_proxies=settings.trusted_proxy_networks(),
    )


def _redis_storage(settings: Settings) -> Storage:
    url = settings.redis_url or ""
    kind = RedisClusterStorage if "+cluster://" in url else RedisStorage
    # The same timeouts as the service's own Redis client: a Redis that hangs is a 503.
    return kind(
        url,
        implementation="redispy",
        key_prefix=f"{settings.redis_prefix}ratelimit",
        socket_timeout=settings.redis_socket_timeout_seconds,
        socket_connect_timeout=settings.redis_connect_timeout_seconds,
    )


def client_address(request: Request, trusted: tuple[IPNetwork, ...]) -> str:
    """The socket's peer; behind a trusted proxy, the nearest address in X-Forwarded-For that
    is not itself a trusted proxy (an address a client wrote there itself is never believed)."""
    peer = request.client.host if request.client else "unknown"
    if not _is_trusted(peer, trusted):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


@answers(RateLimited, ServiceUnavailable)
async def limit_auth(request: Request) -> None:
    limits = _limits(request)
    await limits.hit(limits.auth, "auth", client_address(request, limits.trusted_proxies))


@answers(RateLimited, ServiceUnavailable)
async def limit_join(request: Request) -> None:
    limits = _limits(request)
    await limits.hit(limits.join, "join", client_address(request, limits.trusted_proxies))


async def limit_holds(request: Request, user_id: int) -> None:
    """Holds per user. Called by the hold's admission dependency (`queue.gate`), which knows
    the user already, rather than being a dependency of its own: see the note there."""
    limits = _limits(request)
    await limits.hit(limits.hold, "hold", str(user_id))


AuthRateLimit = Depends(limit_auth)
JoinRateLimit = Depends(limit_join)
