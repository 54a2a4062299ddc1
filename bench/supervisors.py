"""The supervisors under test, each behind the same small interface.

A workload describes what to run as a list of `Program`s; a `Supervisor`
turns them into its own configuration, starts, stops and observes itself:

    sup.start(workdir, programs, env)   # write the config, launch
    sup.pids()                          # the processes that are the supervisor
    sup.terminate()                     # its documented "stop everything" signal
    sup.wait(timeout)                   # True once it has exited
    sup.output_files()                  # where the children's lines end up

`Ceiling` is the "no supervisor" baseline: the harness itself spawns the
children and does the least a supervisor could do.

Every supervisor runs in its own session, with the run's marker in its
environment so that the harness can find (and kill) everything it left behind.
"""

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import procfs

BENCH_DIR = Path(__file__).resolve().parent
VENV_DIR = BENCH_DIR / ".venv"
# Pinned so that numbers from different days compare.
PIP_PACKAGES = ["honcho==2.0.0", "supervisor==4.3.0"]


def ensure_venv() -> Path | None:
    """The cached venv's bin directory, with honcho and supervisord installed.

    Made on first use, and again when PIP_PACKAGES changes; None if pip fails.
    """
    bin_dir = VENV_DIR / "bin"
    stamp = VENV_DIR / "packages.txt"
    wanted = "\n".join(PIP_PACKAGES)
    if stamp.exists() and stamp.read_text() == wanted:
        return bin_dir
    print(f"installing {' '.join(PIP_PACKAGES)} into {VENV_DIR} ...", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV_DIR)], check=True)
        subprocess.run([str(bin_dir / "pip"), "install", "--quiet", *PIP_PACKAGES], check=True)
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"cannot install honcho and supervisor: {error}", file=sys.stderr)
        return None
    stamp.write_text(wanted)
    return bin_dir


@dataclass
class Program:
    """One kind of process in a workload, `scale` instances of it."""

    name: str
    argv: list[str]
    scale: int = 1
    restart: bool = False  # restart at once whenever it exits
    stop_timeout: float | None = None  # seconds from stop signal to SIGKILL

    def instances(self) -> list[str]:
        """Instance names, as proj names them: `w`, or `w.1` … `w.N`."""
        if self.scale == 1:
            return [self.name]
        return [f"{self.name}.{i}" for i in range(1, self.scale + 1)]

    def command(self) -> str:
        return shlex.join(self.argv)


class Supervisor:
    """A supervisor run as a child process of the harness."""

    name = ""  # as shown in the table
    key = ""  # as given to --supervisors
    comms: frozenset[str] = frozenset()  # process names that make up the supervisor
    restart_note = ""  # non-empty: the supervisor cannot restart processes, and why
    stop_note = ""  # how its stop timeout is configured, when that needs saying

    def __init__(self):
        self.workdir: Path | None = None
        self.process: subprocess.Popen | None = None

    def unavailable(self) -> str | None:
        """Why this supervisor cannot run here, or None."""
        return None

    def start(self, workdir: Path, programs: list[Program], env: dict[str, str]) -> None:
        self.workdir = workdir
        argv = self.configure(programs)
        with open(workdir / "supervisor.out", "wb") as out, open(workdir / "supervisor.err", "wb") as err:
            self.process = procfs.spawn(
                argv, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True,
            )

    def configure(self, programs: list[Program]) -> list[str]:
        """Write the configuration into self.workdir; return the command line."""
        raise NotImplementedError

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        """The supervisor's own processes: its root and helpers, not the children."""
        procs = procfs.snapshot()
        helpers = [p for p in procfs.descendants(self.pid, procs) if procs[p][1] in self.comms]
        return [self.pid, *helpers] if procfs.alive(self.pid) else helpers

    def terminate(self) -> None:
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> bool:
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def kill(self) -> None:
        """Last-resort cleanup: SIGKILL the supervisor and its process group."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def output_files(self) -> list[Path]:
        """Files holding the children's output as the supervisor delivers it."""
        raise NotImplementedError

    def extra_logs(self) -> list[Path]:
        """Log files to verify besides the delivered output (proj only)."""
        return []

    def diagnostics(self) -> str:
        """Exit status and the tail of the supervisor's own output, for error cells."""
        code = self.process.poll() if self.process else None
        tail = []
        for name in ("supervisor.err", "supervisor.out"):
            path = self.workdir / name
            if path.exists():
                with open(path, "rb") as f:
                    f.seek(max(0, path.stat().st_size - 400))
                    tail += f.read().decode(errors="replace").strip().splitlines()[-2:]
        status = f"exited with code {code}" if code is not None else "running"
        return f"{self.name} {status}: {' / '.join(tail) or 'no output'}"


