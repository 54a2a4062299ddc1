//! `$NAME`, `${NAME}`, `${NAME:-default}` and `$$` through every layer of the
//! environment (SPEC §2), `PROJ_PORT_<NAME>`, `port = "auto"`, and what `proj check`
//! says about references.

use crate::support::*;

fn env_lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn references_resolve_through_env_files_env_and_process_env() {
    let project = Project::new(
        r#"
[project]
env_file = [".env", "local.env"]

[env]
PATH = ".venv/bin:$PATH"
DATABASE_URL = "postgres://${DB_HOST}/${DB_NAME:-shop_dev}"
API_URL = "http://127.0.0.1:${PROJ_PORT_API}"
PRICE = "5$$"

[processes.api]
command = "exec sleep 1000"
port = "auto"

[processes.web]
command = "env > env.$PROJ_INSTANCE.txt; exec sleep 1000"
port = 8100
scale = 2
env = { SELF = "http://127.0.0.1:$PORT/$PROJ_PROCESS/${PROJ_INSTANCE}", GREETING = "$GREETING, world" }
"#,
    );
    project.write(
        ".env",
        "DB_HOST=localhost\nGREETING=hello\nQUOTED='$DB_HOST stays'\nESCAPED=\"\\$DB_HOST\"\n",
    );
    project.write("local.env", "DB_HOST=db.$DB_HOST\n");
    let mut proj = project.up(&[]);
    proj.wait_for("web.2: started pid");
    let ps = project.run(&["ps", "--json"]);
    let instances: serde_json::Value = serde_json::from_str(&ps.stdout).expect("json");
    let api_port = instances
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "api")
        .and_then(|i| i["port"].as_u64())
        .expect("api has its auto port in ps");
    for (instance, port) in [("1", "8100"), ("2", "8101")] {
        let env =
            env_lines(&project.wait_for_file_content(&format!("env.{instance}.txt"), "SELF="));
        let has = |line: &str| env.iter().any(|l| l == line);
        let path = env.iter().find(|l| l.starts_with("PATH=")).unwrap();
        let venv = project.root().canonicalize().unwrap().join(".venv/bin");
        assert!(
            path.starts_with(&format!("PATH={}:/", venv.display())),
            "{path}"
        );
        assert!(
            has("DATABASE_URL=postgres://db.localhost/shop_dev"),
            "{env:?}"
        );
        assert!(
            has(&format!("API_URL=http://127.0.0.1:{api_port}")),
            "{env:?}"
        );
        assert!(has(&format!("PROJ_PORT_API={api_port}")), "{env:?}");
        assert!(has("PROJ_PORT_WEB=8100"), "{env:?}");
        assert!(has("PRICE=5$"), "{env:?}");
        assert!(has("QUOTED=$DB_HOST stays"), "{env:?}");
        assert!(has("ESCAPED=$DB_HOST"), "{env:?}");
        assert!(has("GREETING=hello, world"), "{env:?}");
        assert!(
            has(&format!("SELF=http://127.0.0.1:{port}/web/{instance}")),
            "{env:?}"
        );
    }
    assert!(proj.stop().success());
}

#[test]
fn an_auto_port_is_free_and_stays_the_same_across_a_reload() {
    let project = Project::new(
        r#"
[processes.api]
command = "python3 -m http.server $PORT --bind 127.0.0.1"
port = "auto"
ready = { tcp = "$PORT" }
"#,
    );
    let check = project.run(&["check"]);
    assert!(check.stdout.contains("api       auto"), "{}", check.stdout);
    let mut proj = project.up(&[]);
    proj.wait_for("api: ready");
    let port_of = || {
        let ps = project.run(&["ps", "--json"]);
        let instances: serde_json::Value = serde_json::from_str(&ps.stdout).expect("json");
        instances[0]["port"].as_u64().expect("a port")
    };
    let first = port_of();
    let check = project.run(&["check"]);
    assert!(
        check.stdout.contains(&format!("api       {first}")),
        "check shows the running supervisor's port: {}",
        check.stdout
    );
    project.write(
        "proj.toml",
        r#"
[processes.api]
command = "python3 -m http.server $PORT --bind 127.0.0.1 # changed"
port = "auto"
ready = { tcp = "$PORT" }
"#,
    );
    let reload = project.run(&["reload"]);
    assert!(reload.status.success(), "{}", reload.stderr);
    assert_eq!(port_of(), first);
    assert!(proj.stop().success());
}

