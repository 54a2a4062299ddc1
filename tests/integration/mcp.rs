//! `proj mcp` (SPEC §9.7), driven by the official MCP Python SDK as a real client
//! (tests/integration/mcp/session.py): the handshake, every tool, tool errors after which the server
//! still answers, a second session and the CLI beside the first, `send` into a
//! `tty = true` prompt, the agent's loop of a failing edit, `why`, the fix and `restart`.
//! And, without the SDK, that closing stdin ends the server with exit 0.
//!
//! The SDK's interpreter is `PROJ_TEST_PYTHON` (`.ci/run` makes a virtualenv with
//! `pip install mcp`), else `python3`; without the `mcp` package the SDK test is skipped
//! with a message, unless `PROJ_TEST_MCP=required` (CI) makes that a failure.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Generous: the session starts a stack, restarts it twice and runs a few commands, on
/// two slow cores.
const SESSION_DEADLINE: Duration = Duration::from_secs(180);

/// The project tests/integration/mcp/session.py expects.
fn agent_project() -> Project {
    let project = Project::new(
        r#"
[processes.web]
command = "python3 -u app.py"
ready = { log = "serving" }
restart = "never"
env = { GREETING = "hi" }

[processes.worker]
command = "while :; do echo tick; sleep 0.2; done"

[processes.prompt]
command = "python3 -u prompt.py"
tty = true
"#,
    );
    project.write(
        "app.py",
        "import signal, time\n\
         import greeting\n\
         signal.signal(signal.SIGHUP, lambda *_: print('reloaded', flush=True))\n\
         print(greeting.hello(), flush=True)\n\
         print('serving', flush=True)\n\
         while True:\n    time.sleep(3600)\n",
    );
    project.write("greeting.py", "def hello():\n    return 'hello'\n");
    project.write(
        "prompt.py",
        "while True:\n\
         \x20   line = input('> ')\n\
         \x20   with open('typed.txt', 'a') as typed:\n\
         \x20       typed.write(line + '\\n')\n",
    );
    project
}

/// An interpreter with the `mcp` package, or `None` (a skip).
fn python_with_sdk() -> Option<String> {
    let python = std::env::var("PROJ_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_sdk = Command::new(&python)
        .args(["-c", "import mcp"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !has_sdk {
        assert!(
            std::env::var("PROJ_TEST_MCP").as_deref() != Ok("required"),
            "PROJ_TEST_MCP=required, but {python} cannot import the MCP SDK (`pip install mcp`)"
        );
        eprintln!(
            "skipped: {python} cannot import the MCP Python SDK; set PROJ_TEST_PYTHON to an \
             interpreter with `pip install mcp`"
        );
    }
    has_sdk.then_some(python)
}

#[test]
fn an_agent_drives_the_stack_with_the_tools_alone() {
    let Some(python) = python_with_sdk() else {
        return;
    };
    let project = agent_project();
    // Whatever happens, the detached supervisor `up` started is stopped.
    let _detached = Detached(&project);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/integration/mcp/session.py"
    );
    let mut command = Command::new(python);
    command
        .arg(script)
        .arg(proj_binary())
        .arg(project.root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null());
    let mut session = Running::start(command);
    let status = session.wait_exit(SESSION_DEADLINE);
    let output = session.text();
    assert!(status.success(), "the session failed:\n{output}");
    assert!(output.contains("all checks passed"), "{output}");
    eprintln!("{output}");
}

/// `proj mcp` with raw JSON-RPC on its stdin, stderr kept for the failure message.
struct RawServer {
    child: std::process::Child,
    answers: BufReader<std::process::ChildStdout>,
}

impl RawServer {
    fn start(project: &Project) -> RawServer {
        let mut child = project
            .command(&["mcp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start proj mcp");
        let answers = BufReader::new(child.stdout.take().expect("stdout"));
        RawServer { child, answers }
    }

    fn send(&mut self, message: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{message}").expect("write to proj mcp");
    }

    fn answer(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.answers.read_line(&mut line).expect("read proj mcp");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"))
    }

    fn handshake(&mut self) {
        self.send(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#,
        );
        let answer = self.answer();
        assert_eq!(
            answer["result"]["protocolVersion"], "2025-06-18",
            "{answer}"
        );
        self.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    }

    /// Close stdin; the server must exit 0 within `within`.
    fn close_stdin_and_expect_exit_0(mut self, within: Duration) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + within;
        let status = wait_until_within(within, "proj mcp to exit", || {
            self.child.try_wait().expect("wait")
        });
        assert!(Instant::now() <= deadline);
        assert!(status.success(), "proj mcp ended with {status}");
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn closing_stdin_ends_the_server_with_exit_0() {
    let project = Project::new("[processes.web]\ncommand = \"sleep 60\"\n");
    let mut server = RawServer::start(&project);
    server.handshake();
    server.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"status","arguments":{}}}"#);
    let answer = server.answer();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    server.close_stdin_and_expect_exit_0(DEADLINE);
}

#[test]
fn closing_stdin_before_the_handshake_is_a_clean_end() {
    let project = Project::new("[processes.web]\ncommand = \"sleep 60\"\n");
    let server = RawServer::start(&project);
    server.close_stdin_and_expect_exit_0(DEADLINE);
}

#[test]
fn closing_stdin_during_a_long_call_still_ends_the_server() {
    let project = Project::new(
        "[processes.web]\ncommand = \"sleep 60\"\n\n\
         [processes.slow]\ncommand = \"sleep 60\"\nautostart = false\n\
         ready = { log = \"never printed\" }\nready_timeout = \"60s\"\n",
    );
    let _detached = Detached(&project);
    let up = project.run(&["up", "-d"]);
    assert!(up.status.success(), "{}{}", up.stdout, up.stderr);
    let mut server = RawServer::start(&project);
    server.handshake();
    // Answered only once `slow` is ready, which it never is: the server must not wait
    // for that answer to end.
    server.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"start","arguments":{"names":["slow"]}}}"#);
    server.close_stdin_and_expect_exit_0(DEADLINE);
}
