#!/usr/bin/env python3
"""Soak: proj under a busy, faulty stack for N minutes, sampled every 10 s.

    python3 bench/soak.py --minutes 30 [--proj target/release/proj]

The stack, 50 instances: 2 print 5 MB/s each, 8 crash in a loop (exit 1 after
0.3 s, for ever: the restart budget is out of reach), 40 print 25 lines a second (a burst each second).
Meanwhile control clients run in a loop: `proj ps` every 0.5 s, a `proj logs -f`
that reads (restarted every 30 s), one that never reads (it stays connected for
the whole run), `proj restart` of one quiet instance every 2 s, and `proj reload`
every 10 s (alternately changing one quiet instance's env and changing nothing).

Every 10 s the table gets a row: proj's resident memory, open descriptors,
threads and zombie children, and how many crash-restarts happened so far. At the
end, growth between the first sample after warm-up and the last one is judged
against noise (RSS_NOISE_MIB, FDS_NOISE, THREADS_NOISE below), and no zombie
may stay through the last three samples.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_EVERY = 10.0
# Until every bounded buffer is full: the quiet instances' histories reach their 10,000
# lines after 400 s (25 lines a second), the 5 MB/s ones their 2 MiB at once. Growth
# before that is the buffers filling to their bounds, not a leak.
WARM_UP_SAMPLES = 45
# What counts as noise between two samples of a busy supervisor: allocator slack, a
# restart's pipe and log file in flight, a blocking-pool thread that has not retired.
RSS_NOISE_MIB = 8.0
FDS_NOISE = 12
THREADS_NOISE = 4

CONFIG = """
[project]
log_max_size = "8MiB"
log_backups = 1

[processes.chatty]
command = "exec python3 chatty.py"
scale = 2

[processes.crasher]
command = "sleep 0.3; exit 1"
scale = 8
backoff = "100ms"
backoff_max = "1s"
max_restarts = 1000000000
restart_window = "1m"

[processes.quiet]
# 25 lines a second, in one burst: the history reaches its 10,000-line bound in 400 s.
command = "while :; do printf 'tick %s\\n' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; sleep 1; done"
scale = 40
env = {{ GENERATION = "{generation}" }}
"""

# 5 MB/s: a 50 KB block of 100-byte lines every 10 ms.
CHATTY = """\
import sys, time
block = ("x" * 99 + "\\n").encode() * 500
start = time.monotonic()
n = 0
while True:
    sys.stdout.buffer.write(block)
    sys.stdout.flush()
    n += 1
    delay = start + n * 0.01 - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


def config(generation: int) -> str:
    return CONFIG.format(generation=generation)


