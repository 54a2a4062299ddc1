//! SPEC §9.3: `socket` — one address for N instances. proj holds the listening socket
//! and hands it to every instance as descriptor 3 (systemd's socket activation); the
//! server here takes it from there and answers with its pid.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::support::{Project, free_ports, wait_until};

/// A socket-activated server: checks `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES` as
/// sd_listen_fds(3) would, accepts from descriptor 3 and answers `pid PORT`. On SIGTERM
/// it finishes the request in hand and exits, as gunicorn does.
const SERVER: &str = r#"
import os, select, signal, socket, sys, time
assert os.environ["LISTEN_FDS"] == "1", os.environ.get("LISTEN_FDS")
assert os.environ["LISTEN_PID"] == str(os.getpid()), (os.environ["LISTEN_PID"], os.getpid())
assert os.environ["LISTEN_FDNAMES"] == os.environ["PROJ_PROCESS"]
listener = socket.socket(fileno=3)
stopping = accepting = False
class Stop(Exception):
    pass
def stop(*_):
    global stopping
    stopping = True
    if accepting:
        raise Stop  # out of an accept that another instance's connection left waiting
signal.signal(signal.SIGTERM, stop)
open(f"started.{os.getpid()}", "w").write(os.environ["PORT"] + "\n")
# Wait for a connection with select, not in accept: a SIGTERM then only sets the flag,
# and no connection is ever accepted and dropped. (A connection another instance took
# first leaves accept waiting for the next one, which the load sends.)
while not stopping:
    ready, _, _ = select.select([listener], [], [], 0.05)
    if stopping or not ready:
        continue
    try:
        accepting = True
        conn, _ = listener.accept()
        accepting = False
    except Stop:
        break
    conn.recv(1024)
    time.sleep(0.005)
    conn.sendall(f"{os.getpid()} {os.environ['PORT']}\n".encode())
    conn.close()
"#;

fn project(socket: &str, scale: u32) -> Project {
    let project = Project::new(&format!(
        "[processes.web]\ncommand = \"python3 server.py\"\nsocket = {socket}\nscale = {scale}\n"
    ));
    project.write("server.py", SERVER);
    project
}

/// One request: the pid that answered, or the error.
fn ask(address: SocketAddr) -> std::io::Result<(i32, u16)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(b"hello\n")?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let mut words = answer.split_whitespace();
    let pid = words.next().and_then(|w| w.parse().ok());
    let port = words.next().and_then(|w| w.parse().ok());
    match (pid, port) {
        (Some(pid), Some(port)) => Ok((pid, port)),
        _ => Err(std::io::Error::new(ErrorKind::UnexpectedEof, answer)),
    }
}

/// The pids of the running instances (none while the supervisor is not listening yet).
fn pids(project: &Project) -> BTreeSet<i32> {
    let output = project.run(&["ps", "--json"]);
    if !output.status.success() {
        return BTreeSet::new();
    }
    let rows: Value = serde_json::from_str(&output.stdout).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|row| row["state"] == "running")
        .filter_map(|row| row["pid"].as_i64())
        .map(|pid| i32::try_from(pid).unwrap())
        .collect()
}

fn wait_running(project: &Project, count: usize) -> BTreeSet<i32> {
    wait_until(&format!("{count} instances running"), || {
        let found = pids(project);
        let started = found
            .iter()
            .all(|pid| project.path(&format!("started.{pid}")).exists());
        (found.len() == count && started).then_some(found)
    })
}

/// Requests in a loop on a thread until stopped: (answers by pid, failures).
struct Load {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(Vec<i32>, Vec<String>)>>,
}

