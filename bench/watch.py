#!/usr/bin/env python3
"""File-watching figures (not part of run.py's table).

    python3 bench/watch.py [--proj PATH]

1. Change -> new process started: a process watching `src/**/*.py` appends its start
   time (`date +%s%N`) to a file; the harness changes `src/app.py` 20 times, each time
   waiting for the next start, and takes the median (default 200 ms debounce included).
2. Idle CPU with a 50 000-file watched tree (500 directories of 100 files): proj's CPU
   time (all threads, /proc/PID/task/*/schedstat) over 30 s of nothing happening.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


def start(proj: str, workdir: Path) -> tuple[subprocess.Popen, Path]:
    out = workdir / "out.txt"
    proc = subprocess.Popen([proj, "up", "--no-tui"], cwd=workdir, stdout=out.open("w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "watching" not in out.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit(f"the watch did not start:\n{out.read_text()}")
        time.sleep(0.01)
    return proc, out


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def latency(proj: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="proj-watch-"))
    try:
        (workdir / "src").mkdir()
        (workdir / "src" / "app.py").write_text("v0")
        (workdir / "proj.toml").write_text(
            '[processes.web]\ncommand = "date +%s%N >> starts; exec sleep 1000"\n'
            'watch = ["src/**/*.py"]\n')
        proc, _ = start(proj, workdir)
        starts = workdir / "starts"
        try:
            samples = []
            for round_ in range(1, 21):
                while not starts.exists() or len(starts.read_text().split()) < round_:
                    time.sleep(0.005)
                changed = time.time_ns()
                (workdir / "src" / "app.py").write_text(f"v{round_}")
                deadline = time.monotonic() + 30
                while len(starts.read_text().split()) < round_ + 1:
                    if time.monotonic() > deadline:
                        raise SystemExit("no restart after a change")
                    time.sleep(0.002)
                samples.append((int(starts.read_text().split()[round_]) - changed) / 1e6)
            print(f"change -> new process started: median {statistics.median(samples):.0f} ms "
                  f"(min {min(samples):.0f}, max {max(samples):.0f}, 20 changes, debounce 200 ms)")
        finally:
            stop(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def cpu_ns(pid: int) -> int:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            pass
    return total


def idle_cpu(proj: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="proj-watch-"))
    try:
        for directory in range(500):
            path = workdir / "src" / f"d{directory % 20}" / f"m{directory}"
            path.mkdir(parents=True)
            for file in range(100):
                (path / f"f{file}.py").write_text("x")
        (workdir / "proj.toml").write_text(
            '[processes.web]\ncommand = "exec sleep 1000"\nwatch = ["**/*.py"]\n')
        started = time.monotonic()
        proc, _ = start(proj, workdir)
        ready = time.monotonic() - started
        try:
            before = cpu_ns(proc.pid)
            time.sleep(30)  # measuring idleness: there is nothing to wait for
            used = cpu_ns(proc.pid) - before
            print(f"idle CPU watching 50 000 files: {used / 1e6 / 30:.4f} ms per second "
                  f"({used / 1e3:.0f} us in 30 s; watch in place {ready:.2f} s after start)")
        finally:
            stop(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parent.parent / "target" / "release" / "proj"
    parser.add_argument("--proj", default=str(default) if default.exists() else shutil.which("proj"))
    args = parser.parse_args()
    if not args.proj:
        raise SystemExit("no proj binary: cargo build --release, or pass --proj")
    proj = os.path.abspath(args.proj)
    latency(proj)
    idle_cpu(proj)


main()
