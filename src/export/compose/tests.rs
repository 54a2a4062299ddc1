//! One test per mapped key: the typed Compose file, seen as JSON.

use serde_json::{Value as Json, json};

use super::*;

/// The file as JSON and the notes as text, for `config` in a fresh directory exported
/// into its `deploy/` (with `.env` when given).
fn export_json(config: &str, env_file: Option<&str>, image: Option<&str>) -> (Json, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proj.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    if let Some(text) = env_file {
        std::fs::write(dir.path().join(".env"), text).unwrap();
    }
    let plan = crate::config::load(&path).unwrap();
    let options = Options {
        image: image.map(str::to_owned),
        output_dir: plan.root.join("deploy"),
        workdir: "/app".into(),
    };
    let (file, notes) = build(&plan, &options);
    (
        serde_json::to_value(&file).unwrap(),
        notes.iter().map(Note::to_string).collect(),
    )
}

fn has_note(notes: &[String], needle: &str) -> bool {
    notes.iter().any(|note| note.contains(needle))
}

#[test]
fn a_process_is_a_service_built_from_the_project() {
    let (file, _) = export_json(
        "[project]\nname = \"Shop\"\n[processes.web]\ncommand = \"serve $PORT\"\nscale = 2\n",
        None,
        None,
    );
    assert!(file.get("name").is_none(), "docker-compose 1.29 refuses it");
    let web = &file["services"]["web"];
    assert_eq!(web["build"], "..");
    assert!(web.get("image").is_none());
    // `$$`: Compose would interpolate `$PORT` from the host. No `port`, so `$PORT` is
    // the image's: sh expands it, then becomes the program.
    assert_eq!(web["command"], json!(["sh", "-c", "exec serve $$PORT"]));
    assert_eq!(web["working_dir"], "/app");
    assert_eq!(web["deploy"], json!({"replicas": 2}));
    assert_eq!(web["restart"], "on-failure");
    assert_eq!(web["stop_signal"], "SIGTERM");
    assert_eq!(web["stop_grace_period"], "10s");
    // No .env: Compose refuses a missing env file.
    assert!(web.get("env_file").is_none());
}

#[test]
fn an_image_replaces_the_build() {
    let (file, _) = export_json("[processes.web]\ncommand = \"w\"\n", None, Some("shop:1"));
    assert_eq!(file["services"]["web"]["image"], "shop:1");
    assert!(file["services"]["web"].get("build").is_none());
}

#[test]
fn ports_are_published_as_proj_numbers_instances() {
    let (file, _) = export_json(
        "[processes.web]\ncommand = \"w\"\nport = 8000\nscale = 3\n[processes.db]\ncommand = \"d\"\nport = 5432\n",
        None,
        None,
    );
    assert_eq!(
        file["services"]["web"]["ports"],
        json!(["127.0.0.1:8000-8002:8000"])
    );
    assert_eq!(
        file["services"]["db"]["ports"],
        json!(["127.0.0.1:5432:5432"])
    );
    let environment = &file["services"]["web"]["environment"];
    assert_eq!(environment["PORT"], "8000");
    assert_eq!(environment["PROJ_PORT_DB"], "5432");
    assert!(environment.get("PROJ_INSTANCE").is_none());
    assert_eq!(file["services"]["db"]["environment"]["PROJ_INSTANCE"], "1");
}

#[test]
fn environment_is_resolved_and_dollars_escaped() {
    let (file, notes) = export_json(
        r#"[env]
PRICE = "$$5"
PATH = ".venv/bin:$PATH"
DB_URL = "postgres://app:${PASSWORD}@db/app"
[processes.web]
command = "w"
port = 80
env = { SELF = "http://web:$PORT", LEVEL = "debug" }
"#,
        Some("PASSWORD=hunter2\n"),
        None,
    );
    let web = &file["services"]["web"];
    assert_eq!(web["env_file"], json!(["../.env"]));
    let environment = &web["environment"];
    assert_eq!(environment["PRICE"], "$$5");
    assert_eq!(environment["SELF"], "http://web:80");
    assert_eq!(environment["LEVEL"], "debug");
    // The env file's values stay in the file; a value built from one is resolved
    // here (Compose cannot refer to it), and a note says compose.yaml holds it.
    assert!(environment.get("PASSWORD").is_none());
    assert_eq!(environment["DB_URL"], "postgres://app:hunter2@db/app");
    assert!(has_note(
        &notes,
        "`env.DB_URL` refers to an env file's value"
    ));
    assert_eq!(
        environment["PATH"],
        format!(".venv/bin:{}", super::super::DEFAULT_PATH)
    );
    // No shell before the program.
    assert_eq!(web["command"], json!(["w"]));
    assert!(has_note(&notes, "`env.PATH` refers to $PATH"));
}

