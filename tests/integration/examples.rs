//! The examples in `examples/` are real stacks: they must stay valid and work.

use std::path::Path;

use crate::support::*;

/// Copy an example into a fresh project directory (runtime files stay out of the repo).
fn copy_example(name: &str) -> Project {
    let project = Project::empty();
    for entry in std::fs::read_dir(examples_dir().join(name)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(
                entry.path(),
                project.path(entry.file_name().to_str().unwrap()),
            )
            .unwrap();
        }
    }
    project
}

#[test]
fn every_example_passes_check() {
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let output = std::process::Command::new(proj_binary())
            .arg("check")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_shop_takes_an_order_and_a_worker_ships_it() {
    let project = copy_example("shop");
    let port = free_port();
    let config = project
        .read("proj.toml")
        .replace("port = 8000", &format!("port = {port}"));
    project.write("proj.toml", &config);

    let mut proj = project.up(&[]);
    proj.wait_for_output("migrate", "ready (0 orders)");
    proj.wait_for_output("web", "listening on");
    let body = "item=coffee";
    let response = http(
        port,
        &format!(
            "POST /orders HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(response.starts_with("HTTP/1.0 201"), "{response}");
    proj.wait_for_match("a worker shipping the order", |line| {
        split_line(line).is_some_and(|(name, text)| {
            name.starts_with("worker.") && text == "shipped order 1 (coffee)"
        })
    });
    assert!(proj.stop().success());
}

#[test]
fn install_sh_fails_clearly_without_cargo() {
    // A PATH with the few tools the script needs before it looks for cargo.
    let bin = tempfile::tempdir().unwrap();
    for tool in ["dirname", "sh"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(tool))
            .find(|path| path.exists())
            .unwrap();
        std::os::unix::fs::symlink(found, bin.path().join(tool)).unwrap();
    }
    let output = std::process::Command::new("/bin/sh")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh"))
        .env("PATH", bin.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cargo is not installed"), "{stderr}");
}
