//! `tty = true` and `proj connect`, end to end: real pseudo-terminals, and `proj
//! connect` driven inside a private tmux server (read with `capture-pane`, typed into
//! with `send-keys`). The tmux tests are skipped, with a message, without tmux.

use std::io::{Read, Write};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::support::tmux::Tmux;
use crate::support::*;

fn pid_of(project: &Project, name: &str) -> Option<i64> {
    let output = project.run(&["ps", "--json"]);
    let instances: serde_json::Value = serde_json::from_str(&output.stdout).ok()?;
    instances
        .as_array()?
        .iter()
        .find(|instance| instance["name"] == name)?["pid"]
        .as_i64()
}

/// A Python program that reports its terminal: `isatty` of 0, 1, 2, its size (again on
/// every SIGWINCH), whether it leads its session with a controlling terminal, TERM; and
/// echoes each line it reads. SIGINT is reported, not fatal.
const TERMINAL_PROBE: &str = r#"
import os, shutil, signal, sys
def size(*_):
    columns, lines = os.get_terminal_size(0)
    print(f"size {lines}x{columns}", flush=True)
signal.signal(signal.SIGWINCH, size)
signal.signal(signal.SIGINT, lambda *_: print("got SIGINT", flush=True))
print("isatty", os.isatty(0), os.isatty(1), os.isatty(2), flush=True)
print("leader", os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpgrp(), flush=True)
print("TERM", os.environ.get("TERM"), flush=True)
size()
open("probe.pid", "w").write(f"{os.getpid()}\n")
for line in sys.stdin:
    print("got:", line.strip(), flush=True)
"#;

fn terminal_probe_project(extra_env: &str) -> Project {
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "python3 probe.py"
tty = true
{extra_env}
"#
    ));
    project.write("probe.py", TERMINAL_PROBE);
    project
}

#[test]
fn a_tty_process_has_a_terminal_of_its_own_80_by_24() {
    let project = terminal_probe_project("");
    let mut proj = project.up(&[]);
    proj.wait_for_output("web", "isatty True True True");
    proj.wait_for_output("web", "leader True True");
    proj.wait_for_output("web", "size 24x80");
    // TERM is proj's own (support::Project clears nothing else), or xterm-256color.
    let expected = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
    proj.wait_for_output("web", &format!("TERM {expected}"));
    // The terminal's CR LF is one line end: no carriage return reaches the log file.
    let log = project.wait_for_file_content(".proj/logs/web.log", "size 24x80");
    assert!(!log.contains('\r'), "{log:?}");
    assert!(proj.stop().success());
}

#[test]
fn term_defaults_to_xterm_256color() {
    let project = terminal_probe_project("");
    let mut command = project.command(&["up", "--no-tui"]);
    command.env_remove("TERM");
    let mut proj = Running::start(command);
    proj.wait_for_output("web", "TERM xterm-256color");
    assert!(proj.stop().success());
}

#[test]
fn output_is_drained_and_logged_with_no_one_connected() {
    let project = Project::new(
        r#"
[processes.chatty]
command = "python3 -c 'for i in range(20000): print(\"line\", i)'"
tty = true
restart = "never"
"#,
    );
    let mut proj = project.up(&[]);
    proj.wait_for("chatty: exited with code 0");
    let log = project.wait_for_file_content(".proj/logs/chatty.log", "line 19999\n");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 20000);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}"))
    );
    assert!(proj.stop().success());
}

#[test]
fn connect_sizes_the_terminal_types_into_it_and_detaches_leaving_it_running() {
    let project = terminal_probe_project("");
    let _proj = project.up(&[]);
    let pid = project.wait_for_pid("probe.pid");
    let Some(tmux) = Tmux::start(project.root(), 100, 30) else {
        return;
    };
    tmux.connect("web");
    // The window size follows the client's terminal (SIGWINCH reaches the process).
    project.wait_for_file_content(".proj/logs/web.log", "size 30x100");
    tmux.type_line("hello through proj");
    tmux.wait_for_screen("the echo", |screen| {
        screen.contains("got: hello through proj")
    });
    project.wait_for_file_content(".proj/logs/web.log", "got: hello through proj");
    // Ctrl-C goes to the process, not to proj connect or proj.
    tmux.press("C-c");
    project.wait_for_file_content(".proj/logs/web.log", "got SIGINT");
    tmux.wait_for_screen("SIGINT on the screen", |screen| {
        screen.contains("got SIGINT")
    });
    assert_eq!(tmux.detach(), "0");
    assert_eq!(pid_of(&project, "web"), Some(i64::from(pid)));
    assert!(!is_gone(pid));
    // A second connection sees the process's earlier output, and types into it too.
    tmux.connect("web");
    tmux.wait_for_screen("the replayed output", |screen| {
        screen.contains("got: hello through proj")
    });
    tmux.type_line("again");
    project.wait_for_file_content(".proj/logs/web.log", "got: again");
    assert_eq!(tmux.detach(), "0");
}

