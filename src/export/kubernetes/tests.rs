//! One test per mapped key: the typed objects, seen as JSON (the same shape as the YAML).

use serde_json::{Value as Json, json};

use super::*;

/// A plan from `config` in a fresh directory (with a `sub` directory for `cwd`), with
/// `.env` when `env_file` is given.
fn plan_with(config: &str, env_file: Option<&str>) -> (Plan, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proj.toml");
    std::fs::write(&path, config).unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    if let Some(text) = env_file {
        std::fs::write(dir.path().join(".env"), text).unwrap();
    }
    (crate::config::load(&path).unwrap(), dir)
}

fn options() -> Options {
    Options {
        image: "shop:1".into(),
        namespace: None,
        init_oneshots: true,
        workdir: "/app".into(),
    }
}

/// The objects as JSON, and the notes as text.
fn export_json(
    config: &str,
    env_file: Option<&str>,
    options: &Options,
) -> (Vec<Json>, Vec<String>) {
    let (plan, _dir) = plan_with(config, env_file);
    let (objects, notes) = build(&plan, options).unwrap();
    (
        objects
            .iter()
            .map(|object| serde_json::to_value(object).unwrap())
            .collect(),
        notes.iter().map(Note::to_string).collect(),
    )
}

fn object<'a>(objects: &'a [Json], kind: &str, name: &str) -> &'a Json {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {objects:#?}"))
}

fn container<'a>(objects: &'a [Json], kind: &str, name: &str) -> &'a Json {
    &object(objects, kind, name)["spec"]["template"]["spec"]["containers"][0]
}

fn env_value<'a>(container: &'a Json, name: &str) -> Option<&'a Json> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| &e["value"])
}

fn has_note(notes: &[String], needle: &str) -> bool {
    notes.iter().any(|note| note.contains(needle))
}