def status_field(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def zombie_children(pid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            count += 1
    return count


def crash_restarts(proj: str, project: Path) -> int:
    """The crashers' restarts so far, as `ps` counts them (-1 when ps failed)."""
    result = subprocess.run([proj, "ps", "--json"], cwd=project, capture_output=True)
    if result.returncode != 0:
        return -1
    return sum(i["restarts"] for i in json.loads(result.stdout) if i["process"] == "crasher")


def sample(pid: int) -> dict:
    return {
        "rss_mib": status_field(pid, "VmRSS") / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": status_field(pid, "Threads"),
        "zombies": zombie_children(pid),
    }


class Clients:
    """The control clients, each a thread looping until `stop` is set."""

    def __init__(self, proj: str, project: Path):
        self.proj = proj
        self.project = project
        self.stop = threading.Event()
        self.calls = {"ps": 0, "logs -f": 0, "restart": 0, "reload": 0}
        self.failures = {name: 0 for name in self.calls}
        self.generation = 0
        self.threads = [
            threading.Thread(target=self.loop, args=(name, every, action), daemon=True)
            for name, every, action in [
                ("ps", 0.5, self.ps),
                ("logs -f", 30.0, self.follow),
                ("restart", 2.0, self.restart),
                ("reload", 10.0, self.reload),
            ]
        ]
        self.restart_index = 0

    def start(self):
        for thread in self.threads:
            thread.start()

    def run(self, *args, timeout=60) -> bool:
        result = subprocess.run(
            [self.proj, *args],
            cwd=self.project,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )
        return result.returncode == 0

    def loop(self, name, every, action):
        while not self.stop.is_set():
            try:
                ok = action()
            except (subprocess.TimeoutExpired, OSError):
                ok = False
            self.calls[name] += 1
            if not ok:
                self.failures[name] += 1
            self.stop.wait(every)

    def ps(self) -> bool:
        return self.run("ps", "--json")

    def follow(self) -> bool:
        # Reads everything for a while, then hangs up.
        process = subprocess.Popen(
            [self.proj, "logs", "-f", "chatty.1", "quiet.1"],
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 25
        assert process.stdout is not None
        while time.monotonic() < deadline and not self.stop.is_set():
            if not process.stdout.read(1 << 16):
                break
        process.terminate()
        process.wait()
        return True

    def restart(self) -> bool:
        self.restart_index = self.restart_index % 40 + 1
        return self.run("restart", f"quiet.{self.restart_index}")

    def reload(self) -> bool:
        # Every other reload changes quiet's env: its 40 instances restart.
        self.generation += 1
        (self.project / "proj.toml").write_text(config(self.generation // 2))
        return self.run("reload", timeout=120)


def never_reading_follower(proj: str, project: Path) -> subprocess.Popen:
    """A `logs -f` whose stdout nobody reads: proj must not keep what it cannot send."""
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [proj, "logs", "-f"], cwd=project, stdout=write_end, stderr=subprocess.DEVNULL
    )
    os.close(write_end)
    process.unread_pipe = read_end  # kept open, never read
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    default_proj = ROOT / "target/release/proj"
    if not default_proj.exists():
        default_proj = ROOT / "target/debug/proj"
    parser.add_argument("--proj", default=str(default_proj))
    args = parser.parse_args()

    project = Path(tempfile.mkdtemp(prefix="proj-soak-"))
    (project / "proj.toml").write_text(config(0))
    (project / "chatty.py").write_text(CHATTY)
    # The log files have every line; proj's terminal output would be 10 MB/s.
    up = subprocess.Popen(
        [args.proj, "up", "--no-tui"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    clients = None
    deaf = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            result = subprocess.run(
                [args.proj, "ps", "--json"], cwd=project, capture_output=True
            )
            if result.returncode == 0 and len(json.loads(result.stdout)) == 50:
                break
            time.sleep(0.2)
        else:
            print("proj did not come up", file=sys.stderr)
            return 1
        deaf = never_reading_follower(args.proj, project)
        clients = Clients(args.proj, project)
        clients.start()
        print(f"proj {args.proj} (pid {up.pid}), {args.minutes:g} minutes, project {project}")
        print(f"{'t':>6} {'RSS MiB':>8} {'fds':>5} {'threads':>7} {'zombies':>7} {'restarts':>9} "
              f"{'calls':>6}")
        samples = []
        start = time.monotonic()
        end = start + args.minutes * 60
        while True:
            now = time.monotonic()
            row = sample(up.pid)
            row["t"] = now - start
            row["restarts"] = crash_restarts(args.proj, project)
            row["calls"] = sum(clients.calls.values())
            samples.append(row)
            print(f"{row['t']:>5.0f}s {row['rss_mib']:>8.1f} {row['fds']:>5} {row['threads']:>7} "
                  f"{row['zombies']:>7} {row['restarts']:>9} {row['calls']:>6}", flush=True)
            if now >= end or up.poll() is not None:
                break
            time.sleep(min(SAMPLE_EVERY, max(0.0, end - time.monotonic())))
        if up.poll() is not None:
            print(f"proj exited early with {up.returncode}", file=sys.stderr)
            return 1
        clients.stop.set()
        for thread in clients.threads:
            thread.join(timeout=60)
        print("client calls:", clients.calls, "failed:", clients.failures)
        base = samples[min(WARM_UP_SAMPLES, len(samples) - 1)]
        last = samples[-1]
        growth = {key: last[key] - base[key] for key in ("rss_mib", "fds", "threads", "zombies")}
        peak_rss = max(row["rss_mib"] for row in samples)
        # An exit is held unreaped while the rest of its group is killed, so a sample
        # during a reload sees zombies; one that stays in every late sample is a leak.
        lingering_zombies = min(row["zombies"] for row in samples[-3:])
        print(f"growth after warm-up: RSS {growth['rss_mib']:+.1f} MiB (peak {peak_rss:.1f}), "
              f"fds {growth['fds']:+d}, threads {growth['threads']:+d}, "
              f"zombies in each of the last samples {lingering_zombies}")
        steady = (
            growth["rss_mib"] <= RSS_NOISE_MIB
            and growth["fds"] <= FDS_NOISE
            and growth["threads"] <= THREADS_NOISE
            and lingering_zombies == 0
        )
        print("verdict:", "no growth beyond noise" if steady else "GROWTH")
        return 0 if steady else 1
    finally:
        if clients is not None:
            clients.stop.set()
        if deaf is not None:
            deaf.kill()
            deaf.wait()
        up.terminate()
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        shutil.rmtree(project, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
