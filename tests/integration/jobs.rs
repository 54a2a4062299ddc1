//! End to end: `examples/jobs`, a real stack (PostgreSQL, Redis, three Celery workers and
//! a web process, all run by proj) is stopped while a job runs, and the job still
//! finishes: its result is in PostgreSQL. The drain comes from the example's
//! `stop_target = "main"` and `stop_sequence`; signalling the workers' whole process
//! groups would kill Celery's pool children mid-job (`WorkerLostError: signal 15`).
//!
//! It needs postgresql, redis-server and the Python packages of the example's
//! requirements.txt (from PyPI, once: the virtualenv is kept in the target dir). Without
//! them it is skipped with the reason; `.ci/run` installs them and sets
//! `PROJ_TEST_JOBS=required`, which turns a skip into a failure.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::*;

/// Setup (pip against the shared virtualenv, initdb) plus starting PostgreSQL, Redis and
/// four Python processes on two slow cores.
const UP: Duration = Duration::from_secs(120);
/// The job takes 3 s; each worker then shuts down; proj gives them up to 30 s.
const STOP: Duration = Duration::from_secs(60);

#[test]
fn stopping_proj_lets_a_running_celery_job_finish_into_postgres() {
    if let Some(reason) = missing_prerequisite() {
        return skip(&reason);
    }
    let venv = match shared_venv() {
        Ok(venv) => venv,
        Err(reason) => return skip(&reason),
    };
    let started = Instant::now();

    let project = copy_example(&venv);
    let ports = Ports::pick(&project);
    // Declared before the supervisors, so dropped after them: whatever they left behind
    // (on a failed assertion) is killed before the directory is removed.
    let _sweep = Sweep(project.root().to_path_buf());

    let mut proj = project.up(&[]);
    for name in ["web", "worker.1", "worker.2", "worker.3"] {
        wait_for_line(&proj, UP, "proj", &format!("{name}: ready after"));
    }
    let running = processes_in(project.root());
    for program in ["postgres", "redis-server", "celery"] {
        assert!(
            running.iter().any(|(_, command)| command.contains(program)),
            "the scan for leftovers must see {program}: {running:#?}"
        );
    }

    let job = enqueue(ports.web, 7);
    let worker = wait_for_line(
        &proj,
        DEADLINE,
        "worker.",
        &format!("tasks.square[{job}]: squaring 7"),
    );

    // Stop proj while the job runs.
    proj.signal(Signal::SIGTERM);
    let status = proj.wait_exit(STOP);
    assert!(
        status.success(),
        "proj exited with {status}:\n{}",
        proj.text()
    );

    // The worker was told to drain (warm shutdown) while the job ran, and the job then
    // finished in that same worker.
    let lines = proj.lines();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|line| line.contains(needle) && line_from(line, &worker))
            .unwrap_or_else(|| panic!("no {needle:?} from {worker}:\n{}", proj.text()))
    };
    let warm = position("Warm shutdown (MainProcess)");
    let done = position(&format!("Task tasks.square[{job}] succeeded"));
    assert!(
        warm < done,
        "{worker} finished the job before it was told to stop"
    );
    for instance in 1..=3 {
        let log = project.read(&format!(".proj/logs/worker.{instance}.log"));
        assert!(log.contains(" ready."), "worker.{instance}.log:\n{log}");
        assert!(
            !log.contains("WorkerLostError"),
            "worker.{instance}.log:\n{log}"
        );
    }
    // Stopped in reverse dependency order: db only once the worker (which depends on it
    // through migrate, a oneshot long exited) is gone, or the job could not store its row.
    let proj_said = |text: &str| {
        lines
            .iter()
            .position(|line| split_line(line) == Some(("proj", text)))
            .unwrap_or_else(|| panic!("proj never said {text:?}:\n{}", proj.text()))
    };
    assert!(proj_said(&format!("{worker}: stopped")) < proj_said("db: stopping (SIGINT)"));
    wait_all_gone(project.root());

    // The result is in PostgreSQL: start the database alone again and ask it.
    let mut db = project.up(&["--no-setup", "db"]);
    wait_for_line(&db, UP, "proj", "db: ready after");
    let row = psql(
        &project,
        ports.db,
        &format!("SELECT n, result, worker FROM results WHERE job_id = '{job}'"),
    );
    let instance = worker.trim_start_matches("worker.");
    assert!(
        row.starts_with(&format!("7|49|worker{instance}@")),
        "the row for job {job}: {row:?}"
    );
    assert!(db.stop().success(), "{}", db.text());
    wait_all_gone(project.root());
    eprintln!(
        "examples/jobs: up, job, drain and check in {:?}",
        started.elapsed()
    );
}

/// Why this machine cannot run the stack, if it cannot.
fn missing_prerequisite() -> Option<String> {
    for program in ["python3", "redis-server", "redis-cli"] {
        if !on_path(program) {
            return Some(format!("{program} is not installed"));
        }
    }
    let found = Command::new(example().join("bin/pg"))
        .arg("find")
        .output()
        .expect("run bin/pg");
    if !found.status.success() {
        return Some(String::from_utf8_lossy(&found.stderr).trim().to_string());
    }
    if nix::unistd::Uid::effective().is_root() {
        // PostgreSQL refuses root: bin/pg runs it as this account through setpriv.
        let account = std::env::var("PG_ACCOUNT").unwrap_or_else(|_| "postgres".into());
        let exists = matches!(nix::unistd::User::from_name(&account), Ok(Some(_)));
        if !on_path("setpriv") || !exists {
            return Some(format!(
                "running as root without setpriv or a {account} account"
            ));
        }
    }
    None
}

