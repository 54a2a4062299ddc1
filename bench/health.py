#!/usr/bin/env python3
"""Figures for issue 13: what health checks cost at idle, how fast a stuck process is
restarted, and what `proj ps` with CPU/MEM costs.

    python3 bench/health.py [--proj PATH] [--idle-seconds 60]

1. Idle: 50 instances (`sleep`), each with an http `health` check every 10 s against
   its own port of one asyncio server run by this script (so the servers' cost is not
   proj's). proj's own CPU time over the window, in ms per second, to the nanosecond
   (schedstat of every thread). The probes' syscalls (connect, write, read) are part of
   that figure; the user/system split comes from `perf record` samples at 20 kHz when
   perf is installed (else from /proc's 10 ms ticks, too coarse at this scale).
2. Time to restart: one http server with `health = { interval = "1s", timeout = "500ms",
   retries = 3 }`; the script makes it stop answering (it still accepts connections) and
   times the moment until proj prints `unhealthy … restarting`. The bound is
   interval × retries + timeout = 3.5 s. 5 runs.
3. `proj ps` (which samples CPU and memory of every running group) with 300 running
   instances, median of 20 calls, wall time of the whole command.
"""

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")

STUCK_SERVER = r"""import http.server, os, time
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists("stuck"):
            time.sleep(3600)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
server.daemon_threads = True
server.serve_forever()
"""


def find_proj(given):
    if given:
        return given
    built = REPO / "target" / "release" / "proj"
    return str(built) if built.exists() else shutil.which("proj")


def wait_for(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.005)
    raise SystemExit(f"timed out waiting for {what}")


