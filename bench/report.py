"""The results: a plain-text table for the terminal and the README, the targets, and the JSON
report under bench/reports/."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

REPORTS = Path(__file__).resolve().parent / "reports"


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| "
        + " | ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        + " |"
        for row in rows
    ]
    return "\n".join([line, rule, *body])


def closed_loop_table(rows: list[dict[str, Any]]) -> str:
    headers = [
        "scenario",
        "C",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "x baseline",
        "p99 x base",
        "CPU svc/pg/gen/other",
    ]
    table_rows = []
    for r in sorted(rows, key=lambda r: (_order(r), r["concurrency"])):
        name = r["scenario"] if r["layout"] is None else f"{r['scenario']} ({r['layout']})"
        usage = r.get("cpu_cores") or {}
        table_rows.append(
            [
                name,
                str(r["concurrency"]),
                _fmt(r["throughput_per_s"]),
                _fmt(r["p50_ms"]),
                _fmt(r["p95_ms"]),
                _fmt(r["p99_ms"]),
                str(r["errors"]),
                _fmt(r.get("ratio_to_baseline"), 2),
                _fmt(r.get("p99_to_baseline_p99"), 1),
                _cpu(usage),
            ]
        )
    return _table(headers, table_rows)


def _cpu(usage: dict[str, float]) -> str:
    if not usage:
        return "-"
    pg = usage.get("postgres", 0.0) + usage.get("postgres_closed_connections", 0.0)
    return "/".join(
        _fmt(v, 2) for v in (usage.get("service"), pg, usage.get("bench"), usage.get("other"))
    )


def _order(row: dict[str, Any]) -> int:
    return ["baseline", "hold", "status"].index(row["scenario"]) * 10 + (
        0 if row["layout"] in (None, "one schedule", "redis") else 1
    )


def drop_table(drop: dict[str, Any]) -> str:
    lines = [
        f"users {drop['users']}, seats {drop['seats']}, max active {drop['max_active']}",
        f"sold out in {_fmt(drop['sell_out_seconds'], 2)} s: "
        f"{_fmt(drop['holds_per_s'])} holds/s, {_fmt(drop['payments_per_s'])} payments/s, "
        f"joins done in {_fmt(drop['join_wave_seconds'], 2)} s; "
        f"5xx share {drop['server_error_share']:.4%} ({drop['server_errors']} of "
        f"{drop['requests']}), transport errors {drop['transport_errors']}",
        f"time waiting for one of the generator's {drop['connections']} connections (not in the "
        f"latencies below): p50 {drop['generator_wait_ms']['p50'] / 1000:.1f} s, "
        f"p99 {drop['generator_wait_ms']['p99'] / 1000:.1f} s; admission seen "
        f"{drop['admission_wait_s']['p50']} s (p50) / {drop['admission_wait_s']['p99']} s (p99) "
        "after the join was answered",
    ]
    headers = ["endpoint", "requests", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses"]
    rows = [
        [
            name,
            str(s["requests"]),
            _fmt(s["p50_ms"]),
            _fmt(s["p95_ms"]),
            _fmt(s["p99_ms"]),
            _fmt(s["max_ms"]),
            " ".join(f"{k}:{v}" for k, v in s["statuses"].items()),
        ]
        for name, s in drop["endpoints"].items()
    ]
    lines.append(_table(headers, rows))
    lines.append(
        _table(
            ["check", "result", "detail"],
            [[c["name"], "ok" if c["ok"] else "FAIL", c["detail"]] for c in drop["checks"]],
        )
    )
    return "\n".join(lines)


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The performance targets, measured (not asserted): each with its figure and met/missed."""
    rows = report.get("closed_loop", {}).get("measurements", [])
    found: list[dict[str, Any]] = []

    def pick(scenario: str, layout: str | None, c: int) -> dict[str, Any] | None:
        for r in rows:
            if (
                r["scenario"] == scenario
                and r["concurrency"] == c
                and (layout is None or r["layout"] == layout)
            ):
                found_row: dict[str, Any] = r
                return found_row
        return None

    one = pick("hold", "one schedule", 32)
    if one and "ratio_to_baseline" in one:
        found.append(
            _target("hold one schedule / baseline at C=32", one["ratio_to_baseline"], ">=", 0.5)
        )
    for c in sorted({r["concurrency"] for r in rows}):
        single = pick("hold", "one schedule", c)
        spread = next(
            (
                r
                for r in rows
                if r["scenario"] == "hold"
                and r["concurrency"] == c
                and r["layout"] != "one schedule"
            ),
            None,
        )
        if single and spread and spread["throughput_per_s"]:
            found.append(
                _target(
                    f"hold one schedule / hold {spread['layout']} at C={c}",
                    round(single["throughput_per_s"] / spread["throughput_per_s"], 3),
                    ">=",
                    0.9,
                )
            )
    top = max((r["concurrency"] for r in rows), default=None)
    if top is not None:
        single = pick("hold", "one schedule", top)
        if single and "p99_to_baseline_p99" in single:
            found.append(
                _target(
                    f"hold p99 / baseline p99 at C={top}", single["p99_to_baseline_p99"], "<=", 10
                )
            )
    for c in sorted({r["concurrency"] for r in rows}):
        polled = pick("status", None, c)
        if polled and "ratio_to_baseline" in polled:
            found.append(
                _target(
                    f"queue status (Redis) / baseline at C={c}",
                    polled["ratio_to_baseline"],
                    ">=",
                    0.7,
                )
            )
    drop = report.get("drop")
    if drop:
        for check in drop["checks"]:
            found.append(
                {"target": f"drop: {check['name']}", "value": check["detail"], "met": check["ok"]}
            )
    return found


