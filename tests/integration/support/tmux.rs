//! A terminal for end-to-end tests of what proj draws and reads on one: a private tmux
//! server running `sh` in a detached session of a fixed size, read with `capture-pane`,
//! typed into with `send-keys`. Used by the TUI tests and the `proj connect` tests;
//! without tmux they skip, with a message.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{DEADLINE, proj_binary};

/// The one session of each server.
const SESSION: &str = "test";

/// A tmux server of our own (`-L`), killed when the test ends, however it ends.
pub(crate) struct Tmux {
    socket: String,
}

impl Tmux {
    /// A session running `sh` in `dir`, `cols`×`rows`; `None` without tmux.
    pub(crate) fn start(dir: &Path, cols: u16, rows: u16) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            let current = std::thread::current();
            let test = current.name().unwrap_or("this test");
            eprintln!("tmux is not installed: skipping {test}");
            return None;
        }
        // Tests run in parallel threads: a server each.
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let tmux = Tmux {
            socket: format!(
                "proj-test-{}-{}",
                std::process::id(),
                SERVERS.fetch_add(1, Ordering::Relaxed)
            ),
        };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let output = tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &cols,
            "-y",
            &rows,
            "-c",
            dir.to_str().expect("utf-8 path"),
            "env PS1='$ ' sh",
        ]);
        assert!(output.status.success(), "{output:?}");
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .env("TERM", "xterm-256color")
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    pub(crate) fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", SESSION]).stdout)
            .into_owned()
    }

    pub(crate) fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]);
    }

    pub(crate) fn type_line(&self, text: &str) {
        self.type_text(text);
        self.press("Enter");
    }

    /// A key by tmux's name for it: `Enter`, `C-c`, `C-]`, `q`.
    pub(crate) fn press(&self, key: &str) {
        self.run(&["send-keys", "-t", SESSION, key]);
    }

    /// Resize the window (and so the pane and the terminal in it) to `cols`×`rows`.
    pub(crate) fn resize(&self, cols: u16, rows: u16) {
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.run(&["resize-window", "-t", SESSION, "-x", &cols, "-y", &rows]);
    }

    /// Poll the screen until `check` holds; return it. A timeout fails the test with
    /// the last screen.
    pub(crate) fn wait_for_screen(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the pane shows the alternate screen (a full-screen program's).
    pub(crate) fn alternate_screen(&self) -> bool {
        let output = self.run(&["display-message", "-p", "-t", SESSION, "#{alternate_on}"]);
        String::from_utf8_lossy(&output.stdout).trim() == "1"
    }

    /// `proj connect NAME` in the pane's shell, once its prompt is up.
    pub(crate) fn connect(&self, name: &str) {
        self.wait_for_screen("the shell prompt", |screen| {
            screen.lines().any(|line| line.starts_with('$'))
        });
        self.type_line(&format!("{} connect {name}", proj_binary()));
        self.wait_for_screen("proj connect to connect", |screen| {
            screen.contains("Ctrl-] detaches")
        });
    }

    /// Ctrl-], then the exit code of `proj connect` as the shell saw it.
    pub(crate) fn detach(&self) -> String {
        self.press("C-]");
        self.wait_for_screen("the detach message", |screen| {
            screen.contains("it keeps running")
        });
        self.type_line("echo connect-exit=$?");
        let screen = self.wait_for_screen("the exit code", |screen| {
            screen.lines().any(|line| line.starts_with("connect-exit="))
        });
        screen
            .lines()
            .find_map(|line| line.strip_prefix("connect-exit="))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
