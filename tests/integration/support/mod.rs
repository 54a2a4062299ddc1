//! Helpers for black-box tests of the `proj` binary: a project in a temp dir, a running
//! `proj up` whose output is collected line by line, and polling with deadlines.
//!
//! Nothing here sleeps to synchronise: every wait polls a condition until a deadline,
//! and a timeout fails the test with everything proj printed so far.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub(crate) mod tmux;
pub(crate) mod tracking;

/// Generous: the CI machine has two slow cores.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

pub(crate) fn proj_binary() -> &'static str {
    env!("CARGO_BIN_EXE_proj")
}

/// A project directory with a proj.toml, removed at the end of the test.
pub(crate) struct Project {
    pub(crate) dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new(config: &str) -> Project {
        let project = Project::empty();
        project.write("proj.toml", config);
        project
    }

    pub(crate) fn empty() -> Project {
        Project {
            dir: tempfile::Builder::new()
                .prefix("proj-test-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub(crate) fn write(&self, relative: &str, content: &str) {
        let path = self.path(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(path, content).expect("write file");
    }

    pub(crate) fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_default()
    }

    /// `proj ARGS` in the project directory, colours off, nothing inherited that would
    /// change its output.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(proj_binary());
        command
            .args(args)
            .current_dir(self.root())
            .env_remove("NO_COLOR")
            .env_remove("PROJ_LOG")
            .stdin(Stdio::null());
        command
    }

    /// Run `proj ARGS` to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run proj").into()
    }

    /// Start `proj up --no-tui ARGS` in the background.
    pub(crate) fn up(&self, args: &[&str]) -> Running {
        let mut all = vec!["up", "--no-tui"];
        all.extend_from_slice(args);
        Running::start(self.command(&all))
    }

    /// Wait for a file a child writes (a pid, a marker) and return its trimmed content.
    pub(crate) fn wait_for_file(&self, relative: &str) -> String {
        let path = self.path(relative);
        wait_until(&format!("{} to be written", path.display()), || {
            let text = std::fs::read_to_string(&path).ok()?;
            text.ends_with('\n').then(|| text.trim().to_string())
        })
    }

    /// Wait until a file exists and contains `needle`; return its content.
    pub(crate) fn wait_for_file_content(&self, relative: &str, needle: &str) -> String {
        let path = self.path(relative);
        wait_until(&format!("{} to contain {needle:?}", path.display()), || {
            std::fs::read_to_string(&path)
                .ok()
                .filter(|text| text.contains(needle))
        })
    }

    /// Wait until a file exists.
    pub(crate) fn wait_for_marker(&self, relative: &str) {
        let path = self.path(relative);
        wait_until(&format!("{} to exist", path.display()), || {
            path.exists().then_some(())
        });
    }

    pub(crate) fn wait_for_pid(&self, relative: &str) -> i32 {
        self.wait_for_file(relative)
            .parse()
            .unwrap_or_else(|_| panic!("{relative} holds no pid"))
    }
}

/// Stops a supervisor started with `proj up -d` when the test ends, even when an
/// assertion failed first: `proj down`, then SIGKILL to the pid in the lock file.
pub(crate) struct Detached<'a>(pub &'a Project);

