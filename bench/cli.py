"""`python -m bench <scenario> [--quick] [--profile]`: run, print the table, write the report."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from datetime import UTC, datetime
from typing import Any

from bench import machine, report
from bench.sizes import FULL, QUICK
from bench.stack import DATABASE, REDIS_URL

SCENARIOS = ("baseline", "hold", "status", "drop", "all")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start boxoffice on a fresh PostgreSQL database and Redis, drive it over "
        "HTTP, print a table and write bench/reports/<timestamp>.json.",
    )
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the server workers with py-spy during hold and drop",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--connections",
        type=int,
        default=None,
        help="connections of the drop's load generator (default: 64)",
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    from bench.scenarios import closed_loop, drop

    sizes = QUICK if args.quick else FULL
    if args.connections:
        sizes = dataclasses.replace(sizes, drop_connections=args.connections)
    wanted = {"baseline", "hold", "status", "drop"} if args.scenario == "all" else {args.scenario}
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "scenario": args.scenario,
        "sizes": sizes.name,
        "started_at": started.isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "stack": {
            "database": DATABASE,
            "redis": REDIS_URL,
            "workers": args.workers,
            "load_generator": "wrk (steady scenarios), one process of asyncio + httpx (drop)",
        },
        "profiles": [],
    }
    ok = True
    out_dir = report.REPORTS
    closed = wanted & {"baseline", "hold", "status"}
    if closed:
        result["closed_loop"] = await closed_loop.run(
            sizes, closed, args.workers, out_dir, args.profile
        )
        result["profiles"] += result["closed_loop"].pop("profiles")
        report.write(result, started)  # kept even if the drop goes wrong
    if "drop" in wanted:
        result["drop"] = await drop.run(sizes, args.workers, out_dir, args.profile)
        result["profiles"] += result["drop"].pop("profiles")
        ok = all(check["ok"] for check in result["drop"]["checks"])
    result["targets"] = report.targets(result)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["passed"] = ok
    return result, ok


def main(argv: list[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["streams"]:
        # The live seat-map streams have a command line of their own.
        from bench.scenarios import streams

        return streams.main(given[1:])
    args = parse(argv)
    result, ok = asyncio.run(run(args))
    print(report.render(result))
    path = report.write(result, datetime.fromisoformat(result["started_at"]))
    print(f"\nreport: {path}", file=sys.stderr)
    if not ok:
        print("FAILED: a correctness check of the drop did not hold", file=sys.stderr)
    return 0 if ok else 1
