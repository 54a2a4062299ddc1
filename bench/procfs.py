"""Process bookkeeping through /proc: trees, CPU time, memory, leftovers.

Everything the harness knows about running processes comes from here, so
every supervisor is observed the same way. A zombie counts as gone: it has
exited and only waits to be reaped.

The harness makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), so a
process orphaned by a supervisor is re-parented to the harness instead of to
PID 1 (which may not reap at all in a container). `reap_orphans` collects those
without touching the children the harness started itself through `spawn`.
"""

import ctypes
import os
import signal
import subprocess
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36

# PIDs of children started through `spawn`: their Popen objects reap them.
_spawned: set[int] = set()


def become_subreaper() -> None:
    """Adopt orphaned descendants (Linux >= 3.4)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def spawn(argv, **kwargs) -> subprocess.Popen:
    """subprocess.Popen, remembered so that `reap_orphans` leaves it alone."""
    process = subprocess.Popen(argv, **kwargs)
    _spawned.add(process.pid)
    return process


def reap_orphans() -> None:
    """Reap exited orphans that were re-parented to the harness."""
    me = os.getpid()
    for pid, (ppid, _comm, state) in snapshot().items():
        if ppid == me and state == "Z" and pid not in _spawned:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _read_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name, or None if gone.

    Index 0 is the state (field 3 in proc(5)), so field N is at N - 3.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may itself contain ") ".
    return raw[raw.rfind(")") + 2:].split()


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", "rb") as f:
            return f.read().decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def snapshot() -> dict[int, tuple[int, str, str]]:
    """Every process: pid -> (ppid, comm, state)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        fields = _read_stat(pid)
        if fields is not None:
            procs[pid] = (int(fields[1]), _comm(pid), fields[0])
    return procs


def descendants(root: int, procs: dict[int, tuple[int, str, str]]) -> set[int]:
    """Live (non-zombie) descendants of root, root excluded."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _comm, state) in procs.items():
        if state != "Z":
            children.setdefault(ppid, []).append(pid)
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while pid exists and is not a zombie."""
    fields = _read_stat(pid)
    return fields is not None and fields[0] != "Z"


def cpu_seconds(pids) -> float:
    """User + system CPU time of the given processes (all threads), seconds."""
    ticks = 0
    for pid in pids:
        fields = _read_stat(pid)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / CLOCK_TICKS


def pss_kib(pids) -> int:
    """Proportional set size of the given processes, KiB, summed."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def marked(marker: bytes) -> list[int]:
    """PIDs (other than the harness) whose environment contains marker."""
    me = os.getpid()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read():
                    found.append(int(entry))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return found


def kill_marked(marker: bytes, deadline: float = 5.0) -> None:
    """SIGKILL every process carrying marker until none is left."""
    end = time.monotonic() + deadline
    pids = [pid for pid in marked(marker) if alive(pid)]
    while pids and time.monotonic() < end:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
        reap_orphans()
        pids = [pid for pid in marked(marker) if alive(pid)]