#[test]
fn a_service_is_a_deployment_with_replicas_from_scale() {
    let (objects, _) = export_json(
        "[processes.worker]\ncommand = \"work $ARG\"\nscale = 3\n",
        None,
        &options(),
    );
    let deployment = object(&objects, "Deployment", "worker");
    assert_eq!(deployment["apiVersion"], "apps/v1");
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(
        deployment["spec"]["selector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "worker", "app.kubernetes.io/part-of": deployment["metadata"]["labels"]["app.kubernetes.io/part-of"]})
    );
    let container = container(&objects, "Deployment", "worker");
    assert_eq!(container["image"], "shop:1");
    // `$ARG` is not the config's: sh expands it from the image's environment, then
    // becomes the program (`$` doubled: Kubernetes expands `$(NAME)` in commands).
    assert_eq!(container["command"], json!(["sh", "-c", "exec work $$ARG"]));
    assert_eq!(container["workingDir"], "/app");
    assert!(env_value(container, "PROJ_INSTANCE").is_none());
    assert_eq!(env_value(container, "PROJ_PROCESS"), Some(&json!("worker")));
    assert!(!objects.iter().any(|o| o["kind"] == "Service"));
}

#[test]
fn a_port_is_a_container_port_port_variable_and_service() {
    let (objects, _) = export_json(
        "[processes.web]\ncommand = \"web\"\nport = 8000\nscale = 2\n",
        None,
        &options(),
    );
    let container = container(&objects, "Deployment", "web");
    assert_eq!(
        container["ports"],
        json!([{"name": "main", "containerPort": 8000, "protocol": "TCP"}])
    );
    // Every pod has its own address: the same PORT in each replica.
    assert_eq!(env_value(container, "PORT"), Some(&json!("8000")));
    assert_eq!(env_value(container, "PROJ_PORT_WEB"), Some(&json!("8000")));
    let service = object(&objects, "Service", "web");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "main", "port": 8000, "targetPort": "main", "protocol": "TCP"}])
    );
    assert_eq!(
        service["spec"]["selector"],
        object(&objects, "Deployment", "web")["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn env_files_are_a_secret_and_project_env_a_config_map() {
    let (objects, notes) = export_json(
        r#"[project]
name = "shop"
[env]
MODE = "prod"
URL = "postgres://app:${PASSWORD}@db/app"
[processes.web]
command = "web"
env = { LEVEL = "debug", MODE = "dev" }
"#,
        Some("PASSWORD=hunter2\n"),
        &options(),
    );
    let config_map = object(&objects, "ConfigMap", "shop-env");
    assert_eq!(config_map["data"], json!({"MODE": "prod"}));
    let secret = object(&objects, "Secret", "shop-env-files");
    assert_eq!(secret["stringData"], json!({"PASSWORD": "hunter2"}));
    assert_eq!(secret["type"], "Opaque");
    let container = container(&objects, "Deployment", "web");
    assert_eq!(
        container["envFrom"],
        json!([{"secretRef": {"name": "shop-env-files", "optional": true}}, {"configMapRef": {"name": "shop-env"}}])
    );
    assert_eq!(env_value(container, "MODE"), Some(&json!("dev")));
    assert_eq!(env_value(container, "LEVEL"), Some(&json!("debug")));
    // A dependent variable: Kubernetes expands it from the Secret.
    assert_eq!(
        env_value(container, "URL"),
        Some(&json!("postgres://app:$(PASSWORD)@db/app"))
    );
    assert!(has_note(&notes, "Secret shop-env-files in plain text"));
}

#[test]
fn references_kubernetes_cannot_expand_are_resolved_at_export() {
    let (objects, notes) = export_json(
        r#"[env]
PATH = ".venv/bin:$PATH"
LEVEL = "${LOG_LEVEL:-info}"
PRICE = "$$5"
[processes.web]
command = "web"
env = { SELF = "http://web:$PORT/$PROJ_PROCESS" }
port = 80
"#,
        None,
        &options(),
    );
    let container = container(&objects, "Deployment", "web");
    // No shell before the program: the values are in the environment.
    assert_eq!(container["command"], json!(["web"]));
    assert_eq!(
        env_value(container, "PATH"),
        Some(&json!(format!(".venv/bin:{}", super::super::DEFAULT_PATH)))
    );
    assert_eq!(env_value(container, "LEVEL"), Some(&json!("info")));
    assert_eq!(
        env_value(container, "SELF"),
        Some(&json!("http://web:$(PORT)/$(PROJ_PROCESS)"))
    );
    // `$$` is a literal `$`; envFrom values are not expanded by Kubernetes.
    let config_map = objects.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    assert_eq!(config_map["data"], json!({"PRICE": "$5"}));
    assert!(has_note(&notes, "`env.PATH` refers to $PATH"));
    assert!(has_note(&notes, "`env.LEVEL` refers to $LOG_LEVEL"));
    // The variables a dependent one references come before it.
    let names: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let position = |name| names.iter().position(|n| *n == name).unwrap();
    assert!(position("PORT") < position("SELF"), "{names:?}");
}

#[test]
fn ready_becomes_readiness_and_startup_probes() {
    let (objects, notes) = export_json(
        r#"[processes.db]
command = "db"
port = 5432
ready = { tcp = "$PORT" }
[processes.web]
command = "web"
port = 8000
ready = { http = "http://127.0.0.1:$PORT/health?full=1" }
ready_timeout = "61s"
[processes.check]
command = "check"
cwd = "sub"
ready = { exec = "test -f ready" }
[processes.logs]
command = "logs"
ready = { log = "listening" }
"#,
        None,
        &options(),
    );
    let db = container(&objects, "Deployment", "db");
    assert_eq!(
        db["readinessProbe"],
        json!({"tcpSocket": {"port": 5432}, "periodSeconds": 2, "timeoutSeconds": 1, "failureThreshold": 3})
    );
    // ready_timeout 60s by default: 30 probes 2s apart.
    assert_eq!(db["startupProbe"]["failureThreshold"], 30);
    let web = container(&objects, "Deployment", "web");
    assert_eq!(
        web["readinessProbe"]["httpGet"],
        json!({"path": "/health?full=1", "port": 8000, "scheme": "HTTP"})
    );
    assert_eq!(web["startupProbe"]["failureThreshold"], 31);
    let check = container(&objects, "Deployment", "check");
    assert_eq!(
        check["readinessProbe"]["exec"]["command"],
        json!(["sh", "-c", "test -f ready"])
    );
    assert_eq!(check["readinessProbe"]["timeoutSeconds"], 10);
    assert_eq!(check["command"], json!(["check"]));
    assert_eq!(check["workingDir"], "/app/sub");
    let logs = container(&objects, "Deployment", "logs");
    assert!(logs.get("readinessProbe").is_none());
    assert!(has_note(&notes, "logs: `ready` = { log } is left out"));
}

#[test]
fn http_urls_are_split_for_the_probe() {
    use super::probes::HttpUrl;
    assert_eq!(
        HttpUrl::parse("https://example.com/x"),
        Some(HttpUrl {
            https: true,
            host: "example.com".into(),
            port: 443,
            path: "/x".into()
        })
    );
    assert_eq!(
        HttpUrl::parse("http://[::1]:81"),
        Some(HttpUrl {
            https: false,
            host: "[::1]".into(),
            port: 81,
            path: "/".into()
        })
    );
    assert_eq!(HttpUrl::parse("ftp://x"), None);
}

#[test]
fn stop_timeout_is_the_grace_period_and_stop_signal_a_pre_stop_hook() {
    let (objects, _) = export_json(
        r#"[processes.web]
command = "web"
stop_timeout = "2500ms"
[processes.worker]
command = "worker"
stop_signal = "QUIT"
stop_timeout = "25s"
"#,
        None,
        &options(),
    );
    let web = &object(&objects, "Deployment", "web")["spec"]["template"]["spec"];
    assert_eq!(web["terminationGracePeriodSeconds"], 3);
    assert!(web["containers"][0].get("lifecycle").is_none());
    let worker = &object(&objects, "Deployment", "worker")["spec"]["template"]["spec"];
    assert_eq!(worker["terminationGracePeriodSeconds"], 25);
    let hook = &worker["containers"][0]["lifecycle"]["preStop"]["exec"]["command"];
    assert_eq!(hook[0], "sh");
    let script = hook[2].as_str().unwrap();
    assert!(
        script.starts_with("kill -s QUIT 1 2>/dev/null; kill -s QUIT -- -1 2>/dev/null;"),
        "{script}"
    );
    assert!(script.contains("[ $waited -lt 25 ]"), "{script}");
}

#[test]
fn a_stop_sequence_is_the_pre_stop_hook_and_its_waits_the_grace_period() {
    let (objects, _) = export_json(
        r#"[processes.sidekiq]
command = "sidekiq"
stop_sequence = [{ signal = "TSTP", wait = "25s" }, { signal = "TERM", wait = "10s" }]
[processes.celery]
command = "celery worker"
stop_target = "main"
stop_sequence = [{ signal = "TERM", wait = "30s" }, { command = "celery control shutdown", wait = "5s" }]
"#,
        None,
        &options(),
    );
    let sidekiq = &object(&objects, "Deployment", "sidekiq")["spec"]["template"]["spec"];
    assert_eq!(sidekiq["terminationGracePeriodSeconds"], 35);
    let script = sidekiq["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][2]
        .as_str()
        .unwrap();
    let tstp = script
        .find("kill -s TSTP -- -1")
        .expect("TSTP to the group");
    let term = script
        .find("kill -s TERM -- -1")
        .expect("then TERM to the group");
    assert!(tstp < term, "{script}");
    let celery = &object(&objects, "Deployment", "celery")["spec"]["template"]["spec"];
    assert_eq!(celery["terminationGracePeriodSeconds"], 35);
    let script = celery["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][2]
        .as_str()
        .unwrap();
    assert!(
        script.starts_with("kill -s TERM 1 2>/dev/null; waited=0;"),
        "{script}"
    );
    assert!(!script.contains("-- -1"), "main only: {script}");
    assert!(
        script.contains("( celery control shutdown ) & "),
        "{script}"
    );
}

#[test]
fn depends_on_holds_the_pod_back_with_init_containers() {
    let config = r#"[processes.db]
command = "db"
port = 5432
[processes.migrate]
command = "migrate"
oneshot = true
depends_on = ["db"]
[processes.cache]
command = "cache"
[processes.web]
command = "web"
depends_on = ["db", "migrate", "cache"]
"#;
    let (objects, notes) = export_json(config, None, &options());
    let spec = &object(&objects, "Deployment", "web")["spec"]["template"]["spec"];
    let init: Vec<&str> = spec["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The Job's completion, not a second run of migrate.
    assert_eq!(init, ["wait-db", "wait-migrate"]);
    let wait = &spec["initContainers"][0];
    assert_eq!(wait["image"], "shop:1");
    assert!(
        wait["command"][2]
            .as_str()
            .unwrap()
            .contains("nc -z -w 2 db 5432")
    );
    let wait = &spec["initContainers"][1];
    assert!(
        wait["command"][2]
            .as_str()
            .unwrap()
            .contains("/jobs/migrate\"")
    );
    // It reads the Job with an account that may do only that.
    let account = spec["serviceAccountName"].as_str().unwrap();
    assert!(account.ends_with("-oneshots"), "{account}");
    let role = objects.iter().find(|o| o["kind"] == "Role").unwrap();
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": ["batch"], "resources": ["jobs"], "resourceNames": ["migrate"], "verbs": ["get"]}])
    );
    assert!(objects.iter().any(|o| o["kind"] == "RoleBinding"));
    // The Job itself waits for db, and never runs anything else first.
    let job = &object(&objects, "Job", "migrate")["spec"]["template"]["spec"];
    assert_eq!(job["initContainers"].as_array().unwrap().len(), 1);
    assert!(job.get("serviceAccountName").is_none());
    assert!(has_note(
        &notes,
        "`cache` has no port, so no Service to wait for"
    ));

    let mut once = options();
    once.init_oneshots = false;
    let (objects, notes) = export_json(config, None, &once);
    let spec = &object(&objects, "Deployment", "web")["spec"]["template"]["spec"];
    assert_eq!(spec["initContainers"].as_array().unwrap().len(), 1);
    assert!(has_note(&notes, "without waiting for the Job migrate"));
    assert!(!objects.iter().any(|o| o["kind"] == "Role"));
}

#[test]
fn a_oneshot_is_a_job_retried_as_restart_says() {
    let (objects, _) = export_json(
        r#"[processes.migrate]
command = "migrate"
oneshot = true
[processes.seed]
command = "seed"
oneshot = true
restart = "on-failure"
max_restarts = 4
scale = 2
"#,
        None,
        &options(),
    );
    let migrate = object(&objects, "Job", "migrate");
    assert_eq!(migrate["apiVersion"], "batch/v1");
    assert_eq!(migrate["spec"]["backoffLimit"], 0);
    assert_eq!(
        migrate["spec"]["template"]["spec"]["restartPolicy"],
        "Never"
    );
    assert!(migrate["spec"].get("suspend").is_none());
    let seed = object(&objects, "Job", "seed");
    assert_eq!(seed["spec"]["backoffLimit"], 4);
    assert_eq!(seed["spec"]["completions"], 2);
    assert_eq!(seed["spec"]["parallelism"], 2);
    assert_eq!(
        seed["spec"]["template"]["spec"]["restartPolicy"],
        "OnFailure"
    );
}

#[test]
fn autostart_false_is_zero_replicas_unless_something_needs_it() {
    let (objects, notes) = export_json(
        r#"[processes.manual]
command = "m"
autostart = false
[processes.db]
command = "db"
autostart = false
[processes.web]
command = "web"
depends_on = ["db"]
[processes.once]
command = "o"
oneshot = true
autostart = false
"#,
        None,
        &options(),
    );
    assert_eq!(
        object(&objects, "Deployment", "manual")["spec"]["replicas"],
        0
    );
    assert_eq!(object(&objects, "Deployment", "db")["spec"]["replicas"], 1);
    assert_eq!(object(&objects, "Job", "once")["spec"]["suspend"], true);
    assert!(has_note(
        &notes,
        "kubectl scale deployment/manual --replicas=1"
    ));
}

#[test]
fn what_has_no_counterpart_is_named_on_stderr() {
    let (_, notes) = export_json(
        r#"[[setup]]
name = "deps"
command = "true"
[processes.web]
command = "web"
watch = ["src/**"]
user = "www-data"
restart = "never"
backoff = "1s"
"#,
        None,
        &options(),
    );
    for needle in [
        "`setup` is left out",
        "web: `watch` is left out",
        "web: `user` is left out",
        "web: `restart` = \"never\"",
        "web: `backoff` is left out",
    ] {
        assert!(has_note(&notes, needle), "{needle} in {notes:#?}");
    }
}

#[test]
fn names_become_dns_labels_and_the_namespace_is_set() {
    let mut options = options();
    options.namespace = Some("prod".into());
    let (objects, _) = export_json(
        "[project]\nname = \"My Shop\"\n[processes.Web_API]\ncommand = \"x\"\n",
        None,
        &options,
    );
    let deployment = object(&objects, "Deployment", "web-api");
    assert_eq!(deployment["metadata"]["namespace"], "prod");
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "My-Shop"
    );
    let (plan, _dir) = plan_with(
        "[processes.a_b]\ncommand = \"x\"\n[processes.a-b]\ncommand = \"y\"\n",
        None,
    );
    let error = build(&plan, &self::options()).unwrap_err();
    assert!(error.contains("both become `a-b`"), "{error}");
}

#[test]
fn the_same_plan_exports_the_same_bytes() {
    let (plan, _dir) = plan_with(
        "[env]\nB = \"2\"\nA = \"1\"\n[processes.web]\ncommand = \"web\"\nport = 80\n",
        Some("Z=1\nY=2\n"),
    );
    let first = export(&plan, &options()).unwrap();
    let second = export(&plan, &options()).unwrap();
    assert_eq!(first, second);
    assert!(
        first
            .content
            .starts_with("# Generated by `proj export kubernetes` from proj.toml")
    );
    assert_eq!(first.content.matches("\n---\n").count(), 4);
}

#[test]
fn env_files_missing_at_export_are_an_optional_secret() {
    let (objects, notes) = export_json("[processes.web]\ncommand = \"web\"\n", None, &options());
    assert!(!objects.iter().any(|o| o["kind"] == "Secret"));
    let container = container(&objects, "Deployment", "web");
    assert_eq!(container["envFrom"][0]["secretRef"]["optional"], true);
    assert!(has_note(&notes, "--from-env-file=.env"), "{notes:#?}");
}

#[test]
fn health_becomes_a_liveness_probe() {
    let (objects, notes) = export_json(
        r#"[processes.web]
command = "web"
port = 8000
ready = { tcp = "$PORT" }
health = { http = "http://127.0.0.1:$PORT/health", interval = "15s", timeout = "1500ms", retries = 4 }
[processes.migrate]
command = "migrate"
oneshot = true
health = { exec = "test -f alive" }
[processes.api]
command = "api"
depends_on = ["migrate"]
"#,
        None,
        &options(),
    );
    let web = container(&objects, "Deployment", "web");
    assert_eq!(
        web["livenessProbe"],
        json!({
            "httpGet": {"path": "/health", "port": 8000, "scheme": "HTTP"},
            "periodSeconds": 15,
            "timeoutSeconds": 2,
            "failureThreshold": 4
        })
    );
    assert_eq!(web["readinessProbe"]["tcpSocket"]["port"], 8000);
    assert!(has_note(&notes, "web: `health` probes 127.0.0.1"));
    let migrate = container(&objects, "Job", "migrate");
    assert_eq!(
        migrate["livenessProbe"],
        json!({
            "exec": {"command": ["sh", "-c", "test -f alive"]},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3
        })
    );
    // An init container may not have a livenessProbe.
    let init = &object(&objects, "Deployment", "api")["spec"]["template"]["spec"]["initContainers"];
    for container in init.as_array().unwrap() {
        assert!(container.get("livenessProbe").is_none(), "{container}");
    }
}

#[test]
fn a_scheduled_oneshot_is_a_cron_job() {
    let (objects, notes) = export_json(
        r#"[processes.report]
command = "report"
oneshot = true
schedule = "*/15 * * * *"
restart = "never"
"#,
        None,
        &options(),
    );
    assert!(!objects.iter().any(|o| o["kind"] == "Job"));
    let cron = object(&objects, "CronJob", "report");
    assert_eq!(cron["apiVersion"], "batch/v1");
    assert_eq!(cron["spec"]["schedule"], "*/15 * * * *");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert!(cron["spec"].get("timeZone").is_none());
    let job = &cron["spec"]["jobTemplate"]["spec"];
    assert!(job.get("suspend").is_none(), "it runs at its times");
    assert_eq!(job["backoffLimit"], 0);
    assert_eq!(job["template"]["spec"]["restartPolicy"], "Never");
    assert_eq!(
        job["template"]["spec"]["containers"][0]["command"],
        json!(["report"])
    );
    assert!(has_note(
        &notes,
        "report: `schedule` is in proj's local time"
    ));
    assert!(!has_note(&notes, "autostart"));
}

#[test]
fn max_memory_and_tty_map_to_the_container() {
    let (objects, _) = export_json(
        r#"[processes.web]
command = "web"
max_memory = "512MiB"
tty = true
[processes.plain]
command = "plain"
"#,
        None,
        &options(),
    );
    let web = container(&objects, "Deployment", "web");
    assert_eq!(web["resources"], json!({"limits": {"memory": "536870912"}}));
    assert_eq!(web["tty"], true);
    assert_eq!(web["stdin"], true);
    let plain = container(&objects, "Deployment", "plain");
    assert!(plain.get("resources").is_none());
    assert!(plain.get("tty").is_none());
    assert!(plain.get("stdin").is_none());
}

#[test]
fn state_makes_a_stateful_set_with_a_claim_per_directory() {
    let (objects, notes) = export_json(
        r#"[processes.db]
command = "postgres -D var/postgres -p $PORT"
port = 5432
scale = 2
state = ["var/postgres", "./var/wal/"]
[processes.web]
command = "web --db $PROJ_HOST_DB:$PROJ_PORT_DB"
"#,
        None,
        &options(),
    );
    assert!(
        !objects
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "db")
    );
    let set = object(&objects, "StatefulSet", "db");
    assert_eq!(set["spec"]["replicas"], 2);
    assert_eq!(set["spec"]["serviceName"], "db");
    let claims: Vec<&str> = set["spec"]["volumeClaimTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(claims, ["var-postgres", "var-wal"]);
    let db = container(&objects, "StatefulSet", "db");
    assert_eq!(
        db["volumeMounts"],
        json!([{"name": "var-postgres", "mountPath": "/app/var/postgres"}, {"name": "var-wal", "mountPath": "/app/var/wal"}])
    );
    assert_eq!(
        db["command"],
        json!(["postgres", "-D", "var/postgres", "-p", "$(PORT)"])
    );
    let service = object(&objects, "Service", "db");
    assert_eq!(service["spec"]["clusterIP"], "None");
    // Other processes reach it by its Service's name.
    let web = container(&objects, "Deployment", "web");
    assert_eq!(env_value(web, "PROJ_HOST_DB"), Some(&json!("db")));
    assert_eq!(env_value(web, "PROJ_ROOT"), Some(&json!("/app")));
    assert_eq!(
        web["command"],
        json!(["web", "--db", "$(PROJ_HOST_DB):$(PROJ_PORT_DB)"])
    );
    assert!(has_note(&notes, "db: `state` → a StatefulSet"));
}

#[test]
fn literal_dollars_in_an_argv_are_kept_from_kubernetes_expansion() {
    let (objects, notes) = export_json(
        "[processes.web]\ncommand = \"printf '%s $(HOME)' x\"\n[processes.pipe]\ncommand = \"a | b\"\n",
        None,
        &options(),
    );
    let web = container(&objects, "Deployment", "web");
    assert_eq!(web["command"], json!(["printf", "%s $$(HOME)", "x"]));
    let pipe = container(&objects, "Deployment", "pipe");
    assert_eq!(pipe["command"], json!(["sh", "-c", "a | b"]));
    assert!(has_note(
        &notes,
        "pipe: `command` is a pipeline or a `||` list: sh stays"
    ));
}

#[test]
fn proj_listen_host_is_every_address_and_quiets_the_probe_warnings() {
    let (objects, notes) = export_json(
        r#"[processes.db]
command = "postgres -p $PORT -c listen_addresses=$PROJ_LISTEN_HOST"
port = 5432
ready = { exec = "pg_isready -h 127.0.0.1 -p $PORT" }
[processes.web]
command = "web --bind $PROJ_LISTEN_HOST:$PORT"
port = 8000
ready = { http = "http://127.0.0.1:$PORT/health" }
[processes.api]
command = "api"
port = 9000
ready = { exec = "pg_isready -h 127.0.0.1 -p $PROJ_PORT_DB" }
health = { http = "http://localhost:9000/health" }
"#,
        None,
        &options(),
    );
    let db = container(&objects, "Deployment", "db");
    assert_eq!(env_value(db, "PROJ_LISTEN_HOST"), Some(&json!("0.0.0.0")));
    assert_eq!(
        db["command"],
        json!([
            "postgres",
            "-p",
            "$(PORT)",
            "-c",
            "listen_addresses=$(PROJ_LISTEN_HOST)"
        ])
    );
    // An exec probe of its own port runs in its own container: right as written.
    assert!(!notes.iter().any(|n| n.starts_with("db:")), "{notes:#?}");
    // It listens on ${PROJ_LISTEN_HOST}: the kubelet's probe of the pod's address works.
    assert!(!notes.iter().any(|n| n.starts_with("web:")), "{notes:#?}");
    // Another process's port on 127.0.0.1 is not in this container.
    assert!(has_note(
        &notes,
        "api: `ready` dials 127.0.0.1 or localhost, not at the process's own port"
    ));
    assert!(!has_note(&notes, "api: `health` dials"), "{notes:#?}");
    assert!(has_note(&notes, "api: `health` probes 127.0.0.1"));
}