def cpu_seconds(pid):
    """(user, system) CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def run_seconds(pid):
    """CPU seconds of a process, all its threads, to the nanosecond: the scheduler's
    own sum (/proc/PID/task/*/schedstat). /proc/PID/stat counts in 10 ms ticks, too
    coarse for a figure of tenths of a millisecond per second."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start(proj, workdir, output=subprocess.DEVNULL):
    return subprocess.Popen(
        [proj, "up", "--no-tui"],
        cwd=workdir,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )


def stop(up):
    if up.poll() is None:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)


def ps_ok(proj, work):
    return subprocess.run([proj, "ps"], cwd=work, capture_output=True).returncode == 0


def idle(proj, seconds):
    ports = free_ports(50)

    async def serve():
        async def answer(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        servers = [await asyncio.start_server(answer, "127.0.0.1", p) for p in ports]
        await asyncio.gather(*(s.serve_forever() for s in servers))

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="proj-health-") as tmp:
        work = Path(tmp)
        config = "".join(
            f'[processes.w{i}]\ncommand = "exec sleep 100000"\n'
            f'health = {{ http = "http://127.0.0.1:{port}/", interval = "10s" }}\n\n'
            for i, port in enumerate(ports)
        )
        (work / "proj.toml").write_text(config)
        up = start(proj, work)
        try:
            wait_for("proj up", lambda: ps_ok(proj, work))
            time.sleep(12)  # every check has run once: the steady state
            (user0, sys0), at = cpu_seconds(up.pid), time.monotonic()
            run0 = run_seconds(up.pid)
            sampler = perf_sampler(up.pid, seconds, work)
            time.sleep(seconds)
            run1 = run_seconds(up.pid)
            (user1, sys1), span = cpu_seconds(up.pid), time.monotonic() - at
            share = perf_user_share(sampler, work)
        finally:
            stop(up)
    # The precise total, split by perf's samples when perf is there, else as the
    # kernel's tick samples split it (a 10 ms tick: a few ticks per minute here).
    total = (run1 - run0) * 1000 / span
    if share is None:
        user, system = user1 - user0, sys1 - sys0
        share = user / (user + system) if user + system > 0 else 0.0
        how = "ticks"
    else:
        how = "perf"
    return total * share, total * (1 - share), how


def perf_sampler(pid, seconds, work):
    """`perf record` of proj at 20 kHz for the window, when perf is installed."""
    if not shutil.which("perf"):
        return None
    return subprocess.Popen(
        ["perf", "record", "-F", "20000", "-p", str(pid), "-o", str(work / "perf.data"),
         "--", "sleep", str(seconds)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def perf_user_share(sampler, work):
    """The share of perf's samples outside the kernel, or None without perf."""
    if sampler is None or sampler.wait() != 0:
        return None
    script = subprocess.run(
        ["perf", "script", "-i", str(work / "perf.data"), "-F", "ip,dso"],
        capture_output=True, text=True,
    ).stdout.splitlines()
    if not script:
        return None
    kernel = sum("kallsyms" in line for line in script)
    return (len(script) - kernel) / len(script)


def restart_delay(proj):
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="proj-stuck-") as tmp:
        work = Path(tmp)
        (work / "server.py").write_text(STUCK_SERVER)
        (work / "proj.toml").write_text(
            f'[processes.web]\ncommand = "exec python3 server.py"\nport = {port}\n'
            'ready = { http = "http://127.0.0.1:$PORT/" }\n'
            'health = { http = "http://127.0.0.1:$PORT/", interval = "1s", timeout = "500ms", retries = 3 }\n'
        )
        up = start(proj, work, subprocess.PIPE)
        lines = []
        seen = threading.Event()

        def read():
            for line in up.stdout:
                lines.append(line)
                if "unhealthy" in line:
                    seen.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            wait_for("web ready", lambda: any("ready after" in l for l in lines))
            time.sleep(1.5)  # a check or two passed: "healthy"
            (work / "stuck").write_text("")
            stuck_at = time.monotonic()
            if not seen.wait(30):
                raise SystemExit("never unhealthy:\n" + "".join(lines))
            return time.monotonic() - stuck_at
        finally:
            stop(up)


def ps_time(proj):
    with tempfile.TemporaryDirectory(prefix="proj-ps-") as tmp:
        work = Path(tmp)
        (work / "proj.toml").write_text(
            '[processes.w]\ncommand = "exec sleep 100000"\nscale = 300\n'
        )
        up = start(proj, work)
        try:
            def all_running():
                out = subprocess.run(
                    [proj, "ps", "--json"], cwd=work, capture_output=True, text=True
                )
                return out.returncode == 0 and out.stdout.count('"running"') == 300

            wait_for("300 running", all_running, timeout=120)
            times = []
            for _ in range(20):
                at = time.monotonic()
                out = subprocess.run([proj, "ps"], cwd=work, capture_output=True, text=True)
                times.append(time.monotonic() - at)
                assert "MiB" in out.stdout or "KiB" in out.stdout, out.stdout[:500]
            return statistics.median(times) * 1000
        finally:
            stop(up)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--proj")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--only", choices=["idle", "restart", "ps"])
    args = parser.parse_args()
    proj = find_proj(args.proj)
    if not proj:
        sys.exit("build proj first (cargo build --release) or pass --proj")
    print(f"proj: {proj}")
    if args.only in (None, "idle"):
        user, system, how = idle(proj, args.idle_seconds)
        print(
            "1. idle, 50 http health checks every 10 s (5 checks/s): "
            f"{user + system:.3f} ms of CPU per second (schedstat), "
            f"{(user + system) / 5 * 1000:.0f} us per check; split by {how} samples: "
            f"user {user:.3f}, system (the probes' syscalls, loopback TCP) {system:.3f}"
        )
    if args.only in (None, "restart"):
        delays = [restart_delay(proj) for _ in range(5)]
        print(
            "2. stuck → restart (interval 1s, timeout 500ms, retries 3; bound 3.5 s): "
            f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s "
            f"({', '.join(f'{d:.2f}' for d in delays)})"
        )
    if args.only in (None, "ps"):
        print(f"3. proj ps with CPU/MEM, 300 running instances: median {ps_time(proj):.1f} ms")


if __name__ == "__main__":
    main()