impl Load {
    fn start(address: SocketAddr) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut answered, mut failed) = (Vec::new(), Vec::new());
            while !flag.load(Ordering::Relaxed) {
                match ask(address) {
                    Ok((pid, _)) => answered.push(pid),
                    Err(error) => failed.push(format!("{:?}: {error}", error.kind())),
                }
            }
            (answered, failed)
        });
        Load {
            stop,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (Vec<i32>, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[test]
fn requests_spread_over_every_instance_of_one_socket() {
    let port = free_ports(1);
    let project = project(&port.to_string(), 3);
    let mut proj = project.up(&[]);
    let running = wait_running(&project, 3);
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let answered = Mutex::new(BTreeSet::new());
    wait_until("every instance to answer", || {
        let (pid, seen_port) = ask(address).expect("a request");
        assert_eq!(seen_port, port, "PORT is the socket's port");
        let mut answered = answered.lock().unwrap();
        answered.insert(pid);
        (*answered == running).then_some(())
    });
    // `ps` shows the socket's port for each instance.
    let output = project.run(&["ps", "--json"]);
    let rows: Value = serde_json::from_str(&output.stdout).unwrap();
    for row in rows.as_array().unwrap() {
        assert_eq!(row["port"], port, "{row}");
    }
    assert!(proj.stop().success());
}

#[test]
fn a_plain_restart_and_a_kill_refuse_no_connection() {
    let port = free_ports(1);
    let project = project(&port.to_string(), 2);
    let mut proj = project.up(&[]);
    let before = wait_running(&project, 2);
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let load = Load::start(address);
    // Every instance at once, not rolling: nobody accepts for a moment.
    let restart = project.run(&["restart", "web"]);
    assert!(restart.status.success(), "{}", restart.stderr);
    let after = wait_until("two new instances", || {
        let now = wait_running(&project, 2);
        now.is_disjoint(&before).then_some(now)
    });
    // One instance SIGKILLed under load: the other goes on accepting, the queue waits.
    let victim = *after.iter().next().unwrap();
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    wait_until("the killed instance to be replaced", || {
        let now = wait_running(&project, 2);
        (!now.contains(&victim)).then_some(())
    });
    let (answered, failed) = load.finish();
    let refused: Vec<&String> = failed
        .iter()
        .filter(|f| f.starts_with("ConnectionRefused"))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:?}");
    // The graceful restart lost nothing; only the request the killed one held may fail.
    assert!(failed.len() <= 1, "{failed:?}");
    assert!(answered.len() > 20, "{} answered", answered.len());
    assert!(proj.stop().success());
}

#[test]
fn scale_up_and_down_shares_the_socket() {
    let port = free_ports(1);
    let project = project(&port.to_string(), 1);
    let mut proj = project.up(&[]);
    wait_running(&project, 1);
    let address: SocketAddr = ([127, 0, 0, 1], port).into();
    let scale = project.run(&["scale", "web=3"]);
    assert!(scale.status.success(), "{}", scale.stderr);
    let three = wait_running(&project, 3);
    let answered = Mutex::new(BTreeSet::new());
    wait_until("each of three to answer", || {
        let (pid, _) = ask(address).expect("a request");
        let mut answered = answered.lock().unwrap();
        answered.insert(pid);
        (*answered == three).then_some(())
    });
    let scale = project.run(&["scale", "web=1"]);
    assert!(scale.status.success(), "{}", scale.stderr);
    let one = wait_running(&project, 1);
    for _ in 0..5 {
        let (pid, _) = ask(address).expect("a request after scaling down");
        assert!(one.contains(&pid));
    }
    assert!(proj.stop().success());
}

#[test]
fn socket_auto_picks_a_port_that_ps_and_port_show() {
    let project = project("\"auto\"", 2);
    let mut proj = project.up(&[]);
    let running = wait_running(&project, 2);
    let pid = *running.iter().next().unwrap();
    let port: u16 = project
        .wait_for_file(&format!("started.{pid}"))
        .parse()
        .unwrap();
    let (_, seen) = ask(([127, 0, 0, 1], port).into()).expect("a request");
    assert_eq!(seen, port);
    assert!(proj.stop().success());
}

#[test]
fn socket_and_port_are_refused_together_with_a_position() {
    let project =
        Project::new("[processes.web]\ncommand = \"serve\"\nport = 8000\nsocket = 7100\n");
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2), "{}", output.stderr);
    assert!(
        output.stderr.contains("proj.toml:4:10"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("process `web` has both `socket` and `port`"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_taken_socket_address_fails_the_process_naming_the_holder() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let project = project(&format!("\"127.0.0.1:{port}\""), 2);
    let mut proj = project.up(&[]);
    proj.wait_for(&format!(
        "cannot listen on 127.0.0.1:{port}: it is in use by pid {}",
        std::process::id()
    ));
    assert!(proj.stop().success());
    drop(holder);
}

#[test]
fn a_tcp_or_http_probe_on_a_shared_socket_is_warned_about() {
    let project = Project::new(
        "[processes.web]\ncommand = \"serve\"\nsocket = 7100\nscale = 2\nready = { tcp = \"$PORT\" }\n",
    );
    let output = project.run(&["check"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains("warning: the probe of `web` reaches whichever instance accepts first"),
        "{}",
        output.stderr
    );
    assert!(output.stderr.contains("proj.toml:5:"), "{}", output.stderr);
}
