#!/usr/bin/env python3
"""Latency of `proj mcp` tool calls against the same CLI command (not part of run.py).

    PYTHON_WITH_MCP bench/mcp_latency.py [--proj PATH] [--calls N]

Needs the official MCP Python SDK (`pip install mcp`) in the interpreter that runs it.
A small stack (web: a Python process with a tty-less loop; prompt: a `tty = true`
input() loop) is started with `proj up -d` in a temporary directory; one MCP session
(`proj mcp` over stdio, through the SDK) then calls each tool that does not wait for
anything N times in a row (default 100), and the harness runs the matching CLI command
N times. Each figure is the time from the call to its answer as the client sees it:
for a tool, the SDK's `call_tool` round trip (JSON-RPC over the pipes, the tool's
socket call to the supervisor, the reply); for the CLI, the whole command (exec, config
discovery, the socket call, printing). Prints one markdown table of p50 and p95 in
milliseconds. `send` has no CLI twin (`proj connect` needs a terminal), and `run`'s
figures include the command it runs (`true`).
"""

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

CONFIG = """
[processes.web]
command = "python3 -u -c 'import time\\nfor i in range(200): print(\\"line\\", i, flush=True)\\nwhile True: time.sleep(3600)'"

[processes.prompt]
command = "python3 -u -c 'while True: input()'"
tty = true
"""

# (tool, arguments, the CLI command that answers the same question)
CALLS = [
    ("status", {}, ["ps", "--json"]),
    ("logs", {"names": ["web"], "limit": 20}, ["logs", "--json", "-n", "20", "web"]),
    ("logs", {"grep": "line 1[0-9]+$", "limit": 100}, ["logs", "--json", "--grep", "line 1[0-9]+$"]),
    ("why", {"name": "web"}, ["why", "web"]),
    ("start", {"names": ["web"]}, ["start", "web"]),
    ("scale", {"counts": {"web": 1}}, ["scale", "web=1"]),
    ("signal", {"signal": "WINCH", "names": ["web"]}, ["signal", "WINCH", "web"]),
    ("run", {"command": ["true"]}, ["run", "--", "true"]),
    ("send", {"name": "prompt", "text": "x\n"}, None),
]


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def figures(samples):
    return f"{percentile(samples, 0.5) * 1000:.1f}", f"{percentile(samples, 0.95) * 1000:.1f}"


def cli_samples(proj, root, args, calls):
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        done = subprocess.run([proj, *args], cwd=root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"`proj {' '.join(args)}` exited {done.returncode}")
    return samples


async def tool_samples(client, tool, arguments, calls):
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        samples.append(time.perf_counter() - started)
        if result.is_error:
            raise SystemExit(f"{tool} failed: {result.content}")
    return samples


async def measure(proj, root, calls):
    rows = []
    server = StdioServerParameters(command=proj, args=["mcp"], cwd=str(root),
                                   env={"PATH": os.environ["PATH"]})
    async with Client(server, mode="legacy") as client:
        for tool, arguments, cli in CALLS:
            # One call first, so neither side pays for a cold page cache.
            await client.call_tool(tool, arguments)
            tool_times = await tool_samples(client, tool, arguments, calls)
            cli_times = cli_samples(proj, root, cli, calls) if cli else None
            rows.append((tool, arguments, cli, tool_times, cli_times))
            print(f"measured {tool}", file=sys.stderr)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proj", default=None)
    parser.add_argument("--calls", type=int, default=100)
    options = parser.parse_args()
    proj = options.proj or next(
        (str(p) for p in [Path("target/release/proj")] if p.exists()), shutil.which("proj"))
    proj = str(Path(proj).resolve())
    root = Path(tempfile.mkdtemp(prefix="proj-mcp-bench-"))
    (root / "proj.toml").write_text(CONFIG)
    try:
        subprocess.run([proj, "up", "-d"], cwd=root, check=True, stdout=subprocess.DEVNULL)
        rows = asyncio.run(measure(proj, root, options.calls))
    finally:
        subprocess.run([proj, "down"], cwd=root, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)
    print(f"| tool call ({options.calls} calls) | p50 ms | p95 ms | CLI command | p50 ms | p95 ms |")
    print("| --- | ---: | ---: | --- | ---: | ---: |")
    for tool, arguments, cli, tool_times, cli_times in rows:
        described = f"`{tool}` `{arguments}`" if arguments else f"`{tool}`"
        tool_p50, tool_p95 = figures(tool_times)
        if cli_times:
            cli_p50, cli_p95 = figures(cli_times)
            print(f"| {described} | {tool_p50} | {tool_p95} | `proj {' '.join(cli)}` | {cli_p50} | {cli_p95} |")
        else:
            print(f"| {described} | {tool_p50} | {tool_p95} | (none) | | |")


if __name__ == "__main__":
    main()
