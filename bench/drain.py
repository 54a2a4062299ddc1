#!/usr/bin/env python3
"""Queue-worker figures: graceful drains, runtime scale, a stop sequence's overhead.

    python3 bench/drain.py [--proj PATH]

1. Drain: 3 workers, each a main process that forks a pool child working on 2 s jobs
   one after another; on SIGTERM the main process lets the running job finish and exits
   (a Celery-style warm shutdown), with `stop_target = "main"`. The harness waits until
   every worker is inside a job, sends SIGINT to proj and measures the time to proj's
   exit, and counts jobs started but never finished (must be 0). Median of 3 runs.
2. Scale: `proj scale worker=20` then `worker=1` on a running stack, each timed as the
   whole command (it answers once the instances settled). Median of 5.
3. Stop-sequence overhead: `proj stop` of an instance that exits at once on SIGTERM,
   with `stop_signal = "TERM"` and with the same step written as `stop_sequence`
   (the one-step form is the sequence, so this is a check, not a comparison of two
   code paths), and with a two-step sequence whose first step ends it. Median of 30.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

WORKER = r"""import os, signal, sys, time
instance = os.environ["PROJ_INSTANCE"]
def pool():
    n = 0
    while True:
        n += 1
        with open(f"jobs.{instance}", "a") as f:
            f.write(f"start {n}\n")
        time.sleep(2)
        with open(f"jobs.{instance}", "a") as f:
            f.write(f"done {n}\n")
        if os.path.exists(f"stop.{instance}"):
            os._exit(0)
child = os.fork()
if child == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pool()
def warm(number, frame):
    open(f"stop.{instance}", "w").close()
    os.waitpid(child, 0)
    sys.exit(0)
signal.signal(signal.SIGTERM, warm)
while True:
    signal.pause()
"""


def find_proj(given):
    if given:
        return given
    built = REPO / "target" / "release" / "proj"
    return str(built) if built.exists() else shutil.which("proj")


def wait_for(what, check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.002)
    raise SystemExit(f"timed out waiting for {what}")


def start(proj, workdir):
    return subprocess.Popen(
        [proj, "up", "--no-tui"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def drain_once(proj):
    with tempfile.TemporaryDirectory(prefix="proj-drain-") as tmp:
        work = Path(tmp)
        (work / "worker.py").write_text(WORKER)
        (work / "proj.toml").write_text(
            '[processes.worker]\ncommand = "python3 worker.py"\nscale = 3\n'
            'stop_target = "main"\nstop_sequence = [{ signal = "TERM", wait = "30s" }]\n'
        )
        up = start(proj, work)
        try:
            def all_in_a_job():
                return all(
                    (work / f"jobs.{i}").exists()
                    and (work / f"jobs.{i}").read_text().count("start")
                    > (work / f"jobs.{i}").read_text().count("done")
                    for i in (1, 2, 3)
                )

            wait_for("3 workers inside a job", all_in_a_job)
            asked = time.monotonic()
            up.send_signal(signal.SIGINT)
            up.wait(timeout=60)
            took = time.monotonic() - asked
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)
        started = done = 0
        for i in (1, 2, 3):
            text = (work / f"jobs.{i}").read_text()
            started += text.count("start")
            done += text.count("done")
        return took, started - done


def ctl(proj, workdir, *args):
    began = time.monotonic()
    result = subprocess.run([proj, *args], cwd=workdir, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"proj {' '.join(args)}: {result.stderr}")
    return time.monotonic() - began


def scale_figures(proj):
    ups, downs = [], []
    with tempfile.TemporaryDirectory(prefix="proj-scale-") as tmp:
        work = Path(tmp)
        (work / "proj.toml").write_text('[processes]\nworker = "exec sleep 1000"\n')
        up = start(proj, work)
        try:
            wait_for("the socket", lambda: ctl_ok(proj, work))
            for _ in range(5):
                ups.append(ctl(proj, work, "scale", "worker=20"))
                downs.append(ctl(proj, work, "scale", "worker=1"))
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=60)
    return statistics.median(ups), statistics.median(downs)


def ctl_ok(proj, workdir):
    return subprocess.run([proj, "ps"], cwd=workdir, capture_output=True).returncode == 0


def stop_figure(proj, stop_config):
    times = []
    with tempfile.TemporaryDirectory(prefix="proj-stop-") as tmp:
        work = Path(tmp)
        (work / "proj.toml").write_text(
            "[processes.quick]\n"
            "command = \"python3 -c 'import signal,sys,time; "
            "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); time.sleep(1000)'\"\n"
            f"{stop_config}\n"
            "[processes.other]\ncommand = \"exec sleep 1000\"\n"
        )
        up = start(proj, work)
        try:
            wait_for("the socket", lambda: ctl_ok(proj, work))
            for _ in range(30):
                times.append(ctl(proj, work, "stop", "quick"))
                ctl(proj, work, "start", "quick")
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=60)
    return statistics.median(times) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proj")
    args = parser.parse_args()
    proj = find_proj(args.proj)
    proj = proj and str(Path(proj).resolve())
    if not proj:
        raise SystemExit("no proj binary: cargo build --release")
    print(f"proj: {proj}", file=sys.stderr)
    drains = [drain_once(proj) for _ in range(3)]
    took = statistics.median(t for t, _ in drains)
    lost = sum(lost for _, lost in drains)
    up, down = scale_figures(proj)
    plain = stop_figure(proj, 'stop_signal = "TERM"\nstop_timeout = "10s"')
    one = stop_figure(proj, 'stop_sequence = [{ signal = "TERM", wait = "10s" }]')
    two = stop_figure(
        proj, 'stop_sequence = [{ signal = "TERM", wait = "10s" }, { signal = "KILL", wait = "1s" }]'
    )
    print("| figure | value |")
    print("| --- | --- |")
    print(f"| drain: Ctrl-C to exit, 3 workers inside 2 s jobs (median of 3) | {took:.2f} s |")
    print(f"| drain: jobs lost over 3 runs | {lost} |")
    print(f"| `proj scale worker=20` (1 → 20), to settled (median of 5) | {up * 1000:.1f} ms |")
    print(f"| `proj scale worker=1` (20 → 1), to settled (median of 5) | {down * 1000:.1f} ms |")
    print(f"| `proj stop` with `stop_signal` (median of 30) | {plain:.1f} ms |")
    print(f"| `proj stop` with a one-step `stop_sequence` | {one:.1f} ms |")
    print(f"| `proj stop` with a two-step `stop_sequence` | {two:.1f} ms |")


if __name__ == "__main__":
    main()
