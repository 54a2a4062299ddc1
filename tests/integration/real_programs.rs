//! SPEC §9.1 on real programs, in both ways of tracking an instance's processes
//! (`…_with_cgroups`, `…_with_process_groups`): Debian's nginx (master and workers, a
//! rewritten process title), redis-server behind `cd var &&`, Erlang's `epmd -daemon`
//! (a double fork) and RabbitMQ booting with its defaults (which starts that epmd).
//!
//! Each test skips with a message when its program is not installed, unless
//! `PROJ_TEST_REAL=required` (CI, whose `.ci/run` installs them) makes that a failure.

use std::path::Path;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::tracking::{Mode, both_modes};
use crate::support::{
    Project, Running, free_ports, is_gone, kill_if_alive, stat, wait_until, wait_until_within,
};

both_modes!(
    nginx_master_and_workers_die_with_a_sigkilled_proj,
    redis_behind_cd_dies_with_a_sigkilled_proj,
    epmd_daemon_lives_while_its_instance_runs_and_stops_with_it,
    rabbitmq_boots_with_its_defaults_and_stops_with_its_epmd,
);

/// The program's path, or `None` (a skip) when it is not installed.
fn installed(program: &str) -> Option<String> {
    let found = [
        "/usr/lib/rabbitmq/bin",
        "/usr/sbin",
        "/usr/bin",
        "/usr/local/bin",
    ]
    .iter()
    .map(|dir| Path::new(dir).join(program))
    .find(|path| path.exists())
    .map(|path| path.display().to_string());
    if found.is_none() {
        assert!(
            std::env::var("PROJ_TEST_REAL").as_deref() != Ok("required"),
            "PROJ_TEST_REAL=required, but {program} is not installed"
        );
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// Every running process whose command name is `comm` and whose command line (as the
/// program may have rewritten it) contains `needle`.
fn pids_of(comm: &str, needle: &str) -> Vec<i32> {
    crate::support::pids()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                text.contains(needle)
            })
        })
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
        })
        .filter(|&pid| !is_gone(pid))
        .collect()
}

fn sigkill_proj_and_wait_for(proj: &Running, pids: &[i32]) {
    kill(Pid::from_raw(proj.pid()), Signal::SIGKILL).unwrap();
    for &pid in pids {
        wait_until(
            &format!("pid {pid} to be gone after proj's SIGKILL"),
            || is_gone(pid).then_some(()),
        );
    }
}

fn nginx_master_and_workers_die_with_a_sigkilled_proj(mode: Mode) {
    let Some(nginx) = installed("nginx") else {
        return;
    };
    let port = free_ports(1);
    let project = Project::empty();
    let config = format!(
        "[processes.nginx]\ncommand = \"{nginx} -p {root} -c nginx.conf -e stderr\"\n\
         ready = {{ http = \"http://127.0.0.1:{port}/\" }}\n",
        root = project.root().display()
    );
    project.write("proj.toml", &config);
    project.write(
        "nginx.conf",
        &format!(
            "daemon off;\nworker_processes 2;\npid nginx.pid;\nerror_log stderr;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path tmp/body;\n  \
             proxy_temp_path tmp/proxy;\n  fastcgi_temp_path tmp/fastcgi;\n  \
             uwsgi_temp_path tmp/uwsgi;\n  scgi_temp_path tmp/scgi;\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\\n\"; }} }}\n}}\n"
        ),
    );
    std::fs::create_dir(project.path("tmp")).unwrap();
    let proj = mode.up(&project);
    proj.wait_for("nginx: ready after");
    let root = project.root().display().to_string();
    let processes = wait_until("the master and two workers", || {
        let master = pids_of("nginx", &format!("master process {nginx} -p {root}"));
        let workers = pids_of("nginx", "nginx: worker");
        let workers: Vec<i32> = workers
            .into_iter()
            .filter(|worker| {
                master
                    .iter()
                    .any(|m| stat(*worker).is_some_and(|f| f[1] == m.to_string()))
            })
            .collect();
        (master.len() == 1 && workers.len() == 2).then(|| [master, workers].concat())
    });
    sigkill_proj_and_wait_for(&proj, &processes);
    // The port is free again: a new `proj up` can have it.
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    drop(proj);
    processes.iter().for_each(|&pid| kill_if_alive(pid));
}

fn redis_behind_cd_dies_with_a_sigkilled_proj(mode: Mode) {
    let Some(redis) = installed("redis-server") else {
        return;
    };
    let port = free_ports(1);
    let project = Project::new(&format!(
        "[processes.redis]\ncommand = \"cd var && {redis} --port {port} --bind 127.0.0.1 --save '' --appendonly no\"\n\
         ready = {{ tcp = \"{port}\" }}\n"
    ));
    std::fs::create_dir(project.path("var")).unwrap();
    let proj = mode.up(&project);
    proj.wait_for("redis: ready after");
    let servers = pids_of("redis-server", &port.to_string());
    assert_eq!(servers.len(), 1, "{servers:?}");
    sigkill_proj_and_wait_for(&proj, &servers);
    drop(proj);
    servers.iter().for_each(|&pid| kill_if_alive(pid));
}

