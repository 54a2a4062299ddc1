"""The five workloads, each measured the same way for every supervisor.

`run(workload, supervisor, sizes)` gives the workload a fresh directory and a
marker environment variable that every process of the run inherits. The
workload starts the supervisor, measures, and stops it; `run` then counts the
processes still alive 5 s after the supervisor exited (the `orphans` column)
and SIGKILLs everything that carries the marker, whatever happened.

A workload returns a dict of column -> value (a number, or a string such as
"timeout"); `notes` is a list of remarks.
"""

import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Callable

import procfs
from supervisors import Program, Supervisor

CHILDREN = Path(__file__).resolve().parent / "children"
MARKER_VAR = "PROJ_BENCH_RUN"
POLL = 0.02  # seconds between polls of files or of a few PIDs
SCAN_POLL = 0.05  # seconds between scans of all of /proc (a scan costs CPU too)
START_DEADLINE = 60.0  # seconds for a supervisor to get all its children running
EXIT_DEADLINE = 30.0  # seconds for a supervisor to exit after its stop signal
ORPHAN_GRACE = 5.0  # seconds after the supervisor exited before a survivor is an orphan
_run_ids = count(1)


class BenchError(Exception):
    """The supervisor failed in a way that leaves nothing (more) to measure."""


@dataclass
class Sizes:
    lines: int  # lines written by each of the 4 spewing processes
    log_deadline: float  # seconds for all lines to be delivered
    restarts: int  # restarts to time
    restart_budget: float  # seconds to collect them in
    sleepers: int  # `sleep` instances to start and stop
    idle_sleepers: int  # `sleep` instances while measuring idle CPU
    idle_seconds: float  # length of the idle CPU measurement


DEFAULT_SIZES = Sizes(lines=200_000, log_deadline=120, restarts=50, restart_budget=15,
                      sleepers=300, idle_sleepers=50, idle_seconds=20)
QUICK_SIZES = Sizes(lines=20_000, log_deadline=30, restarts=10, restart_budget=5,
                    sleepers=30, idle_sleepers=10, idle_seconds=3)


@dataclass
class Workload:
    letter: str
    key: str
    title: str  # formatted with the Sizes' fields
    measure: Callable[[Supervisor, Path, dict, Sizes, list], dict]  # (…, notes) -> columns
    logged: bool = False  # give s6 and runit a logger per service


def run(workload: Workload, sup: Supervisor, sizes: Sizes) -> dict:
    """Measure one (workload, supervisor) pair and clean up after it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"proj-bench-{workload.key}-"))
    run_id = f"{os.getpid()}.{next(_run_ids)}"
    marker = f"{MARKER_VAR}={run_id}\0".encode()
    env = dict(os.environ, NO_COLOR="1", **{MARKER_VAR: run_id})
    result: dict = {"notes": []}
    try:
        result.update(workload.measure(sup, workdir, env, sizes, result["notes"]))
    except (BenchError, OSError) as error:
        result["notes"].append(f"error: {error}")
    finally:
        if sup.exited():
            result.setdefault("orphans", len(_survivors(marker)))
        sup.kill()
        procfs.kill_marked(marker)
        procfs.reap_orphans()
    if any(note.startswith("error") for note in result["notes"]):
        print(f"(kept {workdir} for inspection)", file=sys.stderr, end=" ")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _survivors(marker: bytes) -> list[int]:
    """Marked processes that stay alive for ORPHAN_GRACE seconds from now."""
    end = time.monotonic() + ORPHAN_GRACE
    while (pids := [p for p in procfs.marked(marker) if procfs.alive(p)]) and time.monotonic() < end:
        time.sleep(0.1)
        procfs.reap_orphans()
    return pids


# --- shared steps ----------------------------------------------------------


def stop(sup: Supervisor, notes: list[str]) -> None:
    """Send the supervisor its stop signal and wait for it to exit."""
    sup.terminate()
    if not sup.wait(EXIT_DEADLINE):
        notes.append(f"did not exit within {EXIT_DEADLINE:g} s of its stop signal")


def stop_and_watch(sup: Supervisor, targets, deadline: float, notes: list[str]) -> float | str:
    """Stop the supervisor; seconds until every target process is gone.

    Gives up `deadline` seconds after the stop signal, or ORPHAN_GRACE seconds
    after the supervisor exited while targets still live.
    """
    start = time.monotonic()
    sup.terminate()
    remaining, gone, exited = set(targets), None, None
    while True:
        now = time.monotonic()
        remaining = {pid for pid in remaining if procfs.alive(pid)}
        if not remaining and gone is None:
            gone = now - start
        if exited is None and sup.exited():
            exited = now
        if (gone is not None and exited is not None) or now - start > deadline:
            break
        if exited is not None and now - exited > ORPHAN_GRACE:
            break
        time.sleep(POLL)
    if exited is None:
        notes.append(f"did not exit within {deadline:g} s of its stop signal")
    return gone if gone is not None else "timeout"


def children_of(sup: Supervisor) -> list[tuple[int, str]]:
    """(pid, comm) of the supervisor's live descendants that are not the supervisor."""
    procs = procfs.snapshot()
    return [(pid, procs[pid][1]) for pid in procfs.descendants(sup.pid, procs)
            if procs[pid][1] not in sup.comms]