fn skip(reason: &str) {
    if std::env::var_os("PROJ_TEST_JOBS").is_some_and(|v| v == "required") {
        panic!("PROJ_TEST_JOBS=required, but the jobs example cannot run: {reason}");
    }
    eprintln!("skipping the jobs example: {reason}");
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .any(|dir| dir.join(program).is_file())
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/jobs")
}

/// The example's virtualenv, built once per requirements.txt and Python version and kept
/// in the target dir: pip from PyPI costs ~15 s, the test's own setup step then only
/// confirms that everything is installed.
fn shared_venv() -> Result<PathBuf, String> {
    let requirements = example().join("requirements.txt");
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    let mut key = DefaultHasher::new();
    fs::read(&requirements)
        .expect("requirements.txt")
        .hash(&mut key);
    python.stdout.hash(&mut key);
    let venv =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("jobs-venv-{:016x}", key.finish()));
    let done = venv.join("complete");

    // Another test run may be building the same one.
    let lock = fs::File::create(venv.with_extension("lock")).expect("venv lock file");
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("lock the virtualenv: {e}"))?;
    if done.exists() {
        return Ok(venv);
    }
    let _ = fs::remove_dir_all(&venv);
    let steps: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        (
            "python3",
            vec!["-m".as_ref(), "venv".as_ref(), venv.as_os_str()],
        ),
        (
            "pip",
            vec![
                "install".as_ref(),
                "--disable-pip-version-check".as_ref(),
                "--no-input".as_ref(),
                "-q".as_ref(),
                "-r".as_ref(),
                requirements.as_os_str(),
            ],
        ),
    ];
    for (program, args) in steps {
        let program = if program == "pip" {
            venv.join("bin/pip")
        } else {
            program.into()
        };
        let output = Command::new(&program)
            .args(&args)
            .output()
            .map_err(|e| format!("{program:?}: {e}"))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            return Err(format!(
                "could not build the virtualenv ({} failed): {}",
                program.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        }
    }
    fs::write(&done, "").expect("mark the virtualenv complete");
    Ok(venv)
}

/// The example in a fresh directory, with `.venv` pointing at the shared virtualenv.
fn copy_example(venv: &Path) -> Project {
    let project = Project::empty();
    copy_tree(&example(), project.root());
    // When root, PostgreSQL runs as the postgres account, which must be able to reach
    // its data directory inside the project; a temp dir is created 0700.
    fs::set_permissions(project.root(), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(venv, project.path(".venv")).unwrap();
    project
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        // What running the example in place leaves behind (all in its .gitignore).
        if [".venv", "var", ".proj", "__pycache__"]
            .iter()
            .any(|n| name == *n)
        {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            // fs::copy keeps the mode: bin/pg stays executable.
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Free ports in place of the example's defaults (54329, 63799, 8300); the URLs in its
/// `[env]` follow through `PROJ_PORT_<NAME>`.
struct Ports {
    db: u16,
    web: u16,
}

impl Ports {
    fn pick(project: &Project) -> Ports {
        let (db, queue, web) = (free_port(), free_port(), free_port());
        let mut config = project.read("proj.toml");
        for (default, port) in [(54329, db), (63799, queue), (8300, web)] {
            let line = format!("port = {default}\n");
            assert!(config.contains(&line), "proj.toml no longer has {line:?}");
            config = config.replace(&line, &format!("port = {port}\n"));
        }
        project.write("proj.toml", &config);
        Ports { db, web }
    }
}

/// POST /jobs; the job's id.
fn enqueue(port: u16, n: u32) -> String {
    let body = format!("n={n}&seconds=3");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /jobs HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 202"), "{response}");
    let (_, json) = response.split_once("\r\n\r\n").expect("a body");
    let json: serde_json::Value = serde_json::from_str(json).expect("json");
    json["id"].as_str().expect("an id").to_string()
}

fn psql(project: &Project, port: u16, query: &str) -> String {
    let output = Command::new(project.path("bin/pg"))
        .args(["psql", "-X", "-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "jobs", "-d", "jobs", "-tAc", query])
        .current_dir(project.root())
        .output()
        .expect("run psql");
    assert!(
        output.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Wait up to `timeout` for a line whose name starts with `name` and whose text contains
/// `needle`; the name.
fn wait_for_line(proj: &Running, timeout: Duration, name: &str, needle: &str) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let found = proj.lines().iter().find_map(|line| {
            let (n, text) = split_line(line)?;
            (n.starts_with(name) && text.contains(needle)).then(|| n.to_string())
        });
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {name}: {needle:?}; output so far:\n{}",
            proj.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn line_from(line: &str, name: &str) -> bool {
    split_line(line).is_some_and(|(n, _)| n == name)
}

/// Live processes (zombies aside) working inside `root`, with their command lines: every
/// process of the stack runs there (postgres in its data directory, under root too).
fn processes_in(root: &Path) -> Vec<(i32, String)> {
    let root = root.canonicalize().expect("project root");
    crate::support::pids()
        .filter(|&pid| !is_gone(pid))
        .filter(|&pid| {
            fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&root))
        })
        .map(|pid| {
            let command = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            (pid, String::from_utf8_lossy(&command).replace('\0', " "))
        })
        .collect()
}

/// Wait until nothing runs inside `root` any more; fail naming what is left.
fn wait_all_gone(root: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_in(root);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still running after proj: {left:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills whatever still runs inside the project when the test ends, passed or failed.
struct Sweep(PathBuf);

impl Drop for Sweep {
    fn drop(&mut self) {
        for (pid, _) in processes_in(&self.0) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}
