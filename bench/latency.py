#!/usr/bin/env python3
"""Latency figures for readiness and the control socket (not part of run.py's table).

    python3 bench/latency.py [--proj PATH]

1. Readiness overhead: a chain of 4 services, each depending on the previous one, each
   listening on its port as soon as it starts (a `tcp` probe that passes at once). The
   same chain is run without proj: the harness starts each service as soon as the
   previous one accepts connections (a 1 ms connect loop). proj's overhead per level is
   (time to all ready under proj - time without proj) / 4. Median of 5 runs.
2. `proj ps` round trip with 300 instances: the whole command (process start, connect,
   answer, table), median of 20.
3. `proj restart one` until it answers with the new pid (the instance exits at once on
   SIGTERM), median of 20.
4. systemd READY=1: a datagram socket stands in for systemd (NOTIFY_SOCKET); the last
   service prints `ready` with its CLOCK_MONOTONIC time (a `log` probe); the harness
   stamps READY=1 when it arrives. Median of 5.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVICE = """import os, socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"]))); s.listen()
while True: time.sleep(1000)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.001)
    raise SystemExit(f"port {port} never opened")


def chain_without_proj(workdir: Path, ports: list[int]) -> float:
    started = time.monotonic()
    children = []
    try:
        for port in ports:
            env = dict(os.environ, PORT=str(port))
            children.append(subprocess.Popen([sys.executable, str(workdir / "service.py")], env=env))
            wait_port(port, time.monotonic() + 30)
        return time.monotonic() - started
    finally:
        for child in children:
            child.kill()
            child.wait()


def chain_with_proj(proj: str, workdir: Path, ports: list[int]) -> float:
    lines = []
    for level, port in enumerate(ports):
        lines += [f"[processes.s{level}]", f'command = "{sys.executable} service.py"', f"port = {port}",
                  'ready = { tcp = "$PORT" }']
        if level:
            lines.append(f'depends_on = ["s{level - 1}"]')
        lines.append("")
    (workdir / "proj.toml").write_text("\n".join(lines))
    started = time.monotonic()
    proc = subprocess.Popen([proj, "up", "--no-tui"], cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(ports[-1], time.monotonic() + 30)
        return time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def readiness(proj: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="proj-latency-"))
    try:
        (workdir / "service.py").write_text(SERVICE)
        overheads, totals, ideals = [], [], []
        for _ in range(5):
            ports = [free_port() for _ in range(4)]
            ideal = chain_without_proj(workdir, ports)
            ports = [free_port() for _ in range(4)]
            total = chain_with_proj(proj, workdir, ports)
            ideals.append(ideal)
            totals.append(total)
            overheads.append((total - ideal) / 4)
        print(f"readiness chain of 4: without proj {statistics.median(ideals) * 1000:.0f} ms, "
              f"with proj {statistics.median(totals) * 1000:.0f} ms, "
              f"overhead per level {statistics.median(overheads) * 1000:.1f} ms (median of 5)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def timed(command: list[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def control(proj: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="proj-latency-"))
    try:
        (workdir / "proj.toml").write_text(
            '[processes.many]\ncommand = "sleep 1000"\nscale = 300\n\n'
            '[processes.one]\ncommand = "sleep 1000"\n')
        proc = subprocess.Popen([proj, "up", "-d"], cwd=workdir, stdout=subprocess.DEVNULL)
        proc.wait(timeout=60)
        try:
            ps = [timed([proj, "ps"], workdir) for _ in range(20)]
            restart = [timed([proj, "restart", "one"], workdir) for _ in range(20)]
            print(f"proj ps with 301 instances: median {statistics.median(ps) * 1000:.1f} ms (20 runs)")
            print(f"proj restart one -> new pid: median {statistics.median(restart) * 1000:.1f} ms (20 runs)")
        finally:
            subprocess.run([proj, "down"], cwd=workdir, stdout=subprocess.DEVNULL, timeout=60)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def ready_notification(proj: str) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="proj-latency-"))
    try:
        (workdir / "proj.toml").write_text(
            '[processes.first]\ncommand = "exec sleep 1000"\n\n'
            '[processes.last]\n'
            'command = "python3 -c \'import time; print(\\"ready\\", time.clock_gettime_ns(time.CLOCK_MONOTONIC), flush=True); time.sleep(1000)\'"\n'
            'ready = { log = "^ready" }\n'
            'depends_on = ["first"]\n')
        samples = []
        for run in range(5):
            path = workdir / f"notify-{run}.sock"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(str(path))
            sock.settimeout(30)
            env = dict(os.environ, NOTIFY_SOCKET=str(path))
            proc = subprocess.Popen([proj, "up", "--no-tui"], cwd=workdir, env=env,
                                    stdout=subprocess.PIPE, text=True)
            try:
                while True:
                    message = sock.recv(4096).decode()
                    if "READY=1" in message.split("\n"):
                        received = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
                        break
            finally:
                proc.send_signal(signal.SIGTERM)
                output, _ = proc.communicate(timeout=30)
                sock.close()
            stamp = next(int(line.split()[-1]) for line in output.splitlines() if "| ready " in line)
            samples.append((received - stamp) / 1e6)
        print(f"last service ready -> READY=1: median {statistics.median(samples):.2f} ms "
              f"(min {min(samples):.2f}, max {max(samples):.2f}, 5 runs)")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parent.parent / "target" / "release" / "proj"
    parser.add_argument("--proj", default=str(default) if default.exists() else shutil.which("proj"))
    args = parser.parse_args()
    args.proj = os.path.abspath(args.proj) if args.proj else None
    if not args.proj:
        raise SystemExit("no proj binary: cargo build --release, or pass --proj")
    readiness(args.proj)
    control(args.proj)
    ready_notification(args.proj)


main()
