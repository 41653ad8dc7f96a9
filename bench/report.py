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
        "p99 ms",
        "errors",
        "x ref",
        "p99 x base",
        "svc ms/req",
        "pg ms/req",
        "CPU svc/pg/gen/other",
    ]
    table_rows = []
    for r in sorted(rows, key=lambda r: (r["concurrency"], _order(r))):
        usage = r.get("cpu_cores") or {}
        table_rows.append(
            [
                scenario_name(r),
                str(r["concurrency"]),
                _fmt(r["throughput_per_s"]),
                _fmt(r["p50_ms"]),
                _fmt(r["p99_ms"]),
                str(r["errors"]) + ("*" if r.get("ran_out") else ""),
                _fmt(r.get("ratio_to_reference"), 2),
                _fmt(r.get("p99_to_baseline_p99"), 1),
                _fmt(r.get("service_cpu_ms_per_request"), 2),
                _fmt(r.get("postgres_cpu_ms_per_request"), 2),
                _cpu(usage),
            ]
        )
    return _table(headers, table_rows)


def scenario_name(row: dict[str, Any]) -> str:
    if row["scenario"] == "reference":
        return f"reference {row['layout']}"
    return row["scenario"] if row["layout"] is None else f"{row['scenario']} ({row['layout']})"


def _cpu(usage: dict[str, float]) -> str:
    if not usage:
        return "-"
    pg = usage.get("postgres", 0.0) + usage.get("postgres_closed_connections", 0.0)
    return "/".join(
        _fmt(v, 2) for v in (usage.get("service"), pg, usage.get("bench"), usage.get("other"))
    )


ORDER = ("reference read", "baseline", "reference hold", "hold (one schedule)", "hold", "pay")


def _order(row: dict[str, Any]) -> int:
    name = scenario_name(row)
    for index, prefix in enumerate(ORDER):
        if name == prefix:
            return index
    return next((i for i, p in enumerate(ORDER) if name.startswith(p)), len(ORDER))


def _opening_line(opening: dict[str, Any]) -> str:
    """Admission order against arrival order on each side of the sale opening."""
    before, after = opening["before"], opening["after"]
    return (
        f"admission order against arrival order (Spearman): {_fmt(before['spearman'], 4)} for the "
        f"{before['users']} who joined in the {opening['pre_queue_seconds']:.0f} s before the "
        f"opening, {_fmt(after['spearman'], 4)} for the {after['users']} after it"
    )


def drop_table(drop: dict[str, Any]) -> str:
    lines = [
        f"users {drop['users']}, seats {drop['seats']}, max active {drop['max_active']}",
        f"sold out {_fmt(drop['sell_out_seconds'], 2)} s after the opening: "
        f"{_fmt(drop['holds_per_s'])} holds/s, {_fmt(drop['payments_per_s'])} payments/s, "
        f"joins done in {_fmt(drop['join_wave_seconds'], 2)} s; "
        f"5xx share {drop['server_error_share']:.4%} ({drop['server_errors']} of "
        f"{drop['requests']}), transport errors {drop['transport_errors']}",
        f"time waiting for one of the generator's {drop['connections']} connections (not in the "
        f"latencies below): p50 {drop['generator_wait_ms']['p50'] / 1000:.1f} s, "
        f"p99 {drop['generator_wait_ms']['p99'] / 1000:.1f} s; admission seen "
        f"{drop['admission_wait_s']['p50']} s (p50) / {drop['admission_wait_s']['p99']} s (p99) "
        "after the join was answered",
        _opening_line(drop["opening"]),
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
        return next(
            (
                r
                for r in rows
                if r["scenario"] == scenario and r["concurrency"] == c and r["layout"] == layout
            ),
            None,
        )

    def ratio(name: str, row: dict[str, Any] | None, bound: float) -> None:
        if row and "ratio_to_reference" in row:
            found.append(_target(name, row["ratio_to_reference"], ">=", bound))

    for c in sorted({r["concurrency"] for r in rows}):
        ratio(f"baseline read / reference read at C={c}", pick("baseline", None, c), 0.85)
        single = pick("hold", "one schedule", c)
        ratio(f"hold one schedule / reference hold at C={c}", single, 0.6)
        spread = next(
            (
                r
                for r in rows
                if r["scenario"] == "hold" and r["concurrency"] == c and r is not single
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
        ratio(f"pay / reference hold at C={c}", pick("pay", None, c), 0.5)
        if c >= 32 and single and "p99_to_baseline_p99" in single:
            found.append(
                _target(f"hold p99 / baseline p99 at C={c}", single["p99_to_baseline_p99"], "<=", 3)
            )
        if single and single.get("service_cpu_ms_per_request") is not None:
            found.append(
                _target(
                    f"service CPU ms per hold at C={c}",
                    single["service_cpu_ms_per_request"],
                    "<=",
                    0.8,
                )
            )
            found.append(
                _target(
                    f"PostgreSQL CPU ms per hold at C={c}",
                    single["postgres_cpu_ms_per_request"],
                    "<=",
                    0.5,
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
        parts += [
            "",
            closed_loop_table(closed["measurements"]),
            "x ref: share of the reference app's rate (reads: its read; holds and payments: its "
            "hold). ms/req: CPU per answered request. *: the requests ran out early.",
        ]
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