#[test]
fn a_breakpoint_is_driven_through_proj_connect_on_a_detached_supervisor() {
    let port = free_port();
    let project = Project::new(&format!(
        r#"
[processes.web]
command = "python3 app.py"
port = {port}
tty = true
ready = {{ tcp = "$PORT" }}
"#
    ));
    project.write(
        "app.py",
        r#"
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
class View(BaseHTTPRequestHandler):
    def do_GET(self):
        answer = "computed"
        breakpoint()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(f"request complete: {answer}\n".encode())
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), View).serve_forever()
"#,
    );
    let up = project.run(&["up", "-d"]);
    let _detached = Detached(&project);
    assert!(up.status.success(), "{}{}", up.stdout, up.stderr);
    let pid = pid_of(&project, "web").expect("web runs");
    let request = std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(DEADLINE * 2)).unwrap();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    });
    // The debugger stops before anyone is connected: its prompt waits, unterminated.
    project.wait_for_file_content(".proj/logs/web.log", "do_GET()");
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.connect("web");
    tmux.wait_for_screen("the (Pdb) prompt", |screen| screen.contains("(Pdb)"));
    tmux.type_line("p 6*7");
    tmux.wait_for_screen("42", |screen| screen.lines().any(|l| l.trim() == "42"));
    tmux.type_line("p answer");
    tmux.wait_for_screen("the local variable", |screen| screen.contains("'computed'"));
    tmux.type_line("c");
    let answer = request.join().expect("the request thread");
    assert!(answer.contains("request complete: computed"), "{answer:?}");
    assert_eq!(tmux.detach(), "0");
    assert_eq!(pid_of(&project, "web"), Some(pid));
}

#[test]
fn killing_proj_with_sigkill_leaves_nothing_of_a_tty_process() {
    let project = Project::new(
        r#"
[processes.web]
command = "sleep 1000 & echo $! > grandchild.pid; echo $$ > child.pid; wait"
tty = true
"#,
    );
    let mut proj = project.up(&[]);
    let child = project.wait_for_pid("child.pid");
    let grandchild = project.wait_for_pid("grandchild.pid");
    proj.signal(Signal::SIGKILL);
    proj.wait_exit(DEADLINE);
    wait_gone(child);
    wait_gone(grandchild);
}

#[test]
fn a_tty_instance_stops_and_restarts_like_any_other() {
    let project = terminal_probe_project("");
    let mut proj = project.up(&[]);
    let first = project.wait_for_pid("probe.pid");
    std::fs::remove_file(project.path("probe.pid")).unwrap();
    let restart = project.run(&["restart", "web"]);
    assert!(restart.status.success(), "{}", restart.stderr);
    let second = project.wait_for_pid("probe.pid");
    assert_ne!(first, second);
    wait_gone(first);
    assert!(proj.stop().success());
    wait_gone(second);
}

