//! A command made of literal words runs without the shell's start: proj executes the
//! words as `sh -c 'exec COMMAND'` would, along the same `PATH`, and leaves anything it
//! cannot execute to `sh`. The program must not be able to tell the difference.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use crate::support::{Project, children_of, wait_until};

/// Writes the environment it got to the file named by its first argument, as JSON.
/// The line ends the file, so a reader knows it is whole.
const DUMP_ENV: &str =
    "import json, os, sys; open(sys.argv[1], 'w').write(json.dumps(dict(os.environ)) + '\\n')";

fn environment(project: &Project, file: &str) -> BTreeMap<String, String> {
    let text = project.wait_for_file(file);
    let mut environment: BTreeMap<String, String> =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{file}: {error}: {text}"));
    environment.remove("PROJ_PROCESS");
    environment
}

#[test]
fn a_literal_command_sees_the_environment_the_shell_would_have_given_it() {
    // `direct` is literal words, run without the shell; `shell` is a list, so the shell
    // stays and runs python3 as its child.
    let project = Project::new(
        r#"
[env]
GREETING = "hello world"

[processes.direct]
command = "python3 dump.py direct.json"
cwd = "sub"
oneshot = true

[processes.shell]
command = "python3 dump.py shell.json; true"
cwd = "sub"
oneshot = true
"#,
    );
    project.write("sub/dump.py", DUMP_ENV);
    let mut proj = project.up(&[]);
    let direct = environment(&project, "sub/direct.json");
    let shell = environment(&project, "sub/shell.json");
    assert!(proj.stop().success(), "{}", proj.text());
    assert_eq!(direct, shell);
    let sub = project.path("sub").display().to_string();
    assert_eq!(direct.get("PWD"), Some(&sub), "{direct:?}");
    assert_eq!(
        direct.get("GREETING").map(String::as_str),
        Some("hello world")
    );
}

#[test]
fn a_literal_command_is_found_along_path_as_the_shell_finds_it() {
    let project = Project::new(
        r#"
[env]
PATH = "first:second:/usr/bin:/bin"

[processes.tool]
command = "tool 'two words'"
oneshot = true

[processes.plain]
command = "plain"
oneshot = true
"#,
    );
    // Not executable: the shell skips it and goes on along PATH.
    project.write("first/tool", "#!/bin/sh\necho first > which\n");
    project.write("second/tool", "#!/bin/sh\necho \"second $#: $1\" > which\n");
    make_executable(&project, "second/tool");
    // No `#!`: execve(2) refuses it, and the shell runs it as a script of its own.
    project.write("second/plain", "echo plain script > plain.out\n");
    make_executable(&project, "second/plain");
    let mut proj = project.up(&[]);
    assert_eq!(project.wait_for_file("which").trim(), "second 1: two words");
    assert_eq!(project.wait_for_file("plain.out").trim(), "plain script");
    assert!(proj.stop().success(), "{}", proj.text());
}

fn make_executable(project: &Project, relative: &str) {
    let path = project.path(relative);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

/// Children start sharing proj's descriptor table for an instant and get what they need
/// through a few low descriptors (see `src/process/spawn/vfork.rs`): each must end up
/// with exactly stdin, stdout and stderr, and proj must keep no end of a child's pipe but
/// the one it reads.
#[test]
fn children_get_their_own_descriptors_and_proj_keeps_only_its_read_ends() {
    let project = Project::new("[processes.nap]\ncommand = \"sleep 1000\"\nscale = 3\n");
    let mut proj = project.up(&[]);
    let supervisor = proj.pid();
    let children = wait_until("three sleeping children", || {
        let children: Vec<i32> = children_of(supervisor)
            .into_iter()
            .filter(|&pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "sleep")
            })
            .collect();
        (children.len() == 3).then_some(children)
    });
    let links = |pid: i32| -> Vec<(String, String)> {
        let mut links: Vec<(String, String)> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|entries| {
                entries
                    .filter_map(|entry| {
                        let entry = entry.ok()?;
                        let target = std::fs::read_link(entry.path()).ok()?;
                        Some((
                            entry.file_name().to_string_lossy().into_owned(),
                            target.to_string_lossy().into_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        links.sort();
        links
    };
    for &child in &children {
        let fds = links(child);
        let names: Vec<&str> = fds.iter().map(|(fd, _)| fd.as_str()).collect();
        assert_eq!(names, ["0", "1", "2"], "{fds:?}");
        assert_eq!(fds[0].1, "/dev/null");
        assert!(fds[1].1.starts_with("pipe:"), "{fds:?}");
        assert_eq!(fds[1].1, fds[2].1, "stdout and stderr are one pipe");
        let held = links(supervisor)
            .iter()
            .filter(|(_, target)| *target == fds[1].1)
            .count();
        assert_eq!(held, 1, "proj holds only the read end of {}", fds[1].1);
    }
    assert!(proj.stop().success(), "{}", proj.text());
}
