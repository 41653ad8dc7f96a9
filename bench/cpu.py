"""Where the machine's CPU went during a measurement: the service's workers, PostgreSQL, Redis,
this load generator, and everything else (other users of the shared machine)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.stack import DATABASE

TICKS = os.sysconf("SC_CLK_TCK")


def _process_ticks(pid: int) -> tuple[str, int] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw.rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
    return name, int(fields[11]) + int(fields[12])


def _serves_bench_database(pid: int) -> bool:
    """A PostgreSQL backend connected to the benchmark's database (its process title names
    the database); other databases on the shared server count as `other`."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return DATABASE.encode() in title


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # without guest time, which is already in user
    return total - idle, total


@dataclass(frozen=True)
class Snapshot:
    processes: dict[int, tuple[str, int]]  # pid -> (group, CPU ticks so far)
    busy: int
    total: int


GROUPS = ("service", "postgres", "redis", "bench")


def snapshot(server_pids: list[int]) -> Snapshot:
    servers = set(server_pids)
    me = os.getpid()
    processes: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        found = _process_ticks(pid)
        if found is None:
            continue
        name, ticks = found
        if pid in servers:
            processes[pid] = ("service", ticks)
        elif pid == me:
            processes[pid] = ("bench", ticks)
        elif name == "postgres" and _serves_bench_database(pid):
            processes[pid] = ("postgres", ticks)
        elif name.startswith("redis-server"):
            processes[pid] = ("redis", ticks)
    busy, total = _machine_ticks()
    return Snapshot(processes, busy, total)


def usage(before: Snapshot, after: Snapshot, seconds: float) -> dict[str, float]:
    """CPU used per group during the interval, in cores (1.0 = one core busy all the time),
    plus `other` (anything else busy on the machine: other databases, other people's work)
    and `machine_busy` (share of all CPUs). A process that ended in between is not counted."""
    if seconds <= 0:
        return {}
    used = dict.fromkeys(GROUPS, 0)
    for pid, (group, ticks) in after.processes.items():
        used[group] += ticks - before.processes.get(pid, (group, 0))[1]
    cores = {name: round(n / TICKS / seconds, 2) for name, n in used.items()}
    busy = (after.busy - before.busy) / TICKS / seconds
    cores["other"] = round(max(0.0, busy - sum(cores.values())), 2)
    total = (after.total - before.total) / TICKS / seconds
    cores["machine_busy"] = round(busy / total, 2) if total else 0.0
    return cores
