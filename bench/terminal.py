#!/usr/bin/env python3
"""Two measurements of `tty = true` (issue 14), printed as markdown.

1. Keystroke round trip through `proj connect`: a `tty = true` process that echoes
   each byte it reads (`stty raw -echo; exec cat`), a `proj connect` whose own terminal
   is a pty this script holds; one key is written, the time until its echo is read back
   is one sample. Median (and spread) of 100 keys, after 10 for warm-up.
2. Throughput: 100k lines printed by the same command under a pipe and under a tty, in
   the same run, one after the other; lines per second from the process's start to the
   last line proj read (proj's own timestamps in `proj up --no-tui`).

    cargo build --release && python3 bench/terminal.py [--proj target/release/proj]

Linux, Python 3.10+, standard library only.
"""

import argparse
import os
import pty
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LINES = 100_000
KEYS = 100
WARMUP = 10


def find_proj(given):
    if given:
        return os.path.abspath(given)
    for candidate in ("target/release/proj", "target/debug/proj"):
        if os.path.exists(candidate):
            return os.path.abspath(candidate)
    return shutil.which("proj") or sys.exit("no proj binary: cargo build --release")


def read_until(fd, needle, timeout=20.0):
    deadline = time.monotonic() + timeout
    seen = b""
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"waiting for {needle!r}; got {seen[-300:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 65536)
    return seen


def round_trip(proj):
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "proj.toml"), "w") as config:
            config.write(
                '[processes.echo]\n'
                'command = "stty raw -echo; echo ready; exec cat"\n'
                'tty = true\n'
            )
        up = subprocess.run([proj, "up", "-d"], cwd=root, capture_output=True, text=True)
        if up.returncode != 0:
            sys.exit(f"proj up -d failed: {up.stdout}{up.stderr}")
        try:
            pid, fd = pty.fork()
            if pid == 0:
                os.chdir(root)
                os.execv(proj, [proj, "connect", "echo"])
            read_until(fd, b"ready")
            samples = []
            for index in range(WARMUP + KEYS):
                key = bytes([ord("a") + index % 26])
                started = time.perf_counter()
                os.write(fd, key)
                read_until(fd, key)
                samples.append((time.perf_counter() - started) * 1000)
            os.write(fd, b"\x1d")  # Ctrl-]: detach
            os.waitpid(pid, 0)
            return samples[WARMUP:]
        finally:
            subprocess.run([proj, "down"], cwd=root, capture_output=True)


STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) (\S+)\s+\| (.*)$")


def seconds(match):
    h, m, s, ms = (int(match.group(i)) for i in range(1, 5))
    return h * 3600 + m * 60 + s + ms / 1000


PRINTED = f"python3 -c 'for i in range({LINES}): print(\"line\", i)'"
# The same lines in one write: what proj costs, without Python's line buffering on a tty.
WRITTEN = (
    "python3 -c 'import sys; "
    f"sys.stdout.write(\"\".join(f\"line {{i}}\\\\n\" for i in range({LINES})))'"
)


def throughput(proj, command):
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "proj.toml"), "w") as config:
            config.write(
                f'[processes.pipe]\ncommand = "{command.replace(chr(34), chr(92) + chr(34))}"\n'
                'oneshot = true\n\n'
                f'[processes.tty]\ncommand = "{command.replace(chr(34), chr(92) + chr(34))}"\n'
                'oneshot = true\ntty = true\ndepends_on = ["pipe"]\n'
            )
        env = dict(os.environ, NO_COLOR="1")
        run = subprocess.Popen(
            [proj, "up", "--no-tui"], cwd=root, stdout=subprocess.PIPE, text=True, env=env
        )
        started, last, count = {}, {}, {}
        for line in run.stdout:
            match = STAMP.match(line.rstrip("\n"))
            if not match:
                continue
            name, text = match.group(5), match.group(6)
            if name == "proj":
                for process in ("pipe", "tty"):
                    if text.startswith(f"{process}: started"):
                        started[process] = seconds(match)
                if "tty: exited" in text and count.get("tty", 0) >= LINES:
                    run.terminate()
                continue
            count[name] = count.get(name, 0) + 1
            last[name] = seconds(match)
            if name == "tty" and count[name] == LINES:
                run.terminate()
        run.wait()
        return {
            name: (count.get(name, 0), count.get(name, 0) / max(last[name] - started[name], 0.001))
            for name in ("pipe", "tty")
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proj")
    proj = find_proj(parser.parse_args().proj)
    samples = round_trip(proj)
    printed = throughput(proj, PRINTED)
    written = throughput(proj, WRITTEN)
    print("| measurement | result |")
    print("| --- | --- |")
    print(
        f"| keystroke round trip through `proj connect` ({KEYS} keys) | median "
        f"{statistics.median(samples):.2f} ms (p10 {statistics.quantiles(samples, n=10)[0]:.2f}, "
        f"p90 {statistics.quantiles(samples, n=10)[-1]:.2f}, max {max(samples):.2f}) |"
    )
    for how, rates in (("print() per line", printed), ("one write", written)):
        for name in ("pipe", "tty"):
            lines, rate = rates[name]
            print(
                f"| {LINES // 1000}k lines, {how}, on a {name} | "
                f"{rate:,.0f} lines/s ({lines} lines logged) |"
            )
        print(f"| {how}: tty / pipe | {rates['tty'][1] / rates['pipe'][1]:.2f} |")


if __name__ == "__main__":
    main()