#[test]
fn connect_refuses_what_it_cannot_connect_to() {
    let project = Project::new(
        r#"
[processes.plain]
command = "sleep 1000"

[processes.web]
command = "sleep 1000"
tty = true
"#,
    );
    let none = project.run(&["connect", "web"]);
    assert_eq!(none.status.code(), Some(1), "{}", none.stderr);
    assert!(none.stderr.contains("no proj running"), "{}", none.stderr);

    let _proj = project.up(&[]);
    wait_until("the supervisor", || {
        project.run(&["ps"]).status.success().then_some(())
    });
    let unknown = project.run(&["connect", "nope"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", unknown.stderr);
    assert!(unknown.stderr.contains("`nope`"), "{}", unknown.stderr);

    let plain = project.run(&["connect", "plain"]);
    assert_eq!(plain.status.code(), Some(2), "{}", plain.stderr);
    assert!(plain.stderr.contains("tty = true"), "{}", plain.stderr);

    // support's commands run with stdin from /dev/null: no terminal.
    let no_terminal = project.run(&["connect", "web"]);
    assert_eq!(no_terminal.status.code(), Some(2), "{}", no_terminal.stderr);
    assert!(
        no_terminal.stderr.contains("needs a terminal"),
        "{}",
        no_terminal.stderr
    );
}

#[test]
fn check_shows_which_processes_have_a_tty() {
    let project = Project::new(
        r#"
[processes]
worker = "python3 worker.py"

[processes.web]
command = "python3 app.py"
tty = true
"#,
    );
    let check = project.run(&["check"]);
    assert!(check.status.success(), "{}", check.stderr);
    let row = |name: &str| {
        check
            .stdout
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", check.stdout))
            .to_string()
    };
    assert!(row("web").contains("tty"), "{}", check.stdout);
    assert!(!row("worker").contains("tty"), "{}", check.stdout);
}

/// A prompt without a newline, answered line by line.
const GREETER: &str = r#"
import os
open("greeter.pid", "w").write(f"{os.getpid()}\n")
while True:
    name = input("name? ")
    print(f"hello {name}", flush=True)
"#;

/// In the TUI on the tmux pane: `i` on the (only) instance, type a line, see the
/// answer and the prompt that follows it, then Ctrl-] back to the TUI's own keys.
fn type_into_the_tui(tmux: &Tmux, project: &Project) {
    tmux.wait_for_screen("the TUI", |screen| screen.contains("greeter"));
    tmux.press("i");
    tmux.wait_for_screen("input mode", |screen| {
        screen.contains("INPUT: keys go to greeter")
    });
    // The prompt has no newline: it is not a log line, yet the pane shows it.
    tmux.wait_for_screen("the prompt", |screen| screen.contains("name? "));
    tmux.type_text("ada");
    tmux.press("Enter");
    project.wait_for_file_content(".proj/logs/greeter.log", "hello ada");
    tmux.wait_for_screen("the answer", |screen| screen.contains("hello ada"));
    // In input mode `q` is a key for the process, not the TUI's quit.
    tmux.type_text("q");
    tmux.press("Enter");
    project.wait_for_file_content(".proj/logs/greeter.log", "hello q");
    tmux.press("C-]");
    tmux.wait_for_screen("the normal footer", |screen| {
        !screen.contains("INPUT:") && screen.contains("help")
    });
}

#[test]
fn the_tui_types_into_a_tty_process_after_i_until_ctrl_bracket() {
    let project =
        Project::new("[processes.greeter]\ncommand = \"python3 greeter.py\"\ntty = true\n");
    project.write("greeter.py", GREETER);
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.wait_for_screen("the shell prompt", |screen| {
        screen.lines().any(|line| line.starts_with('$'))
    });
    tmux.type_line(&format!("{} up --tui", proj_binary()));
    let pid = project.wait_for_pid("greeter.pid");
    type_into_the_tui(&tmux, &project);
    tmux.press("q");
    wait_gone(pid);
}

#[test]
fn proj_attach_types_into_a_tty_process_too() {
    let project =
        Project::new("[processes.greeter]\ncommand = \"python3 greeter.py\"\ntty = true\n");
    project.write("greeter.py", GREETER);
    let up = project.run(&["up", "-d"]);
    let _detached = Detached(&project);
    assert!(up.status.success(), "{}{}", up.stdout, up.stderr);
    let pid = project.wait_for_pid("greeter.pid");
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.wait_for_screen("the shell prompt", |screen| {
        screen.lines().any(|line| line.starts_with('$'))
    });
    tmux.type_line(&format!("{} attach", proj_binary()));
    type_into_the_tui(&tmux, &project);
    tmux.press("q");
    tmux.wait_for_screen("the shell again", |screen| {
        screen.lines().any(|line| line.starts_with('$')) && !screen.contains("INPUT")
    });
    assert!(!is_gone(pid));
}

#[test]
fn i_on_a_process_without_a_tty_says_why_in_the_footer() {
    let project = Project::new("[processes.plain]\ncommand = \"sleep 1000\"\n");
    let Some(tmux) = Tmux::start(project.root(), 120, 30) else {
        return;
    };
    tmux.wait_for_screen("the shell prompt", |screen| {
        screen.lines().any(|line| line.starts_with('$'))
    });
    tmux.type_line(&format!("{} up --tui", proj_binary()));
    tmux.wait_for_screen("the TUI", |screen| screen.contains("running"));
    tmux.press("i");
    tmux.wait_for_screen("the refusal", |screen| screen.contains("tty = true"));
    tmux.press("q");
    tmux.wait_for_screen("the shell again", |screen| {
        screen.lines().filter(|line| line.starts_with('$')).count() >= 2
    });
}

/// `connect` spoken directly on the socket, as the README documents it.
struct RawConnection {
    stream: std::os::unix::net::UnixStream,
    seen: Vec<u8>,
}

impl RawConnection {
    fn open(project: &Project, name: &str) -> RawConnection {
        let mut stream =
            std::os::unix::net::UnixStream::connect(project.path(".proj/proj.sock")).unwrap();
        writeln!(stream, r#"{{"v":1,"command":"connect","name":"{name}"}}"#).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut connection = RawConnection {
            stream,
            seen: Vec::new(),
        };
        connection.wait_for(br#""connect":{"instance":"#);
        connection
    }

    fn wait_for(&mut self, needle: &[u8]) {
        let seen = &mut self.seen;
        let stream = &mut self.stream;
        wait_until(
            &format!("{:?} on a connection", String::from_utf8_lossy(needle)),
            || {
                let mut buffer = [0u8; 4096];
                if let Ok(read) = stream.read(&mut buffer) {
                    seen.extend_from_slice(&buffer[..read]);
                }
                seen.windows(needle.len())
                    .any(|w| w == needle)
                    .then_some(())
            },
        );
    }

    fn type_keys(&mut self, keys: &[u8]) {
        let mut frame = vec![0u8];
        frame.extend_from_slice(&u16::try_from(keys.len()).unwrap().to_be_bytes());
        frame.extend_from_slice(keys);
        self.stream.write_all(&frame).unwrap();
    }
}

#[test]
fn several_connections_all_see_the_output_and_all_type() {
    let project = terminal_probe_project("");
    let _proj = project.up(&[]);
    project.wait_for_pid("probe.pid");
    let mut first = RawConnection::open(&project, "web");
    let mut second = RawConnection::open(&project, "web");
    // Each starts with the recent output: the probe's report.
    first.wait_for(b"isatty True True True");
    second.wait_for(b"isatty True True True");
    first.type_keys(b"from the first\r");
    second.type_keys(b"from the second\r");
    for connection in [&mut first, &mut second] {
        connection.wait_for(b"got: from the first");
        connection.wait_for(b"got: from the second");
    }
    // A window size frame: rows 50, columns 132.
    first.stream.write_all(&[1, 0, 4, 0, 50, 0, 132]).unwrap();
    second.wait_for(b"size 50x132");
    drop(first);
    second.type_keys(b"still here\r");
    second.wait_for(b"got: still here");
}

#[test]
fn connect_replays_output_without_the_terminal_queries_in_it() {
    // Reline (irb, `binding.irb`) asks where the cursor is before it draws a prompt.
    // Asked while nobody was connected, the question must not be replayed on connect:
    // the terminal would type its answer (`^[[30;1R`) into the prompt.
    let project = Project::new("[processes.repl]\ncommand = \"python3 repl.py\"\ntty = true\n");
    project.write(
        "repl.py",
        "import sys\n\
         sys.stdout.write('ready\\n\\x1b[6n\\x1b[cprompt> ')\n\
         sys.stdout.flush()\n\
         line = sys.stdin.readline()\n\
         open('typed.txt', 'w').write(repr(line) + '\\n')\n\
         import time\n\
         time.sleep(1000)\n",
    );
    let mut proj = project.up(&[]);
    // The prompt has no line end yet: the log shows the line before it.
    project.wait_for_file_content(".proj/logs/repl.log", "ready");
    let Some(tmux) = Tmux::start(project.root(), 100, 30) else {
        assert!(proj.stop().success());
        return;
    };
    tmux.connect("repl");
    tmux.wait_for_screen("the replayed prompt", |screen| screen.contains("prompt>"));
    tmux.type_line("print(1)");
    let typed = project.wait_for_file("typed.txt");
    assert_eq!(
        typed, "'print(1)\\n'",
        "the terminal answered a replayed query"
    );
    assert_eq!(tmux.detach(), "0");
    assert!(proj.stop().success());
}

#[test]
fn connect_replays_a_query_the_program_still_waits_for() {
    // irb started with nobody connected asks where the cursor is and waits for the
    // answer: the replay keeps that last question, the terminal that connects answers.
    let project = Project::new("[processes.repl]\ncommand = \"python3 asks.py\"\ntty = true\n");
    project.write(
        "asks.py",
        "import os, sys, termios, tty\n\
         print('ready', flush=True)\n\
         tty.setraw(0)\n\
         sys.stdout.write('\\x1b[6n')\n\
         sys.stdout.flush()\n\
         answer = b''\n\
         while not answer.endswith(b'R'):\n    answer += os.read(0, 1)\n\
         open('answer.txt', 'w').write(repr(answer) + '\\n')\n\
         import time\n\
         time.sleep(1000)\n",
    );
    let mut proj = project.up(&[]);
    project.wait_for_file_content(".proj/logs/repl.log", "ready");
    let Some(tmux) = Tmux::start(project.root(), 100, 30) else {
        assert!(proj.stop().success());
        return;
    };
    tmux.connect("repl");
    let answer = project.wait_for_file("answer.txt");
    assert!(
        answer.starts_with("b'\\x1b[") && answer.ends_with("R'"),
        "not a cursor position report: {answer}"
    );
    assert_eq!(tmux.detach(), "0");
    assert!(proj.stop().success());
}
