//! The guardian as the OS shows it: a fork of proj that holds nothing of proj's but its
//! end of the pipe, in a process group of its own, named as `proj __guardian` would be;
//! and, when proj already has a second thread, the exec'd `proj __guardian` instead.
//! What it cleans up after a SIGKILL of proj is checked in `shutdown.rs`, `tty.rs` and
//! `membership.rs`.

use std::path::Path;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::*;

/// A project with one instance that writes its pid to `child.pid` and becomes `sleep`.
const LONE: &str = "[processes]\nlone = \"echo $$ > child.pid; exec sleep 1000\"\n";

/// Pids this test started (directly or not) that must not outlive it, even when an
/// assertion fails on the way: SIGKILLed on drop (a stopped process too).
#[derive(Default)]
struct Leftovers(Vec<i32>);

impl Leftovers {
    fn add(&mut self, pid: i32) -> i32 {
        self.0.push(pid);
        pid
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for &pid in &self.0 {
            kill_if_alive(pid);
        }
    }
}

/// The guardian of the proj whose pid is `proj`: its child that runs proj's binary. Call
/// once proj's instances have exec'd their programs (none is then a fork of proj still).
fn guardian_of(proj: i32) -> i32 {
    wait_until("the guardian", || {
        children_of(proj).into_iter().find(|&child| {
            std::fs::read_link(format!("/proc/{child}/exe"))
                .is_ok_and(|exe| exe == Path::new(proj_binary()))
        })
    })
}

/// Wait for the instance that wrote `child.pid` to be `sleep`, and return its pid.
fn wait_for_sleep(project: &Project) -> i32 {
    let child = project.wait_for_pid("child.pid");
    wait_until("the instance to exec sleep", || {
        let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).ok()?;
        (comm.trim() == "sleep").then_some(())
    });
    child
}

/// Each open descriptor of `pid` and what it is (`/dev/null`, `pipe:[INODE]`), sorted by
/// number.
fn descriptors(pid: i32) -> Vec<(i32, String)> {
    let mut open: Vec<(i32, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the descriptors")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    open.sort();
    open
}

/// `/proc/PID/environ` or `/proc/PID/cmdline` of `pid`, split at its NULs.
fn entries(pid: i32, file: &str) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/{file}"))
        .expect("a readable /proc file")
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect()
}

/// `proj up --no-tui` in `project`, started the way a careless parent would: with
/// descriptor 7 open (not close-on-exec), under an outer supervisor's marker, and with
/// the guardian's debug trace on.
fn up_with_leaks(project: &Project) -> Running {
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", "exec 7</dev/null; exec \"$0\" up --no-tui"])
        .arg(proj_binary())
        .current_dir(project.root())
        .env_remove("NO_COLOR")
        .env("PROJ_SUPERVISOR", "outer-supervisor")
        .env("PROJ_LOG", "proj::process::guardian=debug")
        .stdin(std::process::Stdio::null());
    Running::start(command)
}

#[test]
fn the_forked_guardian_holds_nothing_of_proj_s_but_its_pipe() {
    let project = Project::new(LONE);
    let mut leftovers = Leftovers::default();
    let mut proj = up_with_leaks(&project);
    let child = leftovers.add(wait_for_sleep(&project));
    let guardian = leftovers.add(guardian_of(proj.pid()));
    proj.wait_for("guardian forked");

    // Its end of the pipe as 3, /dev/null as 0, 1 and 2, and nothing else: not proj's
    // lock, nor its stdout, nor descriptor 7.
    let held = descriptors(guardian);
    let numbers: Vec<i32> = held.iter().map(|(fd, _)| *fd).collect();
    assert_eq!(numbers, [0, 1, 2, 3], "{held:?}");
    for (fd, target) in &held[..3] {
        assert_eq!(target, "/dev/null", "descriptor {fd}: {held:?}");
    }
    let pipe = &held[3].1;
    assert!(pipe.starts_with("pipe:["), "{held:?}");
    assert!(
        descriptors(proj.pid())
            .iter()
            .any(|(_, target)| target == pipe),
        "proj holds the other end of {pipe}"
    );

    // One thread, a process group of its own, in proj's session.
    let fields = stat(guardian).expect("the guardian's stat");
    let proj_fields = stat(proj.pid()).expect("proj's stat");
    assert_eq!(fields[17], "1", "threads");
    assert_eq!(fields[2], guardian.to_string(), "process group");
    assert_eq!(fields[3], proj_fields[3], "session");

    // Named as the exec'd guardian is, with the run's marker; without the outer one in
    // its environment, which would make the outer supervisor's sweep take it for its own.
    let marker = entries(child, "environ")
        .into_iter()
        .find_map(|entry| entry.strip_prefix("PROJ_SUPERVISOR=").map(String::from))
        .expect("the instance's marker");
    let cmdline = entries(guardian, "cmdline");
    assert_eq!(cmdline[0], proj_binary(), "{cmdline:?}");
    assert_eq!(
        cmdline[1..3],
        ["__guardian".to_string(), marker],
        "{cmdline:?}"
    );
    let environ = entries(guardian, "environ");
    assert!(
        !environ
            .iter()
            .any(|entry| entry.starts_with("PROJ_SUPERVISOR=")),
        "{environ:?}"
    );
    assert!(
        environ
            .iter()
            .any(|entry| entry == "PROJ_LOG=proj::process::guardian=debug")
    );

    proj.signal(Signal::SIGKILL);
    proj.wait_exit(DEADLINE);
    wait_gone(child);
    wait_gone(guardian);
}