fn epmd_daemon_lives_while_its_instance_runs_and_stops_with_it(mode: Mode) {
    let Some(epmd) = installed("epmd") else {
        return;
    };
    let port = free_ports(1);
    let project = Project::new(&format!(
        "[processes.broker]\ncommand = \"{epmd} -daemon -port {port} -address 127.0.0.1 && exec sleep 1000\"\n\
         ready = {{ tcp = \"{port}\" }}\n"
    ));
    let mut proj = mode.up(&project);
    proj.wait_for("broker: ready after");
    let daemons = pids_of("epmd", &format!("-port {port}"));
    assert_eq!(daemons.len(), 1, "{daemons:?}");
    let stop = mode
        .command(&project, &["stop", "broker"])
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(is_gone(daemons[0]), "epmd outlived its instance's stop");
    assert!(proj.stop().success());
    kill_if_alive(daemons[0]);
}

fn rabbitmq_boots_with_its_defaults_and_stops_with_its_epmd(mode: Mode) {
    // Debian's /usr/sbin/rabbitmq-server switches to the rabbitmq user with `su`; the
    // server itself is the script below it.
    let Some(server) = installed("rabbitmq-server") else {
        return;
    };
    let base = free_ports(3);
    let project = Project::empty();
    let root = project.root().display().to_string();
    project.write(
        "proj.toml",
        &format!(
            r#"
[processes.rabbit]
command = "{server}"
ready = {{ tcp = "{base}" }}
ready_timeout = "3m"
stop_timeout = "60s"

[processes.rabbit.env]
HOME = "{root}/home"
RABBITMQ_NODENAME = "rabbit{base}@localhost"
RABBITMQ_NODE_IP_ADDRESS = "127.0.0.1"
RABBITMQ_NODE_PORT = "{base}"
RABBITMQ_DIST_PORT = "{dist}"
ERL_EPMD_PORT = "{epmd}"
RABBITMQ_MNESIA_BASE = "{root}/var/mnesia"
RABBITMQ_LOG_BASE = "{root}/var/log"
RABBITMQ_ENABLED_PLUGINS_FILE = "{root}/var/enabled_plugins"
RABBITMQ_LOGS = "-"
"#,
            dist = base + 1,
            epmd = base + 2,
        ),
    );
    std::fs::create_dir_all(project.path("home")).unwrap();
    std::fs::create_dir_all(project.path("var")).unwrap();
    let mut proj = mode.up(&project);
    // Erlang boots slowly on two busy cores (8 s quiet, over 20 s under a parallel
    // build): a deadline of its own, as long as its ready_timeout.
    wait_until_within(
        std::time::Duration::from_secs(180),
        "RabbitMQ to boot",
        || {
            let text = proj.text();
            assert!(!text.contains("rabbit: failed"), "{text}");
            text.contains("rabbit: ready after").then_some(())
        },
    );
    let epmd = wait_until_within(std::time::Duration::from_secs(20), "epmd -daemon", || {
        let found = pids_of("epmd", "-daemon");
        found.into_iter().find(|&pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                String::from_utf8_lossy(&environ).contains(&format!("ERL_EPMD_PORT={}", base + 2))
            })
        })
    });
    let stop = mode
        .command(&project, &["stop", "rabbit"])
        .output()
        .unwrap();
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert!(is_gone(epmd), "epmd outlived RabbitMQ's stop");
    assert!(proj.stop().success());
    kill_if_alive(epmd);
}

#[test]
fn proj_signal_hup_makes_nginx_read_its_config_again() {
    // `nginx -s reload` is a SIGHUP to the master: `proj signal HUP nginx` is the same.
    let Some(nginx) = installed("nginx") else {
        return;
    };
    let port = free_ports(1);
    let project = Project::empty();
    let conf = |answer: &str| {
        format!(
            "daemon off;\nworker_processes 1;\npid nginx.pid;\nerror_log stderr;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path tmp/body;\n  \
             proxy_temp_path tmp/proxy;\n  fastcgi_temp_path tmp/fastcgi;\n  \
             uwsgi_temp_path tmp/uwsgi;\n  scgi_temp_path tmp/scgi;\n  \
             server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"{answer}\\n\"; }} }}\n}}\n"
        )
    };
    project.write(
        "proj.toml",
        &format!(
            "[processes.nginx]\ncommand = \"{nginx} -p {root} -c nginx.conf -e stderr\"\n\
             ready = {{ http = \"http://127.0.0.1:{port}/\" }}\n",
            root = project.root().display()
        ),
    );
    project.write("nginx.conf", &conf("first"));
    std::fs::create_dir(project.path("tmp")).unwrap();
    let mut proj = project.up(&[]);
    proj.wait_for("nginx: ready after");
    let get = || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        answer.lines().last().map(str::to_string)
    };
    assert_eq!(get().as_deref(), Some("first"));
    project.write("nginx.conf", &conf("second"));
    let output = project.run(&["signal", "HUP", "nginx"]);
    assert!(output.status.success(), "{}", output.stderr);
    wait_until("nginx to answer from its new config", || {
        (get().as_deref() == Some("second")).then_some(())
    });
    // Reloaded, not restarted: the master is the one proj started.
    assert!(!proj.text().contains("nginx: exited"), "{}", proj.text());
    assert!(proj.stop().success());
}
