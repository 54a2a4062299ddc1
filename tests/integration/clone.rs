//! `proj clone` and `proj up URL` on real git repositories made in temp dirs with the
//! git CLI, reached through `file://` URLs and local paths. No network: the unknown-host
//! case runs in a network namespace of its own, where nothing can be resolved.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Run git with a fixed identity and no user or system config; panic on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "protocol.file.allow=always",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A repository at `parent/name` with `files` committed on `main`.
fn repository(parent: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    for (path, content) in files {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "first"]);
    dir
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

const SHOP: &str = r#"
[[setup]]
name = "prepare"
command = "echo prepared > prepared.txt"
creates = "prepared.txt"

[processes]
web = "echo \"web sees $(cat prepared.txt)\"; touch web-started; exec sleep 1000"
"#;

/// A workspace: `remote/` holds the repositories, the root is where proj runs.
fn workspace() -> (Project, PathBuf) {
    let work = Project::empty();
    let remotes = work.path("remote");
    std::fs::create_dir_all(&remotes).unwrap();
    (work, remotes)
}

/// No temporary clone directory left next to `dir`.
fn no_staging_left(parent: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".proj-clone-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn clone_from_a_file_url_sets_up_and_starts_nothing() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    let output = work.run(&["clone", &file_url(&origin)]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(work.read("shop/proj.toml"), SHOP);
    assert_eq!(work.read("shop/prepared.txt"), "prepared\n");
    assert!(!work.path("shop/web-started").exists());
    let out = &output.stdout;
    assert!(
        out.contains(&format!("cloning {} into shop", file_url(&origin))),
        "{out}"
    );
    assert!(out.contains("cloned 3 objects"), "{out}");
    assert!(out.contains("ran      prepare"), "{out}");
    assert!(out.contains("ready: cd shop && proj up"), "{out}");
    // Plain mode: a few lines, no progress bar redraws.
    assert!(out.lines().count() <= 5, "{out}");
    assert!(!out.contains('\r'), "{out}");
    no_staging_left(work.root());
}

#[test]
fn a_local_path_clones_into_the_named_directory_and_records_an_absolute_origin() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    let output = work.run(&["clone", "remote/shop", "deep/checkout", "--no-setup"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(work.path("deep/checkout/proj.toml").exists());
    assert!(
        !work.path("deep/checkout/prepared.txt").exists(),
        "--no-setup"
    );
    let recorded = git(
        &work.path("deep/checkout"),
        &["remote", "get-url", "origin"],
    );
    assert_eq!(
        Path::new(&recorded).canonicalize().unwrap(),
        origin.canonicalize().unwrap()
    );
}

#[test]
fn a_second_clone_reuses_the_directory_and_anything_else_there_is_refused() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    let url = file_url(&origin);
    assert!(work.run(&["clone", &url]).status.success());
    work.write("shop/my-work.txt", "uncommitted");

    // The same repository, written differently: reused, the work left alone.
    let again = work.run(&["clone", "remote/shop/"]);
    assert!(again.status.success(), "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains("using shop: already a clone of remote/shop/"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("skipped  prepare"),
        "{}",
        again.stdout
    );
    assert_eq!(work.read("shop/my-work.txt"), "uncommitted");

    // Another repository's clone.
    let other = repository(&remotes, "other", &[("README", "x")]);
    let refused = work.run(&["clone", &file_url(&other), "shop"]);
    assert_eq!(refused.status.code(), Some(1), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("shop already exists and holds a clone of {url}")),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("help:"), "{}", refused.stderr);

    // Plain files.
    work.write("notes/todo.txt", "x");
    let refused = work.run(&["clone", &url, "notes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        refused
            .stderr
            .contains("notes already exists and is not empty"),
        "{}",
        refused.stderr
    );
    assert_eq!(work.read("notes/todo.txt"), "x");
    no_staging_left(work.root());
}