def wait_for_sleeps(sup: Supervisor, wanted: int) -> list[int] | None:
    """PIDs of `wanted` running `sleep` children, or None after START_DEADLINE."""
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        sleeps = [pid for pid, comm in children_of(sup) if comm == "sleep"]
        if len(sleeps) >= wanted:
            return sleeps
        if sup.exited():
            raise BenchError(sup.diagnostics())
        time.sleep(SCAN_POLL)
    return None


def supervisor_cpu(sup: Supervisor) -> float | None:
    """CPU seconds the supervisor's processes used so far (None for the ceiling)."""
    pids = sup.pids()
    return procfs.cpu_seconds(pids) if pids else None


# --- (a) log throughput ----------------------------------------------------

# A whole child line, after whatever prefix the supervisor adds (`… NAME | `).
WHOLE_LINE = re.compile(rb"(?:^| )@(\d+):(\d{8}):x+$")
LINE_BYTES = 99  # without the newline; see children/spew.py


class DeliveryCounter:
    """Counts child lines (by their `@`) as they land in the output files."""

    def __init__(self, sup: Supervisor):
        self.sup = sup
        self.offsets: dict[Path, int] = {}
        self.total = 0

    def poll(self) -> int:
        for path in self.sup.output_files():
            with open(path, "rb") as f:
                f.seek(self.offsets.get(path, 0))
                data = f.read()
            self.offsets[path] = self.offsets.get(path, 0) + len(data)
            self.total += data.count(b"@")
        return self.total


def verify_lines(paths: list[Path], per_child: int) -> tuple[int, int, int]:
    """(distinct whole lines, torn lines, duplicated lines) in the files.

    A torn line is one holding anything but exactly one whole child line:
    a fragment, or pieces of two.
    """
    seen: dict[bytes, bytearray] = {}
    whole = torn = duplicates = 0
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                if b"@" not in line:
                    continue  # the supervisor's own messages
                line = line.rstrip(b"\r\n")
                match = WHOLE_LINE.search(line)
                if (match is None or line.count(b"@") != 1
                        or len(line) - match.start(1) + 1 != LINE_BYTES
                        or int(match[2]) >= per_child):
                    torn += 1
                    continue
                marks = seen.setdefault(match[1], bytearray(per_child))
                seq = int(match[2])
                if marks[seq]:
                    duplicates += 1
                else:
                    marks[seq] = 1
                    whole += 1
    return whole, torn, duplicates