#[test]
fn a_sigkill_of_proj_leaves_the_project_free_for_the_next_up() {
    let project = Project::new(LONE);
    let mut leftovers = Leftovers::default();
    let mut first = project.up(&[]);
    let first_child = leftovers.add(wait_for_sleep(&project));
    let guardian = leftovers.add(guardian_of(first.pid()));
    std::fs::remove_file(project.path("child.pid")).unwrap();
    // Stopped, so that whatever it holds, it holds until the next `proj up` has started.
    kill(Pid::from_raw(guardian), Signal::SIGSTOP).unwrap();
    first.signal(Signal::SIGKILL);
    // Its stdout closes with proj: the guardian does not hold it.
    first.wait_exit(DEADLINE);
    wait_gone(first_child);

    let mut next = project.up(&[]);
    let next_child = leftovers.add(wait_for_sleep(&project));
    next.wait_for("lone: started");
    assert_eq!(next.count("already"), 0, "{}", next.text());

    // The first run's guardian, let go, cleans up after its own run only.
    kill(Pid::from_raw(guardian), Signal::SIGCONT).unwrap();
    wait_gone(guardian);
    assert!(!is_gone(next_child), "the next run's instance was killed");
    assert!(next.stop().success(), "{}", next.text());
    wait_gone(next_child);
}

#[test]
fn with_a_thread_left_by_setup_the_guardian_is_exec_d_and_still_cleans_up() {
    // The step's background process leaves the step's group (the step waits until it
    // has) and keeps the step's output open: proj's reader of that output never sees
    // end-of-file, so proj has two threads when the guardian starts, and a fork would
    // copy locks the reader may hold.
    let project = Project::new(&format!(
        "[[setup]]\nname = \"leave\"\n\
         command = \"python3 leave.py & until test -e escaped.pid; do sleep 0.01; done\"\n\n{LONE}"
    ));
    project.write(
        "leave.py",
        "import os, time\nos.setsid()\nopen('escaped.pid', 'w').write(f'{os.getpid()}\\n')\n\
         time.sleep(1000)\n",
    );
    let mut leftovers = Leftovers::default();
    let mut proj = up_with_leaks(&project);
    leftovers.add(project.wait_for_pid("escaped.pid"));
    let child = leftovers.add(wait_for_sleep(&project));
    let guardian = leftovers.add(guardian_of(proj.pid()));
    proj.wait_for("the guardian is exec'd");

    let cmdline = entries(guardian, "cmdline");
    assert_eq!(cmdline[1], "__guardian", "{cmdline:?}");
    // The pipe as stdin, /dev/null as stdout and stderr, and nothing proj inherited.
    wait_until(
        "the exec'd guardian to hold only its pipe and /dev/null",
        || {
            let held = descriptors(guardian);
            let expected = held.len() == 3
                && held[0].0 == 0
                && held[0].1.starts_with("pipe:[")
                && held[1..]
                    .iter()
                    .zip([1, 2])
                    .all(|((fd, target), want)| *fd == want && target == "/dev/null");
            expected.then_some(())
        },
    );

    proj.signal(Signal::SIGKILL);
    proj.wait_exit(DEADLINE);
    wait_gone(child);
    wait_gone(guardian);
}