class Proj(Supervisor):
    name = key = "proj"

    def __init__(self, binary: str | None, baseline: bool = False):
        super().__init__()
        self.binary = binary
        if baseline:  # a second proj binary, for before/after in one run
            self.name, self.key = "proj (baseline)", "baseline"
        # proj and its helper processes (`proj __guardian`) carry the binary's name.
        self.comms = frozenset({Path(binary).name[:15]}) if binary else frozenset()

    def unavailable(self) -> str | None:
        if self.binary is None:
            return "no proj binary: build it with `cargo build --release` or pass --proj"
        return None

    def configure(self, programs):
        lines = []
        for program in programs:
            lines += [f"[processes.{program.name}]", f"command = {json.dumps(program.command())}"]
            if program.scale != 1:
                lines.append(f"scale = {program.scale}")
            if program.restart:
                lines += ['restart = "always"', 'backoff = "0ms"', "max_restarts = 100000",
                          'restart_window = "1s"']
            if program.stop_timeout is not None:
                lines += ['stop_signal = "TERM"', f'stop_timeout = "{int(program.stop_timeout * 1000)}ms"']
            lines.append("")
        config = self.workdir / "proj.toml"
        config.write_text("\n".join(lines))
        return [self.binary, "-f", str(config), "up", "--no-tui"]

    def output_files(self):
        return [self.workdir / "supervisor.out"]

    def extra_logs(self):
        # Rotated files (NAME.log.1, …) count too: lines moved there are not lost.
        return sorted((self.workdir / ".proj" / "logs").glob("*.log*"))


class PythonSupervisor(Supervisor):
    """A supervisor installed with pip into the harness's venv."""

    def __init__(self, bin_dir: Path | None):
        super().__init__()
        self.bin_dir = bin_dir  # None when the venv could not be made

    def unavailable(self):
        return None if self.bin_dir else f"could not install it into {VENV_DIR}"


class Honcho(PythonSupervisor):
    name = key = "honcho"
    # honcho forks one helper (multiprocessing) per child to read its output.
    comms = frozenset({"honcho"})
    restart_note = "honcho never restarts a process"
    # Its loop starts the SIGKILL countdown only once some child has exited.
    stop_note = "honcho's SIGKILL timeout is fixed (5 s) and starts only when a child exits"

    def configure(self, programs):
        procfile = self.workdir / "Procfile"
        procfile.write_text("".join(f"{p.name}: {p.command()}\n" for p in programs))
        concurrency = ",".join(f"{p.name}={p.scale}" for p in programs)
        return [str(self.bin_dir / "honcho"), "start", "--no-colour", "-f", str(procfile),
                "-d", str(self.workdir), "-c", concurrency]

    def output_files(self):
        return [self.workdir / "supervisor.out"]


class Supervisord(PythonSupervisor):
    name = key = "supervisord"
    comms = frozenset({"supervisord"})

    def configure(self, programs):
        logs = self.workdir / "logs"
        logs.mkdir()
        sections = [
            "[supervisord]",
            "nodaemon=true",
            f"logfile={self.workdir / 'supervisord.log'}",
            "logfile_maxbytes=0",
            f"pidfile={self.workdir / 'supervisord.pid'}",
            f"childlogdir={logs}",
            "minfds=4096",  # 300 children need ~3 fds each
            "",
        ]
        for program in programs:
            process_name = f"{program.name}.%(process_num)d" if program.scale > 1 else program.name
            sections += [
                f"[program:{program.name}]",
                f"command={program.command()}",
                f"numprocs={program.scale}",
                "numprocs_start=1",
                f"process_name={process_name}",
                "redirect_stderr=true",
                f"stdout_logfile={logs}/{process_name}.log",
                "stdout_logfile_maxbytes=0",  # no rotation
                # Signal the whole process group, as proj does.
                "stopasgroup=true",
                "killasgroup=true",
            ]
            if program.restart:
                sections += ["autorestart=true", "startsecs=0", "startretries=1000000"]
            else:
                sections.append("autorestart=false")
            if program.stop_timeout is not None:
                sections += ["stopsignal=TERM", f"stopwaitsecs={program.stop_timeout:g}"]
            sections.append("")
        config = self.workdir / "supervisord.conf"
        config.write_text("\n".join(sections))
        return [str(self.bin_dir / "supervisord"), "-c", str(config)]

    def output_files(self):
        return sorted((self.workdir / "logs").glob("*.log"))


class ServiceDirSupervisor(Supervisor):
    """s6 and runit: one service directory per instance, a logger when asked.

    Services are unlogged (their output goes to the supervisor's own stdout)
    except when the workload reads their output: then each gets the suite's
    native logger, writing `logs/INSTANCE/current`.
    """

    scanner = ""  # the program watching the service directories
    logger_argv: list[str] = []  # the logger; the log directory is appended

    def __init__(self, logged: bool = False):
        super().__init__()
        self.logged = logged

    def unavailable(self):
        missing = [c for c in self.comms if not shutil.which(c)]
        if missing:
            return f"not installed ({', '.join(sorted(missing))} not on PATH)"
        return None

    def configure(self, programs):
        services = self.workdir / "services"
        for program in programs:
            for instance in program.instances():
                service = services / instance
                service.mkdir(parents=True)
                self.write_script(service / "run", f"exec 2>&1\nexec {program.command()}")
                if program.stop_timeout is not None:
                    self.configure_stop_timeout(service, program.stop_timeout)
                if self.logged:
                    logdir = self.workdir / "logs" / instance
                    logdir.mkdir(parents=True)
                    self.configure_logdir(logdir)
                    (service / "log").mkdir()
                    self.write_script(service / "log" / "run",
                                      f"exec {shlex.join([*self.logger_argv, str(logdir)])}")
        return [self.scanner, str(services)]

    @staticmethod
    def write_script(path: Path, body: str) -> None:
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    def configure_stop_timeout(self, service: Path, seconds: float) -> None:
        """Only s6 has one."""

    def configure_logdir(self, logdir: Path) -> None:
        """Only svlogd needs one."""

    def output_files(self):
        return sorted((self.workdir / "logs").glob("*/current"))