def read_stamps(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    return [(kind, float(value)) for kind, value in (line.split() for line in path.read_text().splitlines())]


def measure_logs(sup, workdir, env, sizes, notes):
    stamps = workdir / "stamps"
    program = Program("w", [sys.executable, str(CHILDREN / "spew.py"), str(sizes.lines), str(stamps)], scale=4)
    expected = program.scale * sizes.lines
    sup.start(workdir, [program], env)
    counter = DeliveryCounter(sup)
    delivered, last_change, first_seen = 0, time.monotonic(), None
    deadline = last_change + sizes.log_deadline
    timed_out = False
    while delivered < expected:
        time.sleep(POLL)
        now = time.monotonic()
        if (seen := counter.poll()) != delivered:
            delivered, last_change = seen, now
            if first_seen is None:
                first_seen = now
        if sup.exited():
            raise BenchError(sup.diagnostics())
        written = sum(kind == "done" for kind, _ in read_stamps(stamps))
        if written == program.scale and now - last_change > 3:
            break  # every child is done and nothing moved for 3 s: the rest is lost
        if now > deadline:
            timed_out = True
            break
    cpu = supervisor_cpu(sup)
    stop(sup, notes)

    starts = [t for kind, t in read_stamps(stamps) if kind == "start"]
    whole, torn, duplicates = verify_lines(sup.output_files(), sizes.lines)
    if duplicates:
        notes.append(f"{duplicates} duplicated lines")
    if timed_out:
        notes.append(f"{whole} of {expected} lines after {sizes.log_deadline:g} s")
    if logs := sup.extra_logs():
        log_whole, log_torn, _ = verify_lines(logs, sizes.lines)
        notes.append(f"log files: {expected - log_whole} lost, {log_torn} torn")
    # First -> last line seen: the delivery rate once lines flow, without the start-up
    # of the children (and of the supervisor's reading). Up to one poll (20 ms) off at
    # each end.
    flowing = last_change - first_seen if first_seen is not None else 0
    return {
        "lines_per_s": "timeout" if timed_out else whole / (last_change - min(starts)),
        "flow_lines_per_s": "timeout" if timed_out else (whole / flowing if flowing > 0 else None),
        "lost": expected - whole,
        "torn": torn,
        "cpu_s": cpu,
    }


# --- (b) restart latency ---------------------------------------------------


def measure_restart(sup, workdir, env, sizes, notes):
    if sup.restart_note:
        notes.append(f"n/a: {sup.restart_note}")
        return {}
    stamps = workdir / "stamps"
    program = Program("r", ["/bin/bash", str(CHILDREN / "restart.sh"), str(stamps)], restart=True)
    sup.start(workdir, [program], env)

    def runs() -> list[tuple[float, float]]:
        if not stamps.exists():
            return []
        lines = stamps.read_text().replace(",", ".").splitlines()
        return [(float(a), float(b)) for a, b in (line.split() for line in lines if line.count(" ") == 1)]

    deadline = time.monotonic() + sizes.restart_budget
    while len(runs()) <= sizes.restarts and time.monotonic() < deadline:
        if sup.exited():
            raise BenchError(sup.diagnostics())
        time.sleep(POLL)
    stop(sup, notes)

    finished = runs()[: sizes.restarts + 1]
    # From the last action of one run to the first action of the next.
    gaps = [(nxt[0] - prev[1]) * 1000 for prev, nxt in zip(finished, finished[1:])]
    if len(gaps) < 2:
        raise BenchError(f"{len(finished)} run(s) in {sizes.restart_budget:g} s")
    notes.append(f"n={len(gaps)}")
    return {"restart_ms": statistics.median(gaps), "restart_p90_ms": statistics.quantiles(gaps, n=10)[-1]}


# --- (c) start and stop many processes -------------------------------------


def measure_spawn(sup, workdir, env, sizes, notes):
    program = Program("s", ["sleep", "1000"], scale=sizes.sleepers)
    launched = time.monotonic()
    sup.start(workdir, [program], env)
    sleeps = wait_for_sleeps(sup, sizes.sleepers)
    if sleeps is None:
        return {"up_s": "timeout"}
    up = time.monotonic() - launched
    time.sleep(1)  # let it finish whatever follows the last spawn
    pids = sup.pids()
    pss = procfs.pss_kib(pids) / 1024 if pids else None
    return {"up_s": up, "pss_mib": pss, "stop_s": stop_and_watch(sup, sleeps, 30, notes)}


# --- (d) idle CPU ----------------------------------------------------------


def measure_idle(sup, workdir, env, sizes, notes):
    program = Program("s", ["sleep", "1000"], scale=sizes.idle_sleepers)
    sup.start(workdir, [program], env)
    if wait_for_sleeps(sup, sizes.idle_sleepers) is None:
        return {"idle_ms_per_s": "timeout"}
    pids = sup.pids()
    if not pids:  # the ceiling: no supervisor process to measure
        stop(sup, notes)
        return {"idle_ms_per_s": None}
    time.sleep(2)  # startup settles
    before = procfs.cpu_seconds(pids)
    time.sleep(sizes.idle_seconds)
    used = procfs.cpu_seconds(pids) - before
    if sup.exited():
        raise BenchError(sup.diagnostics())
    stop(sup, notes)
    return {"idle_ms_per_s": used * 1000 / sizes.idle_seconds}


# --- (e) stop escalation ---------------------------------------------------


def measure_stop(sup, workdir, env, sizes, notes):
    program = Program("stubborn", ["/bin/sh", str(CHILDREN / "stubborn.sh")], stop_timeout=2.0)
    sup.start(workdir, [program], env)
    if wait_for_sleeps(sup, 1) is None:
        raise BenchError(f"the grandchild did not start within {START_DEADLINE:g} s")
    time.sleep(0.5)  # the shell reaches `wait`
    targets = [pid for pid, _comm in children_of(sup)]  # the shell and its sleep
    if sup.stop_note:
        notes.append(sup.stop_note)
    stop_s = stop_and_watch(sup, targets, 15, notes)
    if isinstance(stop_s, float) and stop_s < program.stop_timeout - 0.1:
        notes.append(f"the TERM-ignoring processes were killed before the {program.stop_timeout:g} s timeout")
    return {"stop_s": stop_s}


WORKLOADS = [
    Workload("a", "logs", "log throughput, 4 × {lines:,} lines", measure_logs, logged=True),
    Workload("b", "restart", "restart latency", measure_restart),
    Workload("c", "spawn", "start+stop {sleepers} sleeps", measure_spawn),
    Workload("d", "idle", "idle CPU, {idle_sleepers} sleeps", measure_idle),
    Workload("e", "stop", "stop escalation, 2 s timeout", measure_stop),
]
