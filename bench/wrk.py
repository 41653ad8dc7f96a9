"""The steady load generator: wrk (C, event-driven), driven by `wrk.lua` and a file of
requests. The Python generator cost 0.8 of a core at 1,000 req/s and capped what it measured;
wrk sends the same requests for a fraction of that.

wrk comes from Debian's packages; the benchmark installs it with apt-get when it is missing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "wrk.lua"
THREADS = 2
MARK = "WRK-RESULT "


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string, without the host
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def line(self) -> str:
        fields = [self.method, self.path, self.body, *(f"{k}: {v}" for k, v in self.headers)]
        for field in fields:
            if "\t" in field or "\n" in field:
                raise ValueError(f"a request field cannot hold a tab or newline: {field!r}")
        return "\t".join(fields)


def json_body(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    statuses: dict[int, int]
    transport_errors: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    ran_out: bool  # a "once" run used up its requests before the time was up
    sent_lines: int  # the first `sent_lines` requests cover every one sent (a "once" run)


def ensure_installed() -> str:
    """The path of wrk, installing Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


async def run(
    base_url: str,
    requests: Iterable[Request],
    connections: int,
    seconds: float,
    cycle: bool,
) -> Result:
    """Send `requests` with `connections` keep-alive connections for at most `seconds`: each once
    (stopping early when they run out) or, with `cycle`, over and over."""
    wrk = ensure_installed()
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", prefix="bench-wrk-") as data:
        count = 0
        for each in requests:
            data.write(each.line() + "\n")
            count += 1
        data.flush()
        if count == 0:
            raise ValueError("wrk needs at least one request")
        threads = min(THREADS, connections)
        process = await asyncio.create_subprocess_exec(
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(SCRIPT),
            base_url,
            "--",
            data.name,
            "cycle" if cycle else "once",
            str(threads),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    return parse(out.decode(errors="replace"), err.decode(errors="replace"))


def parse(stdout: str, stderr: str) -> Result:
    line = next((x for x in stdout.splitlines() if x.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{stdout}\n{stderr}")
    raw = json.loads(line.removeprefix(MARK))
    latency = raw["latency_us"]
    return Result(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        statuses={int(k): v for k, v in raw["statuses"].items()},
        transport_errors={k: v for k, v in raw["errors"].items() if v},
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        ran_out=bool(raw["ran_out"]),
        sent_lines=raw["sent_lines"],
    )
