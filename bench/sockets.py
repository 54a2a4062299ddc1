#!/usr/bin/env python3
"""One address for N instances (SPEC §9.3): what clients see during a restart.

    python3 bench/sockets.py [--proj PATH] [--restarts N] [--seconds S]

Runs one small HTTP server (python3, standard library) under proj twice: with
`socket = PORT` (proj holds the socket, every instance accepts from it) and with
`port = PORT` (each instance binds its own). A client thread sends requests in a loop
(a new connection each) while `proj restart web` (not rolling) runs N times, and counts
answers, refused connections and resets. Then it measures the latency of one request
with the server under proj's socket and with the same server started directly: proj
adds no hop, so the two should match.

Prints one markdown table on stdout; progress on stderr.
"""

import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SERVER = r'''
import os, select, signal, socket, sys
if os.environ.get("LISTEN_FDS") == "1":
    listener = socket.socket(fileno=3)
else:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(os.environ["PORT"])))
    listener.listen(1024)
stopping = accepting = False
class Stop(Exception):
    pass
def stop(*_):
    global stopping
    stopping = True
    if accepting:
        raise Stop  # out of an accept that another instance's connection left waiting
signal.signal(signal.SIGTERM, stop)
print("listening", flush=True)
# Graceful as gunicorn is: a SIGTERM waits for the request in hand, and a connection is
# never accepted to be dropped (the wait is in select, not in accept).
while not stopping:
    ready, _, _ = select.select([listener], [], [], 0.05)
    if stopping or not ready:
        continue
    try:
        accepting = True
        conn, _ = listener.accept()
        accepting = False
    except Stop:
        break
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
    conn.close()
'''


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(port, timeout=10.0):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read()
    finally:
        connection.close()


def wait_for(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def run_restarts(proj, key, restarts, scale):
    port = free_port()
    directory = tempfile.mkdtemp(prefix="proj-bench-socket-")
    with open(os.path.join(directory, "server.py"), "w") as file:
        file.write(SERVER)
    with open(os.path.join(directory, "proj.toml"), "w") as file:
        file.write(
            f'[processes.web]\ncommand = "python3 server.py"\n{key} = {port}\n'
            f'scale = {scale}\nready = {{ log = "listening" }}\n'
        )
    supervisor = subprocess.Popen(
        [proj, "up", "--no-tui"], cwd=directory,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        def answers():
            try:
                return request(port, timeout=1) == b"ok\n"
            except OSError:
                return False
        wait_for(answers, "the first answer")
        counts = {"answered": 0, "refused": 0, "reset": 0, "other": 0}
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    request(port)
                    counts["answered"] += 1
                except ConnectionRefusedError:
                    counts["refused"] += 1
                except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
                    counts["reset"] += 1
                except OSError:
                    counts["other"] += 1

        client = threading.Thread(target=load)
        client.start()
        started = time.monotonic()
        for _ in range(restarts):
            subprocess.run([proj, "restart", "web"], cwd=directory, check=True,
                           stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        stop.set()
        client.join()
        return counts, elapsed
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=60)
        shutil.rmtree(directory, ignore_errors=True)


def latencies(port, count):
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        request(port)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run_latency(proj, count):
    rows = []
    # Directly: the server binds its own port, started by this script.
    port = free_port()
    directory = tempfile.mkdtemp(prefix="proj-bench-socket-")
    with open(os.path.join(directory, "server.py"), "w") as file:
        file.write(SERVER)
    direct = subprocess.Popen([sys.executable, "server.py"], cwd=directory,
                              env={**os.environ, "PORT": str(port)},
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    direct.stdout.readline()
    rows.append(("direct (no proj)", latencies(port, count)))
    direct.terminate()
    direct.wait()
    # Under proj, from its socket.
    port = free_port()
    with open(os.path.join(directory, "proj.toml"), "w") as file:
        file.write(f'[processes.web]\ncommand = "python3 server.py"\nsocket = {port}\n'
                   'ready = { log = "listening" }\n')
    supervisor = subprocess.Popen([proj, "up", "--no-tui"], cwd=directory,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
    def answers():
        try:
            return request(port, timeout=1) == b"ok\n"
        except OSError:
            return False
    wait_for(answers, "the first answer")
    rows.append(("proj, socket = PORT", latencies(port, count)))
    supervisor.send_signal(signal.SIGTERM)
    supervisor.wait(timeout=60)
    shutil.rmtree(directory, ignore_errors=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proj", default=None)
    parser.add_argument("--restarts", type=int, default=20)
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    proj = args.proj or next(
        (path for path in ("target/release/proj", shutil.which("proj")) if path and os.path.exists(path)),
        None,
    )
    if proj is None:
        raise SystemExit("no proj binary: cargo build --release")
    proj = os.path.abspath(proj)
    print(f"proj: {proj}", file=sys.stderr)
    print(f"| mode | restarts | seconds | answered | refused | reset | other |")
    print("|---|---|---|---|---|---|---|")
    for key in ("socket", "port"):
        if key == "port" and args.scale > 1:
            scale = 1  # a port per instance: one instance, so one address to ask
        else:
            scale = args.scale
        print(f"{key} = PORT, scale {scale} …", file=sys.stderr)
        counts, elapsed = run_restarts(proj, key, args.restarts, scale)
        print(f"| `{key}`, scale {scale} | {args.restarts} | {elapsed:.1f} | {counts['answered']} | "
              f"{counts['refused']} | {counts['reset']} | {counts['other']} |")
    print()
    print("| server | requests | median ms | p90 ms |")
    print("|---|---|---|---|")
    for name, samples in run_latency(proj, args.requests):
        samples.sort()
        p90 = samples[int(len(samples) * 0.9)]
        print(f"| {name} | {len(samples)} | {statistics.median(samples):.3f} | {p90:.3f} |")


if __name__ == "__main__":
    main()