def _target(name: str, value: float, op: str, bound: float) -> dict[str, Any]:
    met = value >= bound if op == ">=" else value <= bound
    return {"target": f"{name} {op} {bound}", "value": value, "met": met}


def targets_table(found: list[dict[str, Any]]) -> str:
    return _table(
        ["target", "measured", "met"],
        [[t["target"], _fmt(t["value"], 3), "yes" if t["met"] else "NO"] for t in found],
    )


def render(report: dict[str, Any]) -> str:
    machine = report["machine"]
    parts = [
        f"boxoffice benchmark, {report['sizes']} run of {report['scenario']!r} at "
        f"{report['started_at']} on {machine['cpu_count']} x {machine['cpu_model']}, "
        f"commit {machine['git_commit']}",
    ]
    closed = report.get("closed_loop")
    if closed:
        parts += ["", closed_loop_table(closed["measurements"])]
        if closed.get("waiting_room") is False:
            parts.append(
                "(no waiting room in this build: holds ran without a queue token, "
                "status was skipped)"
            )
    if report.get("drop"):
        parts += ["", drop_table(report["drop"])]
    performance = [t for t in report.get("targets", []) if not t["target"].startswith("drop:")]
    if performance:
        parts += ["", targets_table(performance)]
    for profile in report.get("profiles", []):
        parts += ["", profile_text(profile)]
    return "\n".join(parts)


def profile_text(profile: dict[str, Any]) -> str:
    if profile.get("error"):
        return f"profile {profile['name']}: {profile['error']}"
    if not profile.get("samples"):
        return f"profile {profile['name']}: no samples"
    areas = ", ".join(f"{k} {v:.0%}" for k, v in profile["own_by_area"].items())
    lines = [
        f"profile {profile['name']} ({profile['samples']} samples): own time by area: {areas}",
        "  top own time:",
    ]
    lines += [f"    {t['share']:6.1%}  {t['function']}" for t in profile["top_own"][:10]]
    lines.append("  samples under (a sample can count under several):")
    lines += [f"    {share:6.1%}  {name}" for name, share in profile.get("concerns", {}).items()]
    lines.append("  innermost boxoffice frame:")
    lines += [
        f"    {t['share']:6.1%}  {t['function']}" for t in profile["top_boxoffice_frames"][:10]
    ]
    return "\n".join(lines)


def write(report: dict[str, Any], started: datetime) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    path = REPORTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    text = json.dumps(report, indent=2, sort_keys=False, default=str)
    path.write_text(text + "\n")
    (REPORTS / "latest.json").write_text(text + "\n")
    return path