impl Drop for Detached<'_> {
    fn drop(&mut self) {
        let _ = self.0.command(&["down"]).output();
        // The pid in the lock file is only trusted while the lock is held: an old pid
        // may belong to someone else by now.
        let Ok(file) = std::fs::File::open(self.0.path(".proj/proj.lock")) else {
            return;
        };
        let mut pid = String::new();
        let _ = (&file).read_to_string(&mut pid);
        let held = matches!(
            nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock),
            Err((_, nix::errno::Errno::EWOULDBLOCK))
        );
        if held && let Ok(pid) = pid.trim().parse::<i32>() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(output: std::process::Output) -> Output {
        Output {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// `proj ARGS` as [`Project::command`] makes it, without the test's own `PORT`: in
/// Procfile mode proj takes its base port from `PORT`.
pub(crate) fn command_without_port(project: &Project, args: &[&str]) -> Command {
    let mut command = project.command(args);
    command.env_remove("PORT");
    command
}

/// Runs `proj up` (without the test's own `PORT`) until each of `files` is written,
/// stops it, and checks that every pid the children listed in `out/pids` is gone.
pub(crate) fn up_and_collect(project: &Project, files: &[&str]) -> Vec<String> {
    let mut proj = Running::start(command_without_port(project, &["up", "--no-tui"]));
    let seen: Vec<String> = files
        .iter()
        .map(|file| project.wait_for_file(file))
        .collect();
    proj.stop();
    for pid in project
        .read("out/pids")
        .lines()
        .filter_map(|line| line.trim().parse().ok())
    {
        wait_gone(pid);
    }
    seen
}

/// `proj ps --json`, which must succeed: one object per instance.
pub(crate) fn ps_json(project: &Project) -> Vec<serde_json::Value> {
    let output = project.run(&["ps", "--json"]);
    assert!(output.status.success(), "{}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap()
}

/// The instance named `name` in what [`ps_json`] returned.
pub(crate) fn instance<'a>(
    instances: &'a [serde_json::Value],
    name: &str,
) -> &'a serde_json::Value {
    instances
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {instances:?}"))
}

/// The repository's `examples/`.
pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Send `request` to 127.0.0.1:`port` and read the answer until the server closes.
pub(crate) fn http(port: u16, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// A `proj` started in the background; stdout and stderr collected as lines.
pub(crate) struct Running {
    child: Child,
    output: Arc<(Mutex<Vec<String>>, Condvar)>,
    status: Option<ExitStatus>,
}

impl Running {
    pub(crate) fn start(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start proj");
        let output = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        collect(child.stdout.take().expect("stdout"), output.clone(), "");
        collect(
            child.stderr.take().expect("stderr"),
            output.clone(),
            "stderr: ",
        );
        Running {
            child,
            output,
            status: None,
        }
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.output.0.lock().expect("lock").clone()
    }

    pub(crate) fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// Wait for a line containing `needle`; return it.
    pub(crate) fn wait_for(&self, needle: &str) -> String {
        self.wait_for_match(needle, |line| line.contains(needle))
    }

    /// Wait for a line that `name` printed (`HH:MM:SS.mmm NAME   | TEXT`) whose text
    /// contains `needle`; return the text.
    pub(crate) fn wait_for_output(&self, name: &str, needle: &str) -> String {
        let line = self.wait_for_match(&format!("{name} | {needle}"), |line| {
            split_line(line).is_some_and(|(n, text)| n == name && text.contains(needle))
        });
        split_line(&line).expect("matched").1.to_string()
    }

    /// Wait for a line for which `matches` holds; return it.
    pub(crate) fn wait_for_match(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        let (lines, changed) = &*self.output;
        let mut guard = lines.lock().expect("lock");
        loop {
            if let Some(line) = guard.iter().find(|line| matches(line)) {
                return line.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                let output = guard.join("\n");
                // Release the lock before failing, so the collectors are not poisoned.
                drop(guard);
                panic!("timed out waiting for {what:?}; output so far:\n{output}");
            }
            guard = changed.wait_timeout(guard, deadline - now).expect("lock").0;
        }
    }

    /// How many lines contain `needle`.
    pub(crate) fn count(&self, needle: &str) -> usize {
        self.lines().iter().filter(|l| l.contains(needle)).count()
    }

    pub(crate) fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).expect("signal proj");
    }

    /// Wait for proj to exit; fail the test after `timeout`.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                self.status = Some(status);
                // Let the collectors see end-of-file.
                wait_until("the output to close", || {
                    self.lines().iter().any(|l| l == "<eof>").then_some(())
                });
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "proj did not exit within {timeout:?}; output:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub(crate) fn stop(&mut self) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        self.wait_exit(DEADLINE)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.status.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            // A failed test: make sure nothing outlives it. SIGTERM gives proj the chance
            // to stop its children; SIGKILL leaves it to the guardian.
            let _ = kill(Pid::from_raw(self.pid()), Signal::SIGTERM);
            let deadline = Instant::now() + DEADLINE;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(
    stream: impl Read + Send + 'static,
    output: Arc<(Mutex<Vec<String>>, Condvar)>,
    prefix: &'static str,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches('\n');
                    let (lines, changed) = &*output;
                    lines.lock().expect("lock").push(format!("{prefix}{text}"));
                    changed.notify_all();
                }
            }
        }
        if prefix.is_empty() {
            let (lines, changed) = &*output;
            lines.lock().expect("lock").push("<eof>".into());
            changed.notify_all();
        }
    });
}

