"""Where the machine's CPU went during a measurement: the service's workers, PostgreSQL, Redis,
this load generator, and everything else (other users of the shared machine)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.stack import DATABASE

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, list[str]] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # fields[0] is field 3 of stat (state): utime is fields[11], cutime fields[13].
    return raw[raw.index("(") + 1 : raw.rindex(")")], raw.rsplit(")", 1)[1].split()


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


GROUPS = ("service", "postgres", "postgres_closed_connections", "redis", "bench")


def snapshot(server_pids: list[int]) -> Snapshot:
    servers = set(server_pids)
    me = os.getpid()
    processes: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        found = _stat(pid)
        if found is None:
            continue
        name, fields = found
        ticks = int(fields[11]) + int(fields[12])
        if name == "postgres" and fields[1] == "1":
            # The postmaster: the CPU time of the backends it has reaped is added to its
            # children's time. Connections opened and closed during the run (a pool's
            # overflow) live and die between two snapshots; this is where their time shows.
            processes[pid] = ("postgres_closed_connections", int(fields[13]) + int(fields[14]))
        elif pid in servers:
            processes[pid] = ("service", ticks)
        elif pid == me:
            # With the children it has waited for: wrk runs as one.
            processes[pid] = ("bench", ticks + int(fields[13]) + int(fields[14]))
        elif name == "postgres" and _serves_bench_database(pid):
            processes[pid] = ("postgres", ticks)
        elif name.startswith("redis-server"):
            processes[pid] = ("redis", ticks)
    busy, total = _machine_ticks()
    return Snapshot(processes, busy, total)


def usage(before: Snapshot, after: Snapshot, seconds: float) -> dict[str, float]:
    """CPU used per group during the interval, in cores (1.0 = one core busy all the time),
    plus `other` (anything else busy on the machine: other databases, other people's work)
    and `postgres_closed_connections` (backends that exited meanwhile, of any database)
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
