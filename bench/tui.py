#!/usr/bin/env python3
"""The TUI under a flood: frames per second and proj's CPU at N lines/s.

Starts `proj up --tui` in a detached tmux session (a real terminal, 200x50) on a project
of PROCS processes that each print RATE/PROCS lines per second (80-character lines, some
with colours), lets it run, and reports:

- lines/s actually written (counted in .proj/logs/*.log, the source of truth),
- the TUI's frames per second and draw times (proj logs them every 5 s with
  PROJ_LOG=proj::tui=debug, into .proj/logs/proj.log while the TUI runs),
- proj's CPU (utime+stime of the proj process, all threads, from /proc/PID/stat) over
  the measuring window, as a percentage of one core.

    python3 bench/tui.py [--proj target/debug/proj] [--rate 100000] [--procs 4] [--seconds 20]
"""

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time

EMITTER = r"""
import os, sys, time
rate = int(sys.argv[1]); name = sys.argv[2]
tick = 0.01
per_tick = max(1, int(rate * tick))
out = sys.stdout.buffer
n = 0
start = time.monotonic()
while True:
    chunk = []
    for _ in range(per_tick):
        n += 1
        if n % 10 == 0:
            chunk.append(b"\x1b[32mGET\x1b[0m /orders/%08d 200 \t%s some more text to reach eighty col\n" % (n, name.encode()))
        else:
            chunk.append(b"%s line %08d lorem ipsum dolor sit amet consectetur adipiscing elit sed\n" % (name.encode(), n))
    out.write(b"".join(chunk)); out.flush()
    target = start + n / rate
    delay = target - time.monotonic()
    if delay > 0:
        time.sleep(delay)
"""


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def threads(pid):
    """CPU seconds per thread name (proj-tui, tokio-runtime-w, proj-printer, ...)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        out[name] = out.get(name, 0) + seconds
    return out


def lines_written(root):
    total = 0
    logs = os.path.join(root, ".proj", "logs")
    for name in os.listdir(logs):
        if name.startswith("p") and name[1:].split(".")[0].isdigit():
            with open(os.path.join(logs, name), "rb") as f:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proj", default="target/debug/proj")
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    proj = os.path.abspath(args.proj)
    root = tempfile.mkdtemp(prefix="proj-tui-bench-")
    with open(os.path.join(root, "emit.py"), "w") as f:
        f.write(EMITTER)
    with open(os.path.join(root, "proj.toml"), "w") as f:
        # Big enough that no log file rotates during the run: they are counted.
        f.write('[project]\nlog_max_size = "4GiB"\n\n')
        for i in range(args.procs):
            f.write(f'[processes.p{i}]\ncommand = "exec python3 emit.py {args.rate // args.procs} p{i}"\n')
            f.write('\n')
    socket = f"proj-tui-bench-{os.getpid()}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    env = dict(os.environ, TERM="xterm-256color", PROJ_LOG="proj::tui=debug")
    env.pop("TMUX", None)
    subprocess.run(tmux + ["new-session", "-d", "-s", "bench", "-x", "200", "-y", "50", "-c", root,
                           f"exec {proj} up --tui"], env=env, check=True)
    try:
        pid = None
        deadline = time.time() + 20
        while pid is None and time.time() < deadline:
            out = subprocess.run(tmux + ["display-message", "-p", "-t", "bench", "#{pane_pid}"],
                                 capture_output=True, text=True).stdout.strip()
            pid = int(out) if out.isdigit() else None
            time.sleep(0.1)
        time.sleep(5)  # warm up: every process started, the TUI drawing
        lines0, cpu0, t0 = lines_written(root), cpu_seconds(pid), time.monotonic()
        threads0 = threads(pid)
        time.sleep(args.seconds)
        lines1, cpu1, t1 = lines_written(root), cpu_seconds(pid), time.monotonic()
        threads1 = threads(pid)
        with open(f"/proc/{pid}/status") as f:
            rss = next(line for line in f if line.startswith("VmRSS")).split()[1]
        elapsed = t1 - t0
        print(f"lines written: {(lines1 - lines0) / elapsed:,.0f}/s over {elapsed:.1f}s")
        print(f"proj CPU: {100 * (cpu1 - cpu0) / elapsed:.0f}% of one core; RSS {int(rss) // 1024} MiB")
        for name in sorted(threads1, key=lambda n: threads0.get(n, 0) - threads1[n]):
            share = 100 * (threads1[name] - threads0.get(name, 0)) / elapsed
            if share >= 0.5:
                print(f"  thread {name}: {share:.0f}%")
        with open(os.path.join(root, ".proj", "logs", "proj.log")) as f:
            stats = [line.strip() for line in f if "frames" in line]
        for line in stats[-max(1, int(args.seconds // 5)):]:
            print(re.sub(r"^.*?(fps)", r"\1", line))
    finally:
        subprocess.run(tmux + ["send-keys", "-t", "bench", "q"])
        time.sleep(2)
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