#[test]
fn ready_becomes_a_healthcheck_that_needs_only_sh() {
    let (file, notes) = export_json(
        r#"[processes.db]
command = "db"
port = 5432
ready = { tcp = "$PORT" }
ready_timeout = "30s"
[processes.web]
command = "web"
port = 8000
ready = { http = "http://127.0.0.1:$PORT/health" }
[processes.check]
command = "check"
cwd = "sub"
ready = { exec = "test -f ready" }
[processes.logs]
command = "logs"
ready = { log = "up" }
"#,
        None,
        None,
    );
    let db = &file["services"]["db"]["healthcheck"];
    assert_eq!(db["test"][0], "CMD-SHELL");
    assert!(
        db["test"][1]
            .as_str()
            .unwrap()
            .contains("*:1538:0A) exit 0")
    );
    assert_eq!(db["start_period"], "30s");
    assert_eq!(db["interval"], "2s");
    assert_eq!(db["retries"], 3);
    let web = file["services"]["web"]["healthcheck"]["test"][1]
        .as_str()
        .unwrap();
    assert!(web.contains("curl -fsS -o /dev/null 'http://127.0.0.1:8000/health'"));
    assert!(
        web.contains("*:1F40:0A) exit 0"),
        "falls back to the port: {web}"
    );
    assert!(has_note(
        &notes,
        "web: `ready` = { http }: the healthcheck uses curl"
    ));
    assert_eq!(
        file["services"]["check"]["healthcheck"]["test"][1],
        "test -f ready"
    );
    assert_eq!(file["services"]["check"]["working_dir"], "/app/sub");
    assert!(file["services"]["logs"].get("healthcheck").is_none());
    assert!(has_note(&notes, "logs: `ready` = { log } is left out"));
}

#[test]
fn depends_on_conditions_follow_the_dependency() {
    let (file, _) = export_json(
        r#"[processes.db]
command = "db"
port = 5432
ready = { tcp = "5432" }
[processes.cache]
command = "cache"
[processes.migrate]
command = "m"
oneshot = true
[processes.web]
command = "w"
depends_on = ["db", "cache", "migrate"]
"#,
        None,
        None,
    );
    assert_eq!(
        file["services"]["web"]["depends_on"],
        json!({
            "cache": {"condition": "service_started"},
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        })
    );
    assert_eq!(file["services"]["migrate"]["restart"], "no");
}

#[test]
fn restart_stop_user_and_autostart_map_to_their_fields() {
    let (file, notes) = export_json(
        r#"[processes.web]
command = "w"
restart = "always"
stop_signal = "QUIT"
stop_timeout = "1500ms"
user = "www-data"
[processes.tool]
command = "t"
restart = "never"
autostart = false
"#,
        None,
        None,
    );
    let web = &file["services"]["web"];
    assert_eq!(web["restart"], "always");
    assert_eq!(web["stop_signal"], "SIGQUIT");
    assert_eq!(web["stop_grace_period"], "1500ms");
    assert_eq!(web["user"], "www-data");
    let tool = &file["services"]["tool"];
    assert_eq!(tool["restart"], "no");
    assert_eq!(tool["profiles"], json!(["manual"]));
    assert!(has_note(&notes, "docker compose --profile manual up tool"));
}

#[test]
fn paths_are_relative_to_the_compose_file() {
    assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/b")), ".");
    assert_eq!(
        relative_path(Path::new("/a/b/deploy"), Path::new("/a/b")),
        ".."
    );
    assert_eq!(
        relative_path(Path::new("/x/y"), Path::new("/a/.env")),
        "../../a/.env"
    );
}

#[test]
fn health_is_the_healthcheck_without_ready() {
    let (file, notes) = export_json(
        r#"[processes.worker]
command = "work"
health = { exec = "test -f alive", interval = "30s", timeout = "5s", retries = 2 }
[processes.web]
command = "web"
port = 8000
ready = { tcp = "$PORT" }
health = { exec = "test -f alive" }
"#,
        None,
        None,
    );
    let worker = &file["services"]["worker"]["healthcheck"];
    assert_eq!(
        *worker,
        json!({
            "test": ["CMD-SHELL", "test -f alive"],
            "interval": "30s",
            "timeout": "5s",
            "retries": 2,
            "start_period": "0s"
        })
    );
    let web = &file["services"]["web"]["healthcheck"];
    assert_eq!(web["interval"], "2s", "ready's check");
    assert!(has_note(&notes, "web: `health` is left out"));
    assert!(!has_note(&notes, "worker: `health`"));
}

