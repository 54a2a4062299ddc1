"""Drive `proj mcp` with the official MCP Python SDK, as an agent's client would.

Run by tests/mcp.rs: `python session.py PROJ_BINARY PROJECT_DIR`. The project is the one
tests/mcp.rs writes (web: app.py, which imports greeting.py; worker: a ticker; prompt: a
`tty = true` input() loop that appends what it reads to typed.txt).

Every tool is called through the SDK; each check prints a line, and the first failed
check raises (exit 1 with a traceback). Nothing sleeps to synchronise: what is not
known to be there yet is polled for with a deadline.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mcp import Client, StdioServerParameters

PROJ = sys.argv[1]
ROOT = Path(sys.argv[2])
DEADLINE = 20.0

TOOLS = {
    "up", "down", "status", "logs", "start", "stop", "restart", "scale", "wait", "why",
    "send", "run", "signal",
}


def server():
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return StdioServerParameters(command=PROJ, args=["mcp"], cwd=str(ROOT), env=env)


def text(result):
    return "".join(block.text for block in result.content if block.type == "text")


def ok(result, what):
    assert not result.is_error, f"{what}: unexpected tool error:\n{text(result)}"
    print(f"ok: {what}")
    return result


def failed(result, what, needle):
    assert result.is_error, f"{what}: expected a tool error, got:\n{text(result)}"
    assert needle in text(result), f"{what}: {needle!r} not in:\n{text(result)}"
    print(f"ok: {what} (tool error: {text(result).strip().splitlines()[-1]})")
    return result


def cli(*args):
    done = subprocess.run(
        [PROJ, "--color", "never", *args], cwd=ROOT, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=60,
    )
    return done


def states(result):
    return {i["name"]: i["state"] for i in result.structured_content["instances"]}


async def until(what, check):
    """Poll `check` (async, returns a value or None) until it returns a value."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = await check()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def main():
    # A client that speaks the handshake (protocol 2025-06-18 and later), as Claude Code,
    # Cursor and Codex do today.
    async with Client(server(), mode="legacy") as agent:
        assert agent.protocol_version >= "2025-06-18", agent.protocol_version
        assert agent.server_info.name == "proj", agent.server_info
        print(f"ok: handshake, protocol {agent.protocol_version}")
        listed = await agent.list_tools()
        names = {tool.name for tool in listed.tools}
        assert names == TOOLS, names
        for tool in listed.tools:
            assert tool.description and tool.input_schema["type"] == "object", tool
        print("ok: tools/list names the 13 tools, each with a description and a schema")

        # Nothing runs yet: a tool error, and the server goes on.
        failed(await agent.call_tool("status", {}), "status before up", "no proj running")

        # Errors are tool errors, never a dead server.
        failed(await agent.call_tool("dance", {}), "an unknown tool", "the tools are: up, down")
        failed(await agent.call_tool("logs", {"lines": 5}), "an unknown argument",
               "unknown field `lines`")
        failed(await agent.call_tool("why", {}), "a missing argument", "missing field `name`")
        failed(await agent.call_tool("scale", {"counts": {"worker": -1}}), "a wrong type",
               "invalid arguments for `scale`")
        failed(await agent.call_tool("logs", {"since": "yesterday-ish"}), "a bad duration",
               "invalid `since`")

        up = ok(await agent.call_tool("up", {}), "up starts a detached supervisor")
        assert states(up) == {"web": "running", "worker": "running", "prompt": "running"}, up
        assert "web" in text(up) and "running" in text(up), text(up)
        again = ok(await agent.call_tool("up", {}), "up again")
        assert "already running" in text(again), text(again)

        # status: ps --json's elements, and the same table the CLI prints.
        status = ok(await agent.call_tool("status", {}), "status")
        listed_by_cli = json.loads(cli("ps", "--json").stdout)
        assert [i["name"] for i in status.structured_content["instances"]] == [
            i["name"] for i in listed_by_cli
        ]
        assert set(status.structured_content["instances"][0]) >= {
            "name", "process", "state", "pid", "restarts", "exit_code", "port",
        }
        assert text(status).splitlines()[0].split()[:2] == ["NAME", "STATE"], text(status)

        # logs: the CLI's lines, filtered the same way.
        logs = ok(await agent.call_tool("logs", {"names": ["web"]}), "logs of web")
        lines = logs.structured_content["lines"]
        assert any(line["line"] == "serving" for line in lines), lines
        assert set(lines[0]) == {"time", "name", "line"}, lines[0]
        by_cli = [json.loads(line) for line in cli("logs", "--json", "web").stdout.splitlines()]
        assert [l["line"] for l in by_cli] == [l["line"] for l in lines], (by_cli, lines)
        assert "web | serving" in text(logs), text(logs)
        # The worker ticks every 0.2 s: wait (with a deadline) until it has said more
        # than the limit, then the limit must cut.
        deadline = time.monotonic() + 30
        while True:
            every = ok(await agent.call_tool("logs", {"names": ["worker"]}), "logs of worker")
            if len(every.structured_content["lines"]) > 2 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        limited = ok(await agent.call_tool("logs", {"names": ["worker"], "limit": 2}), "logs limit")
        assert len(limited.structured_content["lines"]) == 2, limited.structured_content
        grep = ok(await agent.call_tool("logs", {"grep": "^serv"}), "logs grep")
        assert {l["line"] for l in grep.structured_content["lines"]} == {"serving"}, grep
        since = ok(await agent.call_tool("logs", {"names": ["web"], "since": "1h"}), "logs since")
        assert len(since.structured_content["lines"]) >= 1
        future = ok(await agent.call_tool(
            "logs", {"names": ["web"], "since": "2100-01-01T00:00:00Z"}), "logs since later")
        assert future.structured_content["lines"] == [] and "no lines" in text(future)

        # scale, stop, start.
        scaled = ok(await agent.call_tool("scale", {"counts": {"worker": 2}}), "scale up")
        assert {"worker.1", "worker.2"} <= set(states(scaled)), text(scaled)
        assert any(o["did"] == "started" for o in scaled.structured_content["outcomes"]), scaled
        ok(await agent.call_tool("scale", {"counts": {"worker": 1}}), "scale down")
        stopped = ok(await agent.call_tool("stop", {"names": ["worker"]}), "stop")
        assert states(stopped)["worker"] == "stopped", text(stopped)
        started = ok(await agent.call_tool("start", {"names": ["worker"]}), "start")
        assert states(started)["worker"] == "running", text(started)
        failed(await agent.call_tool("start", {"names": ["nope"]}), "start an unknown name", "nope")

        # signal: app.py says `reloaded` on SIGHUP.
        ok(await agent.call_tool("signal", {"signal": "HUP", "names": ["web"]}), "signal")

        async def reloaded():
            logs = await agent.call_tool("logs", {"names": ["web"], "grep": "reloaded"})
            return logs if logs.structured_content["lines"] else None

        await until("web to say it reloaded", reloaded)
        failed(await agent.call_tool("signal", {"signal": "NOPE", "names": ["web"]}),
               "an unknown signal", "invalid arguments for `signal`")

        # The agent's loop: a failing edit, why, the fix, restart.
        greeting = ROOT / "greeting.py"
        good = greeting.read_text()
        greeting.write_text("def hello(:\n")
        broken = failed(await agent.call_tool("restart", {"names": ["web"]}),
                        "restart after a failing edit", "web")
        assert states(broken)["web"] == "failed", text(broken)
        why = ok(await agent.call_tool("why", {"name": "web"}), "why")
        assert why.structured_content["instance"]["state"] == "failed", why.structured_content
        assert "SyntaxError" in text(why), text(why)
        assert text(why) == cli("why", "web").stdout, (text(why), cli("why", "web").stdout)
        failed(await agent.call_tool("why", {"name": "nope"}), "why of an unknown name", "nope")
        greeting.write_text(good)
        fixed = ok(await agent.call_tool("restart", {"names": ["web"]}), "restart after the fix")
        assert states(fixed)["web"] == "running", text(fixed)
        ok(await agent.call_tool("wait", {"names": ["web"], "timeout": "10s"}), "wait")
        failed(await agent.call_tool("wait", {"names": ["nope"], "timeout": 1}),
               "wait for an unknown name", "nope")

        # send: typed into the tty prompt, which writes what it read.
        sent = ok(await agent.call_tool("send", {"name": "prompt", "text": "hello there\n"}),
                  "send")
        assert sent.structured_content == {"instance": "prompt", "bytes": 12}, sent
        typed = ROOT / "typed.txt"

        async def got_line():
            return True if typed.exists() and "hello there\n" in typed.read_text() else None

        await until("the prompt to read the line", got_line)
        failed(await agent.call_tool("send", {"name": "web", "text": "x\n"}),
               "send to a process without a terminal", "tty")

        # run: output captured, exit code, the instance's environment, the timeout.
        run = failed(await agent.call_tool(
            "run", {"command": "echo root=$PROJ_ROOT; echo oops >&2; exit 3"}),
            "run a failing command", "exited with code 3")
        assert run.structured_content["exit_code"] == 3, run.structured_content
        assert run.structured_content["stdout"] == f"root={ROOT.resolve()}\n", run.structured_content
        assert run.structured_content["stderr"] == "oops\n", run.structured_content
        inside = ok(await agent.call_tool(
            "run", {"command": ["sh", "-c", "echo $PROJ_PROCESS $GREETING"], "in": "web"}),
            "run in web")
        assert inside.structured_content["stdout"] == "web hi\n", inside.structured_content
        started_at = time.monotonic()
        slow = failed(await agent.call_tool("run", {"command": "sleep 30", "timeout": 1}),
                      "run past its timeout", "killed")
        assert slow.structured_content["timed_out"] is True
        assert time.monotonic() - started_at < 10

        # Calls of one session run concurrently: a `run` that waits for a file does not
        # hold up a `status` behind it.
        held = asyncio.create_task(agent.call_tool(
            "run", {"command": "while [ ! -e go ]; do sleep 0.05; done; echo went"}))
        ok(await agent.call_tool("status", {}), "status while a run is in progress")
        assert not held.done(), "the run ended before it was let go"
        (ROOT / "go").write_text("")
        went = ok(await held, "the run, once let go")
        assert went.structured_content["stdout"] == "went\n", went.structured_content

        # A second session (the newer stateless protocol) and the CLI, beside this one.
        async with Client(server()) as second:
            print(f"ok: a second session, protocol {second.protocol_version}")
            slow_wait = asyncio.create_task(
                agent.call_tool("wait", {"names": ["web", "worker"], "timeout": "10s"}))
            both = await asyncio.gather(
                second.call_tool("status", {}), agent.call_tool("status", {}))
            assert states(both[0]) == states(both[1]), both
            restarted = cli("restart", "worker")
            assert restarted.returncode == 0, restarted
            after = ok(await second.call_tool("status", {}), "status after the CLI's restart")
            worker = next(i for i in after.structured_content["instances"]
                          if i["name"] == "worker")
            assert worker["restarts"] >= 1 and worker["last_restart"] == "request", worker
            ok(await slow_wait, "a wait beside another session's calls")

        # The first session still answers after the second one ended.
        ok(await agent.call_tool("status", {}), "status after the second session ended")
        down = ok(await agent.call_tool("down", {}), "down")
        assert "proj stopped" in text(down)
        failed(await agent.call_tool("status", {}), "status after down", "no proj running")
    print("all checks passed")


asyncio.run(main())