#[test]
fn an_empty_directory_is_cloned_into() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    std::fs::create_dir_all(work.path("shop")).unwrap();
    let output = work.run(&["clone", &file_url(&origin), "--no-setup"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(work.path("shop/proj.toml").exists());
}

#[test]
fn branch_checks_out_that_branch_and_an_unknown_one_fails_clearly() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    git(&origin, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(origin.join("feature.txt"), "on feature").unwrap();
    git(&origin, &["add", "-A"]);
    git(&origin, &["commit", "-q", "-m", "feature"]);
    git(&origin, &["checkout", "-q", "main"]);

    let url = file_url(&origin);
    let output = work.run(&["clone", "--no-setup", "--branch", "feature", &url]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(work.read("shop/feature.txt"), "on feature");
    assert_eq!(
        git(&work.path("shop"), &["branch", "--show-current"]),
        "feature"
    );

    let output = work.run(&["clone", "--branch", "nope", &url, "elsewhere"]);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    assert!(output.stderr.contains("cannot clone"), "{}", output.stderr);
    assert!(output.stderr.contains("nope"), "{}", output.stderr);
    assert!(
        output.stderr.contains("check the branch name"),
        "{}",
        output.stderr
    );
    assert!(!work.path("elsewhere").exists());
    no_staging_left(work.root());
}

#[test]
fn submodules_are_initialised_and_survive_the_move_into_place() {
    let (work, remotes) = workspace();
    repository(&remotes, "lib", &[("lib.txt", "library")]);
    let origin = repository(&remotes, "app", &[("proj.toml", SHOP)]);
    git(&origin, &["submodule", "add", "-q", "../lib", "vendor/lib"]);
    git(&origin, &["commit", "-q", "-m", "add lib"]);

    let output = work.run(&["clone", "--no-setup", &file_url(&origin)]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(work.read("app/vendor/lib/lib.txt"), "library");
    assert!(
        output.stdout.contains("submodule vendor/lib"),
        "{}",
        output.stdout
    );
    // The submodule's git directory is found from its new place.
    let status = git(&work.path("app"), &["submodule", "status"]);
    assert!(status.contains("vendor/lib"), "{status}");
    assert!(!status.starts_with('-'), "initialised: {status}");
    git(&work.path("app/vendor/lib"), &["rev-parse", "HEAD"]);
}

#[test]
fn a_missing_repository_fails_clearly_and_leaves_nothing() {
    let (work, _) = workspace();
    let missing = work.path("remote/nope.git");
    for url in [file_url(&missing), missing.display().to_string()] {
        let output = work.run(&["clone", &url]);
        assert_eq!(output.status.code(), Some(1), "{url}: {}", output.stderr);
        assert!(
            output
                .stderr
                .contains(&format!("error: cannot clone {url}")),
            "{}",
            output.stderr
        );
        assert!(
            output.stderr.contains("help: check the URL"),
            "{}",
            output.stderr
        );
        assert!(!work.path("nope").exists());
        no_staging_left(work.root());
    }
}

#[test]
fn an_unknown_host_fails_clearly_without_touching_the_network() {
    // A network namespace with only a loopback that is down: name resolution fails at
    // once, and nothing leaves the machine.
    let unshare = ["-n", "-rn"].into_iter().find(|flag| {
        Command::new("unshare")
            .args([flag, "true"])
            .status()
            .is_ok_and(|s| s.success())
    });
    let Some(flag) = unshare else {
        eprintln!("skipped: cannot create a network namespace here (unshare -n)");
        return;
    };
    let (work, _) = workspace();
    for url in [
        "ssh://nonexistent.invalid/x.git",
        "https://nonexistent.invalid/x.git",
    ] {
        let output = Command::new("unshare")
            .args([flag, proj_binary(), "clone", url])
            .current_dir(work.root())
            .env_remove("SSH_AUTH_SOCK")
            .env("HOME", work.root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.contains(&format!("cannot clone {url}")), "{stderr}");
        assert!(stderr.contains("nonexistent.invalid"), "{stderr}");
        assert!(stderr.contains("help: check the host name"), "{stderr}");
        assert!(!work.path("x").exists());
        no_staging_left(work.root());
    }
}

#[test]
fn a_url_no_one_can_name_a_directory_for_is_a_usage_error() {
    let (work, _) = workspace();
    let output = work.run(&["clone", "file:///"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains("proj clone file:/// DIR"),
        "{}",
        output.stderr
    );
}

#[test]
fn up_with_a_url_clones_sets_up_and_supervises_then_reuses_the_clone() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    let url = file_url(&origin);

    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web sees prepared");
    assert!(proj.text().contains("cloning"), "{}", proj.text());
    assert!(proj.stop().success());

    let mut proj = work.up(&[&url, "web"]);
    proj.wait_for_output("web", "web sees prepared");
    let text = proj.text();
    assert!(text.contains("using shop: already a clone of"), "{text}");
    assert!(text.contains("skipped  prepare"), "{text}");
    assert!(proj.stop().success());

    // A bare repository's directory is cloned too (it has no project to run).
    let bare = work.path("remote/bare.git");
    git(&remotes, &["clone", "-q", "--bare", "shop", "bare.git"]);
    let mut proj = work.up(&[bare.to_str().unwrap()]);
    proj.wait_for_output("web", "web sees prepared");
    assert!(work.path("bare/proj.toml").exists());
    assert!(proj.stop().success());
}

#[test]
fn up_with_a_url_and_an_unknown_name_keeps_the_clone_and_exits_2() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("proj.toml", SHOP)]);
    let output = work.run(&["up", "--no-tui", &file_url(&origin), "wbe"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("`wbe`"), "{}", output.stderr);
    assert!(work.path("shop/proj.toml").exists());
    assert!(!work.path("shop/web-started").exists());
}

#[test]
fn branch_without_a_url_is_a_usage_error() {
    let project = Project::new(SHOP);
    let output = project.run(&["up", "--no-tui", "--branch", "main"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(output.stderr.contains("--branch"), "{}", output.stderr);
    assert!(!project.path("prepared.txt").exists());
}

/// A git "server" on loopback that refuses every request with 401 and counts them.
struct RefusingServer {
    child: std::process::Child,
    port: u16,
    count_file: PathBuf,
}

impl RefusingServer {
    fn start(dir: &Path) -> RefusingServer {
        let count_file = dir.join("requests");
        let script = r#"
import http.server, sys
count_file = sys.argv[1]
class Refuse(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(count_file, "a") as f:
            f.write("x")
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_POST = do_GET
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Refuse)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
        let mut child = Command::new("python3")
            .args(["-c", script])
            .arg(&count_file)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        RefusingServer {
            port: line.trim().parse().expect("a port"),
            child,
            count_file,
        }
    }

    fn requests(&self) -> usize {
        std::fs::read_to_string(&self.count_file)
            .unwrap_or_default()
            .len()
    }
}

impl Drop for RefusingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn refused_credentials_fail_clearly_instead_of_asking_forever() {
    let (work, _) = workspace();
    let server = RefusingServer::start(work.root());
    let url = format!("http://127.0.0.1:{}/acme/shop.git", server.port);
    let output = work
        .command(&["clone", &url])
        .env("PROJ_GIT_TOKEN", "not-a-good-token")
        .env("HOME", work.root())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("XDG_CONFIG_HOME", work.root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot clone {url}: authentication failed")),
        "{stderr}"
    );
    assert!(stderr.contains("PROJ_GIT_TOKEN"), "{stderr}");
    assert!(
        !stderr.contains("not-a-good-token"),
        "the token is never shown: {stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
    // One request without credentials, one per answer (token, helper): a handful, not
    // a loop.
    let requests = server.requests();
    assert!((1..=6).contains(&requests), "{requests} requests");
    assert!(!work.path("shop").exists());
    no_staging_left(work.root());
}

/// Copy `from` into `to`, leaving out what a checkout would not have.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if [".venv", ".env", "var", ".proj", "__pycache__"]
            .iter()
            .any(|skip| name == *skip)
        {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn day_one_on_the_guestbook_example_from_a_clone() {
    let (work, remotes) = workspace();
    let origin = remotes.join("guestbook");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/guestbook"),
        &origin,
    );
    let port = free_port();
    let config = std::fs::read_to_string(origin.join("proj.toml"))
        .unwrap()
        .replace("port = 8100", &format!("port = {port}"));
    std::fs::write(origin.join("proj.toml"), config).unwrap();
    git(&origin, &["init", "-q"]);
    git(&origin, &["add", "-A"]);
    git(&origin, &["commit", "-q", "-m", "guestbook"]);

    let mut proj = work.up(&[&file_url(&origin)]);
    // Setup: a virtualenv takes a while on a slow machine.
    wait_until_within(
        std::time::Duration::from_secs(120),
        "setup to finish",
        || proj.text().contains("ran      python deps").then_some(()),
    );
    proj.wait_for_output("migrate", "at version 2 (2 applied, 0 entries)");
    proj.wait_for_output("web", "Our guestbook listening on");
    // The socket is bound before that line is printed: a request now is answered.
    let body = "name=Ada";
    let response = http(
        port,
        &format!(
            "POST / HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(response.contains("Ada was here"), "{response}");
    assert!(proj.stop().success());

    // Day two: everything is done already.
    let mut proj = work.up(&[&file_url(&origin)]);
    proj.wait_for_output("web", "listening on");
    let text = proj.text();
    for line in [
        "skipped  env file     (creates .env exists)",
        "skipped  virtualenv   (creates .venv/bin/python exists)",
        "skipped  python deps  (sources unchanged)",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    proj.wait_for_output("migrate", "at version 2 (0 applied, 1 entries)");
    assert!(proj.stop().success());
}

/// A Procfile whose web process says which version it is.
fn versioned(version: &str) -> String {
    format!("web: echo \"web is {version}\"; exec sleep 1000\n")
}

fn commit_version(origin: &Path, version: &str) {
    std::fs::write(origin.join("Procfile"), versioned(version)).unwrap();
    git(origin, &["commit", "-q", "-am", version]);
}

#[test]
fn up_with_a_url_fast_forwards_a_clean_clone_and_says_so() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("Procfile", &versioned("v1"))]);
    let url = file_url(&origin);
    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web is v1");
    assert!(proj.stop().success());

    commit_version(&origin, "v2");
    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web is v2");
    assert!(
        proj.text().contains("shop: fast-forwarded `main` "),
        "{}",
        proj.text()
    );
    assert!(proj.stop().success());
    // Runtime files never show up as changes (`.proj/.gitignore`).
    assert_eq!(git(&work.path("shop"), &["status", "--porcelain"]), "");

    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web is v2");
    assert!(
        proj.text().contains("shop: `main` is up to date"),
        "{}",
        proj.text()
    );
    assert!(proj.stop().success());
}

#[test]
fn up_with_a_url_leaves_a_dirty_or_diverged_clone_and_no_pull_leaves_it_alone() {
    let (work, remotes) = workspace();
    let origin = repository(&remotes, "shop", &[("Procfile", &versioned("v1"))]);
    let url = file_url(&origin);
    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web is v1");
    assert!(proj.stop().success());
    let clone = work.path("shop");

    commit_version(&origin, "v2");
    std::fs::write(clone.join("Procfile"), versioned("local edit")).unwrap();
    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web is local edit");
    assert!(
        proj.text().contains(
            "shop: not updated: the work tree has uncommitted changes; running it as it is"
        ),
        "{}",
        proj.text()
    );
    assert!(proj.stop().success());

    git(&clone, &["commit", "-q", "-am", "mine"]);
    let mut proj = work.up(&[&url]);
    proj.wait_for_output("web", "web is local edit");
    assert!(
        proj.text()
            .contains("shop: not updated: `main` and its upstream have diverged"),
        "{}",
        proj.text()
    );
    assert!(proj.stop().success());

    git(&clone, &["reset", "-q", "--hard", "HEAD~1"]);
    let mut proj = work.up(&["--no-pull", &url]);
    proj.wait_for_output("web", "web is v1");
    assert!(!proj.text().contains("fast-forwarded"), "{}", proj.text());
    assert!(!proj.text().contains("not updated"), "{}", proj.text());
    assert!(proj.stop().success());
}