#[test]
fn a_scheduled_process_is_a_service_run_by_the_host() {
    let (file, notes) = export_json(
        r#"[processes.report]
command = "report"
oneshot = true
schedule = "0 3 * * *"
[processes.web]
command = "web"
depends_on = ["report"]
"#,
        None,
        None,
    );
    let report = &file["services"]["report"];
    assert_eq!(report["profiles"], json!(["scheduled"]));
    assert_eq!(report["command"], json!(["report"]));
    assert!(file["services"]["web"].get("depends_on").is_none());
    assert!(has_note(&notes, "docker compose run --rm report"));
}

#[test]
fn max_memory_and_tty_map_to_the_service() {
    let (file, _) = export_json(
        r#"[processes.web]
command = "web"
max_memory = "512MiB"
tty = true
[processes.odd]
command = "odd"
max_memory = "1MB"
[processes.plain]
command = "plain"
"#,
        None,
        None,
    );
    let web = &file["services"]["web"];
    assert_eq!(
        web["deploy"]["resources"],
        json!({"limits": {"memory": "512m"}})
    );
    assert_eq!(web["tty"], true);
    assert_eq!(web["stdin_open"], true);
    assert_eq!(
        file["services"]["odd"]["deploy"]["resources"]["limits"]["memory"],
        "1000000b"
    );
    let plain = &file["services"]["plain"];
    assert!(plain["deploy"].get("resources").is_none());
    assert!(plain.get("tty").is_none());
    assert!(plain.get("stdin_open").is_none());
}

#[test]
fn a_stop_sequence_loses_no_signal() {
    let (file, notes) = export_json(
        r#"[processes.sidekiq]
command = "bundle exec sidekiq"
stop_target = "main"
stop_sequence = [{ signal = "TSTP", wait = "25s" }, { signal = "TERM", wait = "10s" }]
[processes.drain]
command = "d"
stop_sequence = [{ signal = "USR1", wait = "5s" }, { command = "echo bye", wait = "2s" }]
"#,
        None,
        None,
    );
    let sidekiq = &file["services"]["sidekiq"];
    // TSTP in the hook, waited for; then TERM as the stop signal, with its own wait.
    assert_eq!(sidekiq["stop_signal"], "SIGTERM");
    assert_eq!(sidekiq["stop_grace_period"], "10s");
    let hook = sidekiq["pre_stop"][0]["command"][2].as_str().unwrap();
    assert!(hook.starts_with("kill -s TSTP 1 2>/dev/null; "), "{hook}");
    assert!(hook.contains("$$waited -lt 25"), "{hook}");
    assert!(hook.ends_with("exit 0"), "{hook}");
    assert!(!hook.contains("TERM"), "{hook}");
    // Ending with a command: all of it in the hook, then SIGKILL.
    let drain = &file["services"]["drain"];
    assert_eq!(drain["stop_signal"], "SIGKILL");
    assert!(
        drain["pre_stop"][0]["command"][2]
            .as_str()
            .unwrap()
            .contains("( echo bye ) &")
    );
    assert!(has_note(&notes, "Docker Compose 2.30 or later"));
}

#[test]
fn state_directories_are_named_volumes() {
    let (file, _) = export_json(
        r#"[processes.db]
command = "postgres -D var/postgres -p $PORT"
port = 5432
state = ["var/postgres"]
[processes.web]
command = "web --db $PROJ_HOST_DB:$PROJ_PORT_DB"
"#,
        None,
        None,
    );
    assert_eq!(
        file["services"]["db"]["volumes"],
        json!(["db-var-postgres:/app/var/postgres"])
    );
    assert_eq!(file["volumes"], json!({"db-var-postgres": {}}));
    // Resolved at export: Compose cannot expand the container's variables.
    assert_eq!(
        file["services"]["db"]["command"],
        json!(["postgres", "-D", "var/postgres", "-p", "5432"])
    );
    assert_eq!(
        file["services"]["web"]["command"],
        json!(["web", "--db", "db:5432"])
    );
    assert_eq!(file["services"]["web"]["environment"]["PROJ_HOST_DB"], "db");
    assert_eq!(file["services"]["web"]["environment"]["PROJ_ROOT"], "/app");
    assert_eq!(
        file["services"]["web"]["environment"]["PROJ_LISTEN_HOST"],
        "0.0.0.0"
    );
}

#[test]
fn a_command_referring_to_an_env_file_value_is_expanded_by_the_container() {
    let (file, _) = export_json(
        "[processes.web]\ncommand = \"serve --db $DB_URL '$HOME'\"\n",
        Some("DB_URL=postgres://secret@db/app\n"),
        None,
    );
    // The value stays in the env file: sh expands it, then becomes the program.
    assert_eq!(
        file["services"]["web"]["command"],
        json!(["sh", "-c", "exec serve --db $$DB_URL '$$HOME'"])
    );
}