#[test]
fn check_warns_about_unset_names_with_their_place() {
    let project = Project::new(
        "[env]\nURL = \"http://${PROJ_TEST_SURELY_UNSET}/x\"\nOK = \"${PROJ_TEST_SURELY_UNSET:-fine}\"\n\n[processes]\nweb = \"true\"\n",
    );
    project.write(".env", "A=1\nB=$A-$PROJ_TEST_ALSO_UNSET\n");
    let output = project.run(&["check"]);
    assert!(output.status.success(), "{}", output.stderr);
    assert_eq!(
        output.stderr,
        "warning: variable `PROJ_TEST_ALSO_UNSET` is not set
 --> .env:2:6
  |
2 | B=$A-$PROJ_TEST_ALSO_UNSET
  |      ^^^^^^^^^^^^^^^^^^^^^ expands to the empty string
  |
  = help: set `PROJ_TEST_ALSO_UNSET` in proj's environment, an env file or `[env]`, or give a default: `${PROJ_TEST_ALSO_UNSET:-value}`

warning: variable `PROJ_TEST_SURELY_UNSET` is not set
 --> proj.toml:2:15
  |
2 | URL = \"http://${PROJ_TEST_SURELY_UNSET}/x\"
  |               ^^^^^^^^^^^^^^^^^^^^^^^^^ expands to the empty string
  |
  = help: set `PROJ_TEST_SURELY_UNSET` in proj's environment, an env file or `[env]`, or give a default: `${PROJ_TEST_SURELY_UNSET:-value}`

"
    );
}

#[test]
fn an_unclosed_reference_is_a_config_error_with_a_caret() {
    let project =
        Project::new("[env]\nPATH = \".venv/bin:${PATH\"\n\n[processes]\nweb = \"true\"\n");
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        output.stderr.trim_end(),
        "error: invalid variable reference in `PATH` in `[env]`
 --> proj.toml:2:19
  |
2 | PATH = \".venv/bin:${PATH\"
  |                   ^^ this `${` is never closed
  |
  = help: close the reference with `}`: `${NAME}`; write `$$` for a literal `$`"
    );
    let up = project.run(&["up", "--no-tui"]);
    assert_eq!(up.status.code(), Some(2));
    assert!(!project.path(".proj").exists(), "nothing started");

    project.write("proj.toml", "[processes]\nweb = \"true\"\n");
    project.write(".env", "A=1\nB=${A\n");
    let output = project.run(&["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stderr.contains(" --> .env:2:3"), "{}", output.stderr);
}

#[test]
fn a_venv_on_path_in_env_satisfies_requires_and_a_missing_program_names_the_path() {
    let project = Project::new(
        r#"
[project]
requires = ["proj-test-tool"]

[env]
PATH = ".venv/bin:$PATH"

[processes]
web = "proj-test-tool > ran.txt; exec sleep 1000"
"#,
    );
    let missing = project.run(&["up", "--no-tui"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        missing
            .stderr
            .contains("missing required program: proj-test-tool"),
        "{}",
        missing.stderr
    );
    // A relative entry of `[env]`'s PATH is the project's (SPEC §9.2), whatever a
    // process's `cwd`.
    let venv = project.root().canonicalize().unwrap().join(".venv/bin");
    assert!(
        missing
            .stderr
            .contains(&format!("= note: searched PATH={}:/", venv.display())),
        "{}",
        missing.stderr
    );
    project.write(
        ".venv/bin/proj-test-tool",
        "#!/bin/sh\necho from the venv\n",
    );
    std::fs::set_permissions(
        project.path(".venv/bin/proj-test-tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut proj = project.up(&[]);
    project.wait_for_file("ran.txt");
    assert_eq!(project.read("ran.txt"), "from the venv\n");
    assert!(proj.stop().success());
}

#[test]
fn a_detached_run_keeps_the_auto_port_that_setup_saw() {
    let project = Project::new(
        r#"
[[setup]]
name = "note the port"
command = "echo $PROJ_PORT_API > setup-port.txt"

[processes.api]
command = "echo $PORT > run-port.txt; exec sleep 1000"
port = "auto"
"#,
    );
    let up = project.run(&["up", "-d"]);
    let _detached = Detached(&project);
    assert!(up.status.success(), "{}", up.stderr);
    let during_setup = project.wait_for_file("setup-port.txt");
    let at_run = project.wait_for_file("run-port.txt");
    assert!(during_setup.parse::<u16>().is_ok(), "{during_setup}");
    assert_eq!(during_setup, at_run);
}