/// A TCP port nobody listens on right now.
/// The first of `count` consecutive ports that are free now, for a scaled process
/// (`port`, `port + 1`, …). Not from the kernel's ephemeral range, where `free_port()`
/// picks: two tests running at once would get neighbouring ports there and overlap.
/// Blocks are drawn at random from 10000–30000 and handed out once per test process.
pub(crate) fn free_ports(count: u16) -> u16 {
    use std::hash::{BuildHasher, Hasher};
    static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    wait_until(&format!("{count} free ports in a row"), || {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let base = 10_000 + (random % 20_000) as u16;
        let mut handed_out = HANDED_OUT.lock().expect("lock");
        let overlaps = handed_out
            .iter()
            .any(|&other| base < other + count && other < base + count);
        let free = (base..base + count)
            .all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        (!overlaps && free).then(|| {
            handed_out.push(base);
            base
        })
    })
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// `HH:MM:SS.mmm NAME   | TEXT` → `(NAME, TEXT)`.
pub(crate) fn split_line(line: &str) -> Option<(&str, &str)> {
    let (name, text) = line.get(13..)?.split_once(" | ")?;
    Some((name.trim_end(), text))
}

/// Poll `check` until it returns `Some`, failing the test after [`DEADLINE`].
pub(crate) fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    wait_until_within(DEADLINE, what, &mut check)
}

pub(crate) fn wait_until_within<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The fields of /proc/PID/stat after the command name: state is [0], ppid [1], pgid [2],
/// session [3]. `None` when the process is gone.
pub(crate) fn stat(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &text[text.rfind(')')? + 2..];
    Some(after_name.split_whitespace().map(str::to_string).collect())
}

/// Gone, or a zombie waiting for whoever reaps it (no longer running anything).
pub(crate) fn is_gone(pid: i32) -> bool {
    stat(pid).is_none_or(|fields| fields[0] == "Z" || fields[0] == "X")
}

pub(crate) fn wait_gone(pid: i32) {
    wait_until(&format!("pid {pid} to be gone"), || {
        is_gone(pid).then_some(())
    });
}

/// Every pid in /proc now.
pub(crate) fn pids() -> impl Iterator<Item = i32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
}

/// The children of `pid` whose state (`/proc/PID/stat`'s third field) passes `state`.
fn children_where(pid: i32, state: impl Fn(&str) -> bool) -> Vec<i32> {
    pids()
        .filter(|&p| {
            stat(p).is_some_and(|fields| state(&fields[0]) && fields[1] == pid.to_string())
        })
        .collect()
}

/// The children of `pid` that are alive (not zombies).
pub(crate) fn children_of(pid: i32) -> Vec<i32> {
    children_where(pid, |state| state != "Z")
}

/// The live children of `pid` that are zombies.
pub(crate) fn zombie_children(pid: i32) -> Vec<i32> {
    children_where(pid, |state| state == "Z")
}

/// Kill a pid the test created, if it is still there (cleanup after a failed assertion).
pub(crate) fn kill_if_alive(pid: i32) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
}
