//! Log files (SPEC §5): every line lands in .proj/logs/NAME.log, whatever happens to the
//! terminal.

use std::io::Read;
use std::process::Stdio;

use crate::support::*;

#[test]
fn every_line_lands_in_the_instance_log_file() {
    let project = Project::new(
        r#"
[processes.web]
command = "for i in $(seq 1 500); do echo line $i; done; echo to stderr >&2; touch done; exec sleep 1000"
scale = 2
"#,
    );
    let mut proj = project.up(&[]);
    project.wait_for_marker("done");
    for name in ["web.1", "web.2"] {
        let log = project.wait_for_file_content(&format!(".proj/logs/{name}.log"), "to stderr");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 501);
        assert_eq!(lines[0], "line 1");
        assert_eq!(lines[499], "line 500");
    }
    assert!(proj.stop().success());
}

#[test]
fn a_final_line_without_newline_is_not_lost() {
    let project = Project::new("[processes]\npartial = \"printf 'no newline at the end'\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for_output("partial", "no newline at the end");
    assert!(proj.stop().success());
    assert_eq!(
        project.read(".proj/logs/partial.log"),
        "no newline at the end\n"
    );
}

#[test]
fn bytes_that_are_not_utf8_are_kept_in_the_file_and_shown_lossily() {
    let project =
        Project::new("[processes]\nbinary = \"printf 'caf\\\\351 ok\\\\n'; exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for_output("binary", "caf\u{fffd} ok");
    let log = wait_until("the log file", || {
        let bytes = std::fs::read(project.path(".proj/logs/binary.log")).ok()?;
        (!bytes.is_empty()).then_some(bytes)
    });
    assert_eq!(log, b"caf\xe9 ok\n");
    assert!(proj.stop().success());
}

#[test]
fn a_line_longer_than_64_kib_is_split() {
    let project = Project::new("[processes]\nlong = \"python3 -c 'print(\\\"x\\\" * 150000)'\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for("long: exited with code 0");
    assert!(proj.stop().success());
    let log = project.read(".proj/logs/long.log");
    let lengths: Vec<usize> = log.lines().map(str::len).collect();
    assert_eq!(lengths, vec![65536, 65536, 150000 - 2 * 65536]);
}

#[test]
fn log_files_rotate_at_log_max_size_keeping_log_backups() {
    let project = Project::new(
        r#"
[project]
log_max_size = "1KiB"
log_backups = 2

[processes.chatty]
command = "for i in $(seq 1000 1199); do echo line-$i-padding-to-make-it-longer; done; touch done; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    project.wait_for_marker("done");
    proj.wait_for("line-1199");
    assert!(proj.stop().success());
    let current = project.read(".proj/logs/chatty.log");
    let first = project.read(".proj/logs/chatty.log.1");
    let second = project.read(".proj/logs/chatty.log.2");
    assert!(!project.path(".proj/logs/chatty.log.3").exists());
    for file in [&current, &first, &second] {
        assert!(
            !file.is_empty() && file.len() <= 1024,
            "{} bytes",
            file.len()
        );
        // Whole lines only: a rotation never cuts a line.
        assert!(file.lines().all(|l| l.ends_with("longer")), "{file}");
    }
    assert!(current.ends_with("line-1199-padding-to-make-it-longer\n"));
    // The newest backup continues right where the current file starts.
    let last_of_first: u32 = first.lines().last().unwrap()[5..9].parse().unwrap();
    let first_of_current: u32 = current.lines().next().unwrap()[5..9].parse().unwrap();
    assert_eq!(last_of_first + 1, first_of_current);
}

#[test]
fn an_unwritable_log_file_is_reported_once_and_supervision_goes_on() {
    let project = Project::new(
        "[processes]\nweb = \"for i in 1 2 3; do echo still printed $i; done; exec sleep 1000\"\n",
    );
    // A directory where the log file should be: every open fails.
    std::fs::create_dir_all(project.path(".proj/logs/web.log")).unwrap();
    let mut proj = project.up(&[]);
    proj.wait_for_output("web", "still printed 3");
    proj.wait_for("web: cannot write");
    assert!(proj.stop().success());
    assert_eq!(proj.count("cannot write"), 1);
}

#[test]
fn a_stdout_nobody_reads_never_blocks_the_children() {
    // 40 MB of output while proj's stdout is a pipe that nobody reads: the child must
    // finish anyway, and the log file must have every line.
    let project = Project::new(
        r#"
[project]
log_max_size = "100MiB"

[processes.flood]
command = "python3 -c 'import sys\nfor i in range(400000): sys.stdout.write(f\"{i:08d} \" + \"y\" * 90 + \"\\n\")\nopen(\"flood.done\", \"w\").write(\"done\\n\")'; exec sleep 1000"
"#,
    );
    let mut child = KillOnDrop(
        project
            .command(&["up", "--no-tui"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    project.wait_for_file("flood.done");
    wait_until("every line in the log file", || {
        let meta = std::fs::metadata(project.path(".proj/logs/flood.log")).ok()?;
        (meta.len() == 400_000 * 100).then_some(())
    });
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    // Drain what proj wrote so it can exit.
    let mut sink = Vec::new();
    let _ = std::io::BufReader::new(stdout).read_to_end(&mut sink);
    assert!(child.0.wait().unwrap().success());
    let log = std::fs::read_to_string(project.path(".proj/logs/flood.log")).unwrap();
    for (expected, line) in log.lines().enumerate() {
        assert_eq!(&line[..8], format!("{expected:08}"));
    }
}

/// A proj whose stdout the test holds itself: killed if the test fails half-way.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