class S6(ServiceDirSupervisor):
    name = key = "s6"
    scanner = "s6-svscan"
    comms = frozenset({"s6-svscan", "s6-supervise", "s6-log"})
    # s6-log rotates `current` at this size (its maximum is 256 MiB).
    logger_argv = ["s6-log", "s100000000"]
    stop_note = "s6-supervise SIGKILLs the service's main process, not its process group"

    def configure_stop_timeout(self, service, seconds):
        (service / "timeout-kill").write_text(f"{int(seconds * 1000)}\n")


class Runit(ServiceDirSupervisor):
    name = key = "runit"
    scanner = "runsvdir"
    comms = frozenset({"runsvdir", "runsv", "svlogd"})
    # svlogd's manual advises a bigger buffer than the 1 KiB default under load.
    logger_argv = ["svlogd", "-b", "65536"]
    stop_note = "runsv sends SIGTERM only, never SIGKILL"

    def configure_logdir(self, logdir):
        (logdir / "config").write_text("s0\n")  # never rotate

    def terminate(self):
        # runsvdir exits on SIGTERM leaving every runsv behind; SIGHUP is the
        # documented "stop all services, then exit".
        self.process.send_signal(signal.SIGHUP)


class Ceiling(Supervisor):
    """No supervisor: the harness spawns each instance itself.

    Each child gets its own process group and its output in its own file; a
    restarting program is respawned by a thread the moment it exits; stopping
    is SIGTERM to each group, then SIGKILL after the stop timeout.
    """

    name = "ceiling (no supervisor)"
    key = "ceiling"
    default_stop_timeout = 10.0

    def __init__(self):
        super().__init__()
        self.children: dict[str, subprocess.Popen] = {}
        self.stop_timeouts: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.stopper: threading.Thread | None = None

    def start(self, workdir, programs, env):
        self.workdir = workdir
        (workdir / "out").mkdir()
        self.env = env
        for program in programs:
            for instance in program.instances():
                self.stop_timeouts[instance] = program.stop_timeout or self.default_stop_timeout
                if program.restart:
                    thread = threading.Thread(target=self.respawn, args=(instance, program.argv), daemon=True)
                    thread.start()
                    self.threads.append(thread)
                else:
                    self.spawn(instance, program.argv)

    def spawn(self, instance: str, argv: list[str]) -> subprocess.Popen | None:
        with self.lock:
            if self.stopping.is_set():
                return None
            with open(self.workdir / "out" / f"{instance}.txt", "ab") as out:
                child = procfs.spawn(argv, cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            self.children[instance] = child
            return child

    def respawn(self, instance: str, argv: list[str]) -> None:
        while (child := self.spawn(instance, argv)) is not None:
            child.wait()

    @property
    def pid(self) -> int:
        return os.getpid()

    def pids(self):
        return []  # nothing but the children: no supervisor cost to measure

    def terminate(self):
        self.stopping.set()
        self.stopper = threading.Thread(target=self.stop_all, daemon=True)
        self.stopper.start()

    def stop_all(self) -> None:
        with self.lock:
            children = dict(self.children)
        for child in children.values():
            self.signal_group(child, signal.SIGTERM)
        for instance, child in children.items():
            deadline = time.monotonic() + self.stop_timeouts[instance]
            while child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            self.signal_group(child, signal.SIGKILL)
            child.wait()

    @staticmethod
    def signal_group(child: subprocess.Popen, signum: int) -> None:
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    def wait(self, timeout):
        self.stopper.join(timeout)
        return not self.stopper.is_alive()

    def exited(self):
        return self.stopper is not None and not self.stopper.is_alive()

    def kill(self):
        self.stopping.set()
        with self.lock:
            children = list(self.children.values())
        for child in children:
            self.signal_group(child, signal.SIGKILL)
            child.wait()

    def output_files(self):
        return sorted((self.workdir / "out").glob("*.txt"))

    def diagnostics(self):
        return "the harness failed to run the children"


def all_supervisors(proj_binary: str | None, bin_dir: Path | None, logged: bool,
                    baseline: str | None = None) -> list[Supervisor]:
    """Fresh instances of every supervisor, in table order.

    bin_dir is the venv's bin directory; logged gives s6 and runit a logger
    per service; baseline, a second proj binary, adds `proj (baseline)` after proj.
    """
    projs = [Proj(proj_binary)] + ([Proj(baseline, baseline=True)] if baseline else [])
    return [Ceiling(), *projs, Honcho(bin_dir), Supervisord(bin_dir), S6(logged), Runit(logged)]
