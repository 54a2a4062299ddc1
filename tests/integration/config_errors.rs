//! End-to-end tests of config loading through the library: what a user sees for each
//! mistake (the exact `path:line:column`, the caret, the help), and the plans that
//! valid files produce.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use proj::config::{
    self, ConfigError, Diagnostic, LogPattern, Plan, ReadyProbe, RestartPolicy, StopAction,
    StopStep, StopTarget, discover, load, load_str,
};

/// The file from its lines (1-based line N is `lines[N - 1]`).
fn source(lines: &[&str]) -> String {
    lines.iter().map(|line| format!("{line}\n")).collect()
}

fn load_lines(lines: &[&str]) -> Result<Plan, ConfigError> {
    load_str(Path::new("proj.toml"), &source(lines))
}

fn errors(lines: &[&str]) -> Vec<Diagnostic> {
    match load_lines(lines) {
        Ok(plan) => panic!("expected errors, got {plan:#?}"),
        Err(error) => {
            assert_eq!(error.exit_code(), 2);
            error.diagnostics().to_vec()
        }
    }
}

/// What the env files and `[env]` give a setup step, with nothing inherited.
fn resolved_env(plan: &config::Plan) -> std::collections::BTreeMap<String, String> {
    config::environment::for_setup(&[], plan)
        .into_iter()
        .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
        .collect()
}

/// The single diagnostic of an invalid file.
fn error(lines: &[&str]) -> Diagnostic {
    let mut all = errors(lines);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.remove(0)
}

/// `path:line:column`.
fn at(diagnostic: &Diagnostic) -> String {
    format!(
        "{}:{}:{}",
        diagnostic.path().display(),
        diagnostic.line(),
        diagnostic.column()
    )
}

fn help(diagnostic: &Diagnostic) -> &str {
    diagnostic
        .help_text()
        .expect("every diagnostic says how to fix it")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&path, text).unwrap();
    path
}

// ---------------------------------------------------------------- rendering

#[test]
fn unknown_key_renders_like_rustc() {
    let lines = [
        "[processes.web]",
        "port = 8000",
        "",
        "comand = \"python3 app.py\"",
    ];
    let error = load_lines(&lines).unwrap_err();
    assert_eq!(
        error.render(false),
        [
            "error: unknown key `comand` in process `web`",
            " --> proj.toml:4:1",
            "  |",
            "4 | comand = \"python3 app.py\"",
            "  | ^^^^^^ unknown key",
            "  |",
            "  = help: did you mean `command`?",
        ]
        .join("\n")
    );
    assert_eq!(
        error.to_string(),
        "proj.toml:4:1: unknown key `comand` in process `web`"
    );
    assert!(error.render(true).contains("\u{1b}["), "color when asked");
}

#[test]
fn wrong_type_renders_with_the_caret_under_the_value() {
    let lines = ["[processes.web]", "command = \"x\"", "ready_timeout = 60"];
    let rendered = load_lines(&lines).unwrap_err().render(false);
    assert_eq!(
        rendered,
        [
            "error: wrong type for `ready_timeout` in process `web`",
            " --> proj.toml:3:17",
            "  |",
            "3 | ready_timeout = 60",
            "  |                 ^^ expected a duration string like \"10s\", found integer",
            "  |",
            "  = help: durations are strings with a unit: `ready_timeout = \"60s\"`",
        ]
        .join("\n")
    );
}

#[test]
fn several_independent_errors_are_all_reported() {
    let lines = [
        "[project]",               // 1
        "nme = \"shop\"",          // 2
        "",                        // 3
        "[processes.web]",         // 4
        "command = \"x\"",         // 5
        "port = \"8000\"",         // 6
        "restart = \"sometimes\"", // 7
        "depends_on = [\"dbb\"]",  // 8
        "",                        // 9
        "[processes.db]",          // 10
        "command = \"x\"",         // 11
        "stop_timeout = 10",       // 12
    ];
    let error = load_lines(&lines).unwrap_err();
    let found: Vec<String> = error.diagnostics().iter().map(at).collect();
    assert_eq!(
        found,
        [
            "proj.toml:2:1",
            "proj.toml:6:8",
            "proj.toml:7:11",
            "proj.toml:8:15",
            "proj.toml:12:16",
        ]
    );
    let rendered = error.render(false);
    assert!(rendered.ends_with("error: could not load `proj.toml` due to 5 previous errors"));
    assert_eq!(
        error.to_string(),
        "proj.toml:2:1: unknown key `nme` in `[project]` (and 4 more errors)"
    );
}

#[test]
fn a_file_full_of_errors_shows_the_first_twenty_and_counts_them_all() {
    // What a binary file named Procfile looks like to the reader: line after bad line.
    let text: String = (0..500).map(|i| format!("garbage line {i}\n")).collect();
    let error = config::load_str(Path::new("Procfile"), &text).unwrap_err();
    assert_eq!(
        error.diagnostics().len(),
        500,
        "every line is still checked"
    );
    let rendered = error.render(false);
    let shown =
        rendered.matches("\nerror: ").count() + usize::from(rendered.starts_with("error: "));
    assert_eq!(
        shown,
        ConfigError::SHOWN_ERRORS + 1,
        "20 reports and the summary"
    );
    assert!(rendered.contains("Procfile:20:1"), "{rendered}");
    assert!(!rendered.contains("Procfile:21:1"), "{rendered}");
    assert!(rendered.ends_with(
        "error: could not load `Procfile` due to 500 previous errors (the first 20 are shown)"
    ));
}

#[test]
fn a_syntax_error_stops_there() {
    let lines = [
        "[processes.web]",
        "comand = \"x\"", // would be an error, but the file cannot be trusted
        "port = 80 80",
    ];
    let diagnostic = error(&lines);
    assert_eq!(at(&diagnostic), "proj.toml:3:8");
    assert_eq!(
        diagnostic.message(),
        "invalid TOML: string values must be quoted, expected literal string"
    );
    assert_eq!(help(&diagnostic), "put text in quotes: `port = \"80 80\"`");
}

#[test]
fn unquoted_string_is_a_syntax_error_with_a_fix() {
    let diagnostic = error(&["[processes]", "web = python3 app.py"]);
    assert_eq!(at(&diagnostic), "proj.toml:2:7");
    assert_eq!(
        diagnostic.message(),
        "invalid TOML: string values must be quoted, expected literal string"
    );
    assert_eq!(
        help(&diagnostic),
        "put text in quotes: `web = \"python3 app.py\"`"
    );
    let diagnostic = error(&["[env]", "A = { B = x }"]);
    assert_eq!(at(&diagnostic), "proj.toml:2:11");
    assert_eq!(help(&diagnostic), "put text in quotes: `B = \"x\"`");
    let diagnostic = error(&["[processes.web]", "watch = [src]"]);
    assert_eq!(
        help(&diagnostic),
        "put text in quotes, e.g. `command = \"python3 app.py\"`"
    );
}

#[test]
fn duplicate_table_is_a_syntax_error() {
    let lines = [
        "[processes.web]",
        "command = \"a\"",
        "[processes.web]",
        "command = \"b\"",
    ];
    let diagnostic = error(&lines);
    assert_eq!(at(&diagnostic), "proj.toml:3:12");
    assert_eq!(diagnostic.label_text(), "defined again here");
    assert!(help(&diagnostic).contains("defined only once"));
}

#[test]
fn the_path_is_shown_as_given() {
    let error = load_str(Path::new("deploy/prod.toml"), "bogus = 1\n").unwrap_err();
    assert!(error.render(false).contains(" --> deploy/prod.toml:1:1\n"));
}

// ---------------------------------------------------------------- keys

#[test]
fn unknown_top_level_key_lists_the_valid_ones() {
    let diagnostic = error(&["[processes]", "web = \"x\"", "[stuff]", "a = 1"]);
    assert_eq!(at(&diagnostic), "proj.toml:3:2");
    assert_eq!(diagnostic.message(), "unknown key `stuff` at the top level");
    assert_eq!(
        help(&diagnostic),
        "valid keys at the top level: `project`, `env`, `setup`, `processes`"
    );
}

#[test]
fn unknown_top_level_key_close_to_a_valid_one() {
    let diagnostic = error(&["[proces.web]", "command = \"x\""]);
    assert_eq!(at(&diagnostic), "proj.toml:1:2");
    assert_eq!(help(&diagnostic), "did you mean `processes`?");
}

#[test]
fn a_process_without_the_processes_prefix() {
    let diagnostic = error(&["[web]", "command = \"python3 app.py\""]);
    assert_eq!(at(&diagnostic), "proj.toml:1:2");
    assert_eq!(
        help(&diagnostic),
        "processes go under `[processes]`: write `[processes.web]`"
    );
}

#[test]
fn aliases_from_other_tools_are_recognized() {
    let lines = [
        "[project]",
        "env_files = [\".env\"]",
        "[processes.web]",
        "cmd = \"x\"",
        "replicas = 2",
        "working_dir = \"src\"",
        "[processes.migrate]",
        "command = \"x\"",
        "type = \"oneshot\"", // systemd's Type=oneshot
    ];
    let found: Vec<(String, String)> = errors(&lines)
        .iter()
        .map(|d| (at(d), help(d).to_owned()))
        .collect();
    assert_eq!(
        found,
        [
            ("proj.toml:2:1".into(), "did you mean `env_file`?".into()),
            ("proj.toml:4:1".into(), "did you mean `command`?".into()),
            ("proj.toml:5:1".into(), "did you mean `scale`?".into()),
            ("proj.toml:6:1".into(), "did you mean `cwd`?".into()),
            ("proj.toml:9:1".into(), "did you mean `oneshot`?".into()),
        ]
    );
}

#[test]
fn unknown_process_key_without_a_close_match_lists_all() {
    let diagnostic = error(&["[processes.web]", "command = \"x\"", "flavour = 1"]);
    assert_eq!(at(&diagnostic), "proj.toml:3:1");
    assert!(
        help(&diagnostic)
            .starts_with("valid keys in process `web`: `command`, `port`, `socket`, `scale`"),
        "{}",
        help(&diagnostic)
    );
}

// ---------------------------------------------------------------- types and values

#[test]
fn wrong_types_point_at_the_value() {
    let lines = [
        "[processes.web]",      // 1
        "command = 5",          // 2
        "autostart = \"yes\"",  // 3
        "oneshot = \"true\"",   // 4
        "depends_on = \"db\"",  // 5
        "env = [\"A=1\"]",      // 6
        "stop_signal = 15",     // 7
        "watch = [\"src\", 3]", // 8
        "[processes.db]",       // 9
        "command = \"x\"",      // 10
    ];
    let found: Vec<(String, String, String)> = errors(&lines)
        .iter()
        .map(|d| (at(d), d.label_text().to_owned(), help(d).to_owned()))
        .collect();
    let expected = [
        (
            "proj.toml:2:11",
            "expected a string, found integer",
            "put the value in quotes: `command = \"5\"`",
        ),
        (
            "proj.toml:3:13",
            "expected `true` or `false`, found string",
            "write `autostart = true` or `autostart = false`",
        ),
        (
            "proj.toml:4:11",
            "expected `true` or `false`, found string",
            "remove the quotes: `oneshot = true`",
        ),
        (
            "proj.toml:5:14",
            "expected a list of strings, found string",
            "write a list: `depends_on = [\"db\"]`",
        ),
        (
            "proj.toml:6:7",
            "expected a table, found array",
            "write a table: `[env]`, or `env = { … }` inline",
        ),
        (
            "proj.toml:7:15",
            "expected a signal name like \"TERM\", found integer",
            "name the signal: `stop_signal = \"TERM\"`",
        ),
        (
            "proj.toml:8:17",
            "expected a string, found integer",
            "put the value in quotes: `watch = \"3\"`",
        ),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn a_port_word_other_than_auto_is_refused() {
    let diagnostic = error(&["[processes.web]", "command = \"x\"", "port = \"any\""]);
    assert_eq!(at(&diagnostic), "proj.toml:3:8");
    assert_eq!(
        diagnostic.message(),
        "invalid value for `port` in process `web`"
    );
    assert_eq!(diagnostic.label_text(), "`any` is not a port");
    assert_eq!(
        help(&diagnostic),
        "write a port number such as `port = 8000`, or `port = \"auto\"` for a free one"
    );
}

#[test]
fn wrong_type_message_names_the_setting() {
    let diagnostic = error(&["[processes.web]", "command = \"x\"", "port = \"8000\""]);
    assert_eq!(
        diagnostic.message(),
        "wrong type for `port` in process `web`"
    );
    assert_eq!(diagnostic.label_text(), "expected an integer, found string");
    assert_eq!(help(&diagnostic), "remove the quotes: `port = 8000`");
}

#[test]
fn ports_must_be_in_range() {
    for (value, column) in [("0", 8), ("70000", 8), ("-1", 8)] {
        let line = format!("port = {value}");
        let diagnostic = error(&["[processes.web]", "command = \"x\"", &line]);
        assert_eq!(at(&diagnostic), format!("proj.toml:3:{column}"));
        assert_eq!(diagnostic.label_text(), "must be between 1 and 65535");
        assert!(help(&diagnostic).starts_with("ports are 1 to 65535"));
    }
}

#[test]
fn port_plus_scale_must_fit() {
    let lines = [
        "[processes.web]",
        "command = \"x\"",
        "port = 65534",
        "scale = 3",
    ];
    let diagnostic = error(&lines);
    assert_eq!(at(&diagnostic), "proj.toml:4:9");
    assert_eq!(
        diagnostic.message(),
        "process `web` needs ports 65534 to 65536, past 65535"
    );
    assert_eq!(
        help(&diagnostic),
        "instance i listens on `port + i - 1`; lower `port` or `scale`"
    );
}

#[test]
fn scale_zero_suggests_autostart() {
    let diagnostic = error(&["[processes.web]", "command = \"x\"", "scale = 0"]);
    assert_eq!(at(&diagnostic), "proj.toml:3:9");
    assert_eq!(diagnostic.label_text(), "must be at least 1");
    assert_eq!(
        help(&diagnostic),
        "use `autostart = false` to keep a process from starting"
    );
}

#[test]
fn bare_number_duration_gets_a_hint() {
    let diagnostic = error(&["[processes.web]", "command = \"x\"", "backoff = \"10\""]);
    assert_eq!(at(&diagnostic), "proj.toml:3:11");
    assert_eq!(
        diagnostic.message(),
        "invalid value for `backoff` in process `web`"
    );
    assert_eq!(
        diagnostic.label_text(),
        "`10` has no unit; write \"10s\" for seconds or \"10ms\" for milliseconds"
    );
}

#[test]
fn a_word_for_a_duration_says_what_a_duration_looks_like() {
    let diagnostic = error(&["[processes.web]", "command = \"x\"", "backoff = \"ten\""]);
    assert_eq!(at(&diagnostic), "proj.toml:3:11");
    assert_eq!(
        diagnostic.label_text(),
        "`ten` is not a duration; expected a duration such as \"250ms\", \"10s\" or \"5m\""
    );
}

#[test]
fn backoff_max_below_backoff() {
    let lines = [
        "[processes.web]",
        "command = \"x\"",
        "backoff = \"5s\"",
        "backoff_max = \"1s\"",
    ];
    let diagnostic = error(&lines);
    assert_eq!(at(&diagnostic), "proj.toml:4:15");
    assert_eq!(
        diagnostic.message(),
        "`backoff_max` of process `web` is shorter than `backoff`"
    );
    assert!(help(&diagnostic).contains("make `backoff_max` at least `backoff`"));
}

#[test]
fn a_large_backoff_raises_the_default_backoff_max() {
    let plan = load_lines(&["[processes.web]", "command = \"x\"", "backoff = \"1m\""]).unwrap();
    let lifecycle = &plan.processes[0].lifecycle;
    assert_eq!(lifecycle.backoff, Duration::from_secs(60));
    assert_eq!(lifecycle.backoff_max, Duration::from_secs(60));
}

#[test]
fn restart_policy_did_you_mean_and_list() {
    let diagnostic = error(&[
        "[processes.web]",
        "command = \"x\"",
        "restart = \"on_failure\"",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:3:11");
    assert_eq!(
        diagnostic.label_text(),
        "unknown restart policy `on_failure`"
    );
    assert_eq!(
        help(&diagnostic),
        "did you mean \"on-failure\"? valid values: \"always\", \"on-failure\", \"never\""
    );
    let diagnostic = error(&[
        "[processes.web]",
        "command = \"x\"",
        "restart = \"sometimes\"",
    ]);
    assert_eq!(
        help(&diagnostic),
        "valid values: \"always\", \"on-failure\", \"never\""
    );
}

#[test]
fn unknown_signal() {
    let diagnostic = error(&[
        "[processes.web]",
        "command = \"x\"",
        "stop_signal = \"TREM\"",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:3:15");
    assert_eq!(
        diagnostic.label_text(),
        "unknown signal `TREM`; did you mean \"TERM\"?"
    );
}

#[test]
fn invalid_glob_points_at_the_pattern() {
    let lines = [
        "[processes.web]",
        "command = \"x\"",
        "watch = [\"src/**/*.py\", \"src/[a\"]",
    ];
    let diagnostic = error(&lines);
    assert_eq!(at(&diagnostic), "proj.toml:3:25");
    assert_eq!(
        diagnostic.label_text(),
        "invalid glob: unclosed character class; missing ']'"
    );
}

#[test]
fn empty_commands() {
    let found: Vec<(String, String)> = errors(&[
        "[processes]",
        "web = \"\"",
        "[processes.worker]",
        "command = \"  \"",
    ])
    .iter()
    .map(|d| (at(d), d.message().to_owned()))
    .collect();
    assert_eq!(
        found,
        [
            (
                "proj.toml:2:7".to_owned(),
                "invalid value for `web` in `[processes]`".to_owned()
            ),
            (
                "proj.toml:4:11".to_owned(),
                "invalid value for `command` in process `worker`".to_owned()
            ),
        ]
    );
}

#[test]
fn missing_command_points_at_the_process_name() {
    let diagnostic = error(&["[processes.web]", "port = 8000"]);
    assert_eq!(at(&diagnostic), "proj.toml:1:12");
    assert_eq!(diagnostic.message(), "process `web` has no `command`");
    assert_eq!(
        help(&diagnostic),
        "add the shell command that runs it: `command = \"python3 app.py\"`"
    );
}

#[test]
fn process_names() {
    let found: Vec<(String, String, String)> = errors(&[
        "[processes]",
        "\"web.1\" = \"x\"",
        "proj = \"x\"",
        "ok-name_2 = \"x\"",
    ])
    .iter()
    .map(|d| (at(d), d.message().to_owned(), help(d).to_owned()))
    .collect();
    assert_eq!(found[0].0, "proj.toml:2:1");
    assert_eq!(found[0].1, "invalid process name `web.1`");
    assert!(found[0].2.contains("letters, digits, `_` and `-`"));
    assert_eq!(found[1].0, "proj.toml:3:1");
    assert_eq!(found[1].1, "the process name `proj` is reserved");
    assert!(found[1].2.contains("rename the process"));
    assert_eq!(found.len(), 2);
}

#[test]
fn relative_cwd_must_be_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-file", "");
    fs::create_dir(dir.path().join("frontend")).unwrap();
    let text = source(&[
        "[processes.web]",
        "command = \"x\"",
        "cwd = \"missing\"",
        "[processes.file]",
        "command = \"x\"",
        "cwd = \"a-file\"",
        "[processes.ok]",
        "command = \"x\"",
        "cwd = \"frontend\"",
    ]);
    let path = write(dir.path(), "proj.toml", &text);
    let error = load(&path).unwrap_err();
    let found: Vec<(usize, usize, &str)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.line(), d.column(), d.label_text()))
        .collect();
    assert_eq!(
        found,
        [(3, 7, "no such directory"), (6, 7, "not a directory")]
    );
    assert!(help(&error.diagnostics()[0]).contains("relative to the directory of the config file"));
}

// ---------------------------------------------------------------- ready probes

#[test]
fn ready_probes_are_parsed() {
    let plan = load_lines(&[
        "[processes.a]",
        "command = \"x\"",
        "port = 8000",
        "ready = { tcp = \"$PORT\" }",
        "[processes.b]",
        "command = \"x\"",
        "ready = { tcp = 5432 }",
        "[processes.c]",
        "command = \"x\"",
        "ready.http = \"http://127.0.0.1:8000/health\"",
        "[processes.d]",
        "command = \"x\"",
        "ready = { exec = \"pg_isready\" }",
        "[processes.e]",
        "command = \"x\"",
        "ready = { log = \"listening on .*:\\\\d+\" }",
    ])
    .unwrap();
    let probes: Vec<Option<ReadyProbe>> = plan.processes.iter().map(|p| p.ready.clone()).collect();
    assert_eq!(
        probes,
        [
            Some(ReadyProbe::Tcp("$PORT".into())),
            Some(ReadyProbe::Tcp("5432".into())),
            Some(ReadyProbe::Http("http://127.0.0.1:8000/health".into())),
            Some(ReadyProbe::Exec("pg_isready".into())),
            Some(ReadyProbe::Log(
                LogPattern::new("listening on .*:\\d+").unwrap()
            )),
        ]
    );
}

#[test]
fn ready_probe_errors() {
    let lines = [
        "[processes.a]",                       // 1
        "command = \"x\"",                     // 2
        "ready = {}",                          // 3
        "[processes.b]",                       // 4
        "command = \"x\"",                     // 5
        "ready = { tcp = 1, exec = \"y\" }",   // 6
        "[processes.c]",                       // 7
        "command = \"x\"",                     // 8
        "ready = { htp = \"http://x\" }",      // 9
        "[processes.d]",                       // 10
        "command = \"x\"",                     // 11
        "ready = { log = \"listening (on\" }", // 12
        "[processes.e]",                       // 13
        "command = \"x\"",                     // 14
        "ready = { http = \"localhost:80\" }", // 15
        "[processes.f]",                       // 16
        "command = \"x\"",                     // 17
        "ready = { tcp = \"$PORT\" }",         // 18
        "[processes.g]",                       // 19
        "command = \"x\"",                     // 20
        "ready = \"http://x\"",                // 21
    ];
    let found: Vec<(String, String)> = errors(&lines)
        .iter()
        .map(|d| (at(d), d.message().to_owned()))
        .collect();
    let expected = [
        ("proj.toml:3:9", "`ready` of process `a` has no probe"),
        (
            "proj.toml:6:20",
            "`ready` of process `b` has more than one probe",
        ),
        (
            "proj.toml:9:11",
            "unknown key `htp` in `ready` of process `c`",
        ),
        (
            "proj.toml:12:17",
            "invalid value for `log` in `ready` of process `d`",
        ),
        (
            "proj.toml:15:18",
            "invalid value for `http` in `ready` of process `e`",
        ),
        ("proj.toml:18:17", "process `f` has no `port` for `$PORT`"),
        ("proj.toml:21:9", "wrong type for `ready` in process `g`"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(found, expected);
    let diagnostics = errors(&lines);
    let regex = diagnostics.iter().find(|d| d.line() == 12).unwrap();
    assert_eq!(regex.label_text(), "invalid regex: unclosed group");
    let unknown = diagnostics
        .iter()
        .find(|d| d.line() == 9 && d.column() == 11)
        .unwrap();
    assert_eq!(help(unknown), "did you mean `http`?");
}

#[test]
fn a_oneshot_cannot_have_a_ready_probe() {
    let diagnostic = error(&[
        "[processes.migrate]",
        "command = \"x\"",
        "oneshot = true",
        "ready = { exec = \"true\" }",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:4:18");
    assert!(help(&diagnostic).starts_with("a oneshot is ready when it exits 0"));
}

// ---------------------------------------------------------------- dependencies

#[test]
fn unknown_dependency_suggests_a_name() {
    let diagnostic = error(&[
        "[processes]",
        "db = \"postgres\"",
        "[processes.web]",
        "command = \"x\"",
        "depends_on = [\"db\", \"dbb\"]",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:5:21");
    assert_eq!(
        diagnostic.message(),
        "process `web` depends on unknown process `dbb`"
    );
    assert_eq!(help(&diagnostic), "did you mean `db`?");
}

#[test]
fn unknown_dependency_lists_the_processes() {
    let diagnostic = error(&[
        "[processes]",
        "db = \"postgres\"",
        "cache = \"redis-server\"",
        "[processes.web]",
        "command = \"x\"",
        "depends_on = [\"queue\"]",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:6:15");
    assert_eq!(help(&diagnostic), "known processes: `db`, `cache`");
}

#[test]
fn depending_on_a_setup_step() {
    let diagnostic = error(&[
        "[[setup]]",
        "name = \"install\"",
        "command = \"x\"",
        "[processes.web]",
        "command = \"x\"",
        "depends_on = [\"install\"]",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:6:15");
    assert!(help(&diagnostic).starts_with("`install` is a setup step"));
}

#[test]
fn self_dependency() {
    let diagnostic = error(&[
        "[processes.web]",
        "command = \"x\"",
        "depends_on = [\"web\"]",
    ]);
    assert_eq!(at(&diagnostic), "proj.toml:3:15");
    assert_eq!(diagnostic.message(), "process `web` depends on itself");
    assert_eq!(help(&diagnostic), "remove `web` from `depends_on`");
}

#[test]
fn dependency_cycle_names_the_whole_cycle() {
    let lines = [
        "[processes.a]",               // 1
        "command = \"x\"",             // 2
        "depends_on = [\"b\"]",        // 3
        "[processes.b]",               // 4
        "command = \"x\"",             // 5
        "depends_on = [\"c\"]",        // 6
        "[processes.c]",               // 7
        "command = \"x\"",             // 8
        "depends_on = [\"x\", \"a\"]", // 9
        "[processes.x]",               // 10
        "command = \"x\"",             // 11
    ];
    let error = load_lines(&lines).unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("{error:?}");
    };
    assert_eq!(at(diagnostic), "proj.toml:9:20");
    assert_eq!(diagnostic.message(), "dependency cycle: a -> b -> c -> a");
    assert_eq!(
        diagnostic.label_text(),
        "`c` depends on `a`, which closes the cycle"
    );
    let rendered = error.render(false);
    assert!(
        rendered.contains("3 | depends_on = [\"b\"]\n  |               --- `a` depends on `b`")
    );
    assert!(rendered.contains("  = help: a process starts only after its dependencies are ready"));
}

// ---------------------------------------------------------------- project, env, setup

#[test]
fn project_section_errors() {
    let found: Vec<(String, String)> = errors(&[
        "[project]",
        "name = \"\"",
        "log_max_size = \"10 parsecs\"",
        "log_backups = -1",
        "requires = \"python3\"",
        "env_file = 3",
    ])
    .iter()
    .map(|d| (at(d), d.label_text().to_owned()))
    .collect();
    let expected = [
        ("proj.toml:2:8", "empty"),
        (
            "proj.toml:3:16",
            "unknown size unit `parsecs`; use B, KiB, MiB, GiB, KB, MB or GB",
        ),
        ("proj.toml:4:15", "must be at least 0"),
        ("proj.toml:5:12", "expected a list of strings, found string"),
        (
            "proj.toml:6:12",
            "expected a string or a list of strings, found integer",
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn env_values_are_strings_numbers_or_booleans() {
    let diagnostic = error(&["[env]", "A = \"x\"", "B = 3", "C = [1, 2]"]);
    assert_eq!(at(&diagnostic), "proj.toml:4:5");
    assert_eq!(diagnostic.message(), "wrong type for `C` in `[env]`");
    assert_eq!(diagnostic.label_text(), "expected a string, found array");
}

#[test]
fn setup_errors() {
    let lines = [
        "[[setup]]",           // 1
        "name = \"deps\"",     // 2
        "command = \"x\"",     // 3
        "[[setup]]",           // 4
        "command = \"y\"",     // 5
        "[[setup]]",           // 6
        "name = \"deps\"",     // 7
        "command = \"z\"",     // 8
        "sources = \"a.txt\"", // 9
        "[[setup]]",           // 10
        "name = \"build\"",    // 11
        "script = \"make\"",   // 12
    ];
    let found: Vec<(String, String, String)> = errors(&lines)
        .iter()
        .map(|d| (at(d), d.message().to_owned(), help(d).to_owned()))
        .collect();
    let expected = [
        (
            "proj.toml:4:1",
            "`name` is missing in `[[setup]]` number 2",
            "add `name = \"python deps\"`",
        ),
        (
            "proj.toml:7:8",
            "duplicate setup step `deps`",
            "give each step a different name; `proj setup NAME` runs a step by name",
        ),
        (
            "proj.toml:9:11",
            "wrong type for `sources` in setup step `deps`",
            "write a list: `sources = [\"a.txt\"]`",
        ),
        (
            "proj.toml:10:1",
            "`command` is missing in setup step `build`",
            "add `command = \"pip install -r requirements.txt\"`",
        ),
        (
            "proj.toml:12:1",
            "unknown key `script` in setup step `build`",
            "valid keys in setup step `build`: `name`, `command`, `sources`, `skip_if`, `creates`",
        ),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn setup_must_be_tables() {
    for (text, column, found) in [
        ("setup = \"x\"", 9, "string"),
        ("setup = [1]", 10, "integer"),
    ] {
        let diagnostic = error(&[text]);
        assert_eq!(at(&diagnostic), format!("proj.toml:1:{column}"));
        assert_eq!(
            diagnostic.message(),
            "wrong type for `setup` at the top level"
        );
        assert_eq!(
            diagnostic.label_text(),
            format!("expected `[[setup]]` tables, found {found}")
        );
        assert!(help(&diagnostic).starts_with("write each step as a `[[setup]]` table"));
    }
}

#[test]
fn a_misspelt_required_key_is_reported_once() {
    let diagnostic = error(&["[[setup]]", "name = \"build\"", "comand = \"make\""]);
    assert_eq!(at(&diagnostic), "proj.toml:3:1");
    assert_eq!(help(&diagnostic), "did you mean `command`?");
    let diagnostic = error(&["[processes.web]", "cmd = \"make\""]);
    assert_eq!(at(&diagnostic), "proj.toml:2:1");
    assert_eq!(help(&diagnostic), "did you mean `command`?");
}

#[test]
fn malformed_env_file_points_into_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "GOOD=1\n# comment\nBAD LINE\n");
    let path = write(dir.path(), "proj.toml", "[processes]\nweb = \"x\"\n");
    let error = load(&path).unwrap_err();
    let [diagnostic] = error.diagnostics() else {
        panic!("{error:?}");
    };
    assert_eq!(diagnostic.path(), dir.path().join(".env"));
    assert_eq!((diagnostic.line(), diagnostic.column()), (3, 5));
    assert!(help(diagnostic).contains("KEY=value"));
    assert!(
        error
            .render(false)
            .contains("3 | BAD LINE\n  |     ^ expected `=`")
    );
}

#[test]
fn unreadable_env_file_points_at_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("envdir")).unwrap();
    let path = write(
        dir.path(),
        "proj.toml",
        "[project]\nenv_file = [\"missing.env\", \"envdir\"]\n",
    );
    let diagnostic = load(&path).unwrap_err().diagnostics()[0].clone();
    assert_eq!((diagnostic.line(), diagnostic.column()), (2, 28));
    assert!(diagnostic.message().starts_with("cannot read `"));
}

// ---------------------------------------------------------------- Procfiles

#[test]
fn procfile_errors() {
    let error = load_str(
        Path::new("Procfile"),
        "web: python3 app.py\n\nthis is not a process\nweb: other\n",
    )
    .unwrap_err();
    let found: Vec<(String, String)> = error
        .diagnostics()
        .iter()
        .map(|d| (at(d), d.message().to_owned()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "Procfile:3:1".to_owned(),
                "invalid Procfile line".to_owned()
            ),
            (
                "Procfile:4:1".to_owned(),
                "duplicate process `web`".to_owned()
            ),
        ]
    );
    assert!(help(&error.diagnostics()[0]).contains("`web: python3 app.py`"));
    let rendered = error.render(false);
    assert!(
        rendered.contains(
            "3 | this is not a process\n  | ^^^^^^^^^^^^^^^^^^^^^ expected `name: command`"
        )
    );
    assert!(rendered.contains("first defined here"));
}

#[test]
fn procfile_with_env_fallback() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Procfile",
        "# the app\nweb: python3 -m http.server $PORT\nworker: python3 worker.py\n",
    );
    write(
        dir.path(),
        ".env",
        "DATABASE_URL=postgres://localhost/shop\nexport MODE='dev'\nGREETING=hello from dotenv # unquoted\n",
    );
    let nested = dir.path().join("src/deep");
    fs::create_dir_all(&nested).unwrap();

    let path = discover(&nested, None).unwrap();
    assert_eq!(path, dir.path().join("Procfile"));
    let plan = load(&path).unwrap();
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(plan.root, root);
    assert_eq!(plan.source, root.join("Procfile"));
    let names: Vec<&str> = plan.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "worker"]);
    assert_eq!(plan.processes[0].command, "python3 -m http.server $PORT");
    assert_eq!(plan.processes[0].lifecycle, config::Lifecycle::default());
    let env = resolved_env(&plan);
    assert_eq!(env["DATABASE_URL"], "postgres://localhost/shop");
    assert_eq!(env["MODE"], "dev");
    assert_eq!(env["GREETING"], "hello from dotenv");
    assert_eq!(plan.env_files, [root.join(".env")]);
}

// ---------------------------------------------------------------- discovery

#[test]
fn discovery_walks_up_and_explicit_path_wins() {
    let dir = tempfile::tempdir().unwrap();
    let toml = write(dir.path(), "proj.toml", "[processes]\nweb = \"x\"\n");
    write(dir.path(), "Procfile", "web: y\n");
    let nested = dir.path().join("a/b");
    fs::create_dir_all(&nested).unwrap();
    assert_eq!(discover(&nested, None).unwrap(), toml);

    let other = write(dir.path(), "conf/other.toml", "[processes]\napi = \"z\"\n");
    assert_eq!(discover(&nested, Some(&other)).unwrap(), other);
    let plan = load(&other).unwrap();
    assert_eq!(plan.root, dir.path().join("conf").canonicalize().unwrap());
    assert_eq!(plan.processes[0].name, "api");
}

#[test]
fn discovery_failure_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let error = discover(dir.path(), None).unwrap_err();
    assert_eq!(error.exit_code(), 2);
    let rendered = error.render(false);
    assert!(rendered.starts_with(&format!(
        "error: no proj.toml or Procfile found in `{}` or any parent directory",
        dir.path().display()
    )));
    assert!(rendered.contains("help: create a proj.toml"));
    assert!(rendered.contains("-f PATH"));
}

#[test]
fn explicit_missing_file() {
    let error = load(Path::new("/nonexistent/proj.toml")).unwrap_err();
    assert_eq!(error.exit_code(), 2);
    assert!(
        error
            .render(false)
            .starts_with("error: cannot read `/nonexistent/proj.toml`")
    );
}

// ---------------------------------------------------------------- valid plans

#[test]
fn defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir.path().join("shop"),
        "proj.toml",
        "[processes]\nworker = \"python3 worker.py\"\n",
    );
    let plan = load(&path).unwrap();
    let root = dir.path().join("shop").canonicalize().unwrap();
    assert_eq!(plan.name, "shop");
    assert_eq!(plan.root, root);
    assert_eq!(plan.log_max_size, 10 * 1024 * 1024);
    assert_eq!(plan.log_backups, 5);
    assert!(plan.env.is_empty());
    assert!(plan.setup.is_empty());
    let worker = &plan.processes[0];
    assert_eq!(worker.name, "worker");
    assert_eq!(worker.command, "python3 worker.py");
    assert_eq!(worker.cwd, root);
    assert_eq!(worker.scale, 1);
    assert_eq!(worker.port, None);
    assert!(worker.autostart);
    assert_eq!(worker.watch_debounce, Duration::from_millis(200));
    let lifecycle = &worker.lifecycle;
    assert_eq!(lifecycle.restart, RestartPolicy::OnFailure);
    assert_eq!(
        lifecycle.stop_sequence,
        [StopStep {
            action: StopAction::Signal(Signal::SIGTERM),
            wait: Duration::from_secs(10)
        }]
    );
    assert_eq!(lifecycle.stop_target, StopTarget::Group);
    assert_eq!(lifecycle.ready_timeout, Duration::from_secs(60));
    assert_eq!(lifecycle.backoff, Duration::from_millis(100));
    assert_eq!(lifecycle.backoff_max, Duration::from_secs(30));
    assert_eq!(lifecycle.max_restarts, 10);
    assert_eq!(lifecycle.restart_window, Duration::from_secs(60));
    assert!(!lifecycle.oneshot);
}

#[test]
fn a_full_process_table() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("frontend")).unwrap();
    let text = source(&[
        "[processes.web]",
        "command = \"npm start\"",
        "cwd = \"frontend\"",
        "env = { LOG_LEVEL = \"debug\", WORKERS = 4 }",
        "restart = \"always\"",
        "backoff = \"250ms\"",
        "backoff_max = \"5s\"",
        "max_restarts = 0",
        "restart_window = \"2m\"",
        "stop_signal = \"sigint\"",
        "stop_timeout = \"3s\"",
        "ready_timeout = \"1m30s\"",
        "watch = [\"src/**/*.js\"]",
        "watch_ignore = [\"**/*.tmp\"]",
        "watch_debounce = \"1s\"",
        "autostart = false",
        "user = \"www-data\"",
        "group = \"www-data\"",
        "[processes.migrate]",
        "command = \"./migrate\"",
        "oneshot = true",
    ]);
    let path = write(dir.path(), "proj.toml", &text);
    let plan = load(&path).unwrap();
    let web = plan.process("web").unwrap();
    assert_eq!(web.cwd, dir.path().join("frontend").canonicalize().unwrap());
    assert_eq!(web.env["LOG_LEVEL"], "debug");
    assert_eq!(web.env["WORKERS"], "4");
    let lifecycle = &web.lifecycle;
    assert_eq!(lifecycle.restart, RestartPolicy::Always);
    assert_eq!(lifecycle.backoff, Duration::from_millis(250));
    assert_eq!(lifecycle.backoff_max, Duration::from_secs(5));
    assert_eq!(lifecycle.max_restarts, 0);
    assert_eq!(lifecycle.restart_window, Duration::from_secs(120));
    assert_eq!(
        lifecycle.stop_sequence,
        [StopStep {
            action: StopAction::Signal(Signal::SIGINT),
            wait: Duration::from_secs(3)
        }]
    );
    assert_eq!(lifecycle.ready_timeout, Duration::from_secs(90));
    assert_eq!(web.watch, ["src/**/*.js"]);
    assert_eq!(web.watch_ignore, ["**/*.tmp"]);
    assert_eq!(web.watch_debounce, Duration::from_secs(1));
    assert!(!web.autostart);
    assert_eq!(web.user.as_deref(), Some("www-data"));
    assert_eq!(web.group.as_deref(), Some("www-data"));
    let migrate = plan.process("migrate").unwrap();
    assert!(migrate.lifecycle.oneshot);
    assert_eq!(
        migrate.lifecycle.restart,
        RestartPolicy::Never,
        "oneshot default"
    );
}

#[test]
fn procfile_style_lines_in_proj_toml() {
    let plan = load_lines(&[
        "[processes]",
        "worker = \"python3 worker.py\"",
        "beat = \"celery beat\"",
    ])
    .unwrap();
    let found: Vec<(&str, &str)> = plan
        .processes
        .iter()
        .map(|p| (p.name.as_str(), p.command.as_str()))
        .collect();
    assert_eq!(
        found,
        [("worker", "python3 worker.py"), ("beat", "celery beat")]
    );
}

#[test]
fn instances_are_expanded() {
    let plan = load_lines(&[
        "[processes.web]",
        "command = \"x\"",
        "port = 8000",
        "scale = 3",
        "[processes.api]",
        "command = \"y\"",
        "port = 9000",
    ])
    .unwrap();
    let instances: Vec<(String, u32, Option<u16>)> = plan
        .instances()
        .map(|(_, instance)| (instance.name, instance.index, instance.port))
        .collect();
    assert_eq!(
        instances,
        [
            ("web.1".to_owned(), 1, Some(8000)),
            ("web.2".to_owned(), 2, Some(8001)),
            ("web.3".to_owned(), 3, Some(8002)),
            ("api".to_owned(), 1, Some(9000)),
        ]
    );
}

#[test]
fn processes_start_after_their_dependencies_and_otherwise_in_file_order() {
    let plan = load_lines(&[
        "[processes.web]",
        "command = \"x\"",
        "depends_on = [\"migrate\", \"cache\"]",
        "[processes.worker]",
        "command = \"x\"",
        "depends_on = [\"db\"]",
        "[processes.migrate]",
        "command = \"x\"",
        "oneshot = true",
        "depends_on = [\"db\"]",
        "[processes]",
        "db = \"postgres\"",
        "cache = \"redis-server\"",
        "logs = \"tail -f log\"",
    ])
    .unwrap();
    let order: Vec<&str> = plan.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(order, ["db", "migrate", "cache", "web", "worker", "logs"]);
}

#[test]
fn project_env_and_setup() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", "A=from-dotenv\nB=from-dotenv\n");
    write(
        dir.path(),
        ".env.local",
        "B=from-local\nC=from-local\nD=${A}+$B\n",
    );
    let text = source(&[
        "[project]",
        "name = \"shop\"",
        "env_file = [\".env\", \"missing.env\", \".env.local\"]",
        "requires = [\"python3\", \"redis-server\"]",
        "log_max_size = \"1MiB\"",
        "log_backups = 2",
        "[env]",
        "C = \"from-env-table\"",
        "DEBUG = true",
        "[[setup]]",
        "name = \"python deps\"",
        "command = \"pip install -r requirements.txt\"",
        "sources = [\"requirements.txt\"]",
        "[[setup]]",
        "name = \"venv\"",
        "command = \"python3 -m venv .venv\"",
        "creates = \".venv\"",
        "skip_if = \"test -d .venv\"",
    ]);
    let path = write(dir.path(), "proj.toml", &text);
    let plan = load(&path).unwrap();
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(plan.name, "shop");
    assert_eq!(plan.requires, ["python3", "redis-server"]);
    assert_eq!(plan.log_max_size, 1 << 20);
    assert_eq!(plan.log_backups, 2);
    let env = resolved_env(&plan);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let root_text = root.display().to_string();
    assert_eq!(
        env,
        [
            ("A", "from-dotenv"),
            ("B", "from-local"),
            ("C", "from-env-table"),
            ("D", "from-dotenv+from-local"),
            ("DEBUG", "true"),
            // The address to listen on (a README extension of SPEC §9.2).
            ("PROJ_LISTEN_HOST", "127.0.0.1"),
            // SPEC §9.2: every setup step gets the root, and runs there.
            ("PROJ_ROOT", root_text.as_str()),
            ("PWD", root_text.as_str()),
        ]
    );
    assert_eq!(
        plan.env_files,
        [
            root.join(".env"),
            root.join("missing.env"),
            root.join(".env.local")
        ]
    );
    assert_eq!(plan.setup.len(), 2);
    assert_eq!(plan.setup[0].name, "python deps");
    assert_eq!(plan.setup[0].sources, ["requirements.txt"]);
    assert_eq!(plan.setup[1].creates, Some(root.join(".venv")));
    assert_eq!(plan.setup[1].skip_if.as_deref(), Some("test -d .venv"));
    assert!(plan.processes.is_empty());
}

#[test]
fn the_spec_example_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
[project]
name = "shop"
env_file = [".env"]
requires = ["python3", "redis-server"]

[env]
DATABASE_URL = "postgres://localhost/shop_dev"

[[setup]]
name = "python deps"
command = "pip install -r requirements.txt"
sources = ["requirements.txt"]

[processes]
worker = "python3 worker.py"
db = "postgres"
migrate = { command = "./migrate", oneshot = true }

[processes.web]
command = "python3 -m http.server $PORT"
port = 8000
scale = 1
cwd = "."
env = { LOG_LEVEL = "debug" }
depends_on = ["db", "migrate"]
ready = { http = "http://127.0.0.1:$PORT/health" }
ready_timeout = "60s"
restart = "on-failure"
backoff = "100ms"
backoff_max = "30s"
max_restarts = 10
restart_window = "60s"
stop_signal = "TERM"
stop_timeout = "10s"
watch = ["src/**/*.py"]
autostart = true
oneshot = false
user = "www-data"
"#;
    let path = write(dir.path(), "proj.toml", text);
    let plan = load(&path).unwrap();
    let order: Vec<&str> = plan.processes.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(order, ["worker", "db", "migrate", "web"]);
    let web = plan.process("web").unwrap();
    assert_eq!(web.cwd, dir.path().canonicalize().unwrap());
    assert_eq!(web.instances()[0].name, "web");
    assert_eq!(web.instances()[0].port, Some(8000));
}

#[test]
fn an_https_probe_is_refused_with_a_plain_http_or_tcp_alternative() {
    let error = proj::config::load_str(
        std::path::Path::new("proj.toml"),
        "[processes.web]\ncommand = \"x\"\nready = { http = \"https://127.0.0.1:8443/\" }\n",
    )
    .unwrap_err();
    let text = error.render(false);
    assert!(text.contains("proj.toml:3:18"), "{text}");
    assert!(text.contains("expected an http:// URL"), "{text}");
    assert!(text.contains("tcp = 8443"), "{text}");
}

#[test]
fn other_supervisors_keys_get_proj_s_equivalent() {
    let lines = [
        "[processes.worker]",
        "command = \"celery worker\"",
        "autorestart = true",                       // supervisord
        "priority = 10",                            // supervisord
        "numprocs = 2",                             // supervisord
        "stdout_logfile = \"/var/log/worker.log\"", // supervisord
        "availability = { restart = \"always\" }",  // process-compose
        "exec_mode = \"cluster\"",                  // pm2
        "depends_on = { db = { condition = \"process_healthy\" } }", // process-compose
    ];
    let found: Vec<(String, String)> = errors(&lines)
        .iter()
        .map(|d| (at(d), help(d).to_owned()))
        .collect();
    let starts = |line: &str, text: &str| {
        found
            .iter()
            .any(|(at, help)| at == line && help.starts_with(text))
    };
    assert!(
        starts("proj.toml:3:1", "proj's equivalent is `restart`"),
        "{found:#?}"
    );
    assert!(
        !found[0].1.contains("autostart"),
        "autorestart is not autostart: {found:#?}"
    );
    assert!(
        starts("proj.toml:4:1", "proj has no priority: write `depends_on"),
        "{found:#?}"
    );
    assert!(
        starts("proj.toml:5:1", "proj's equivalent is `scale`"),
        "{found:#?}"
    );
    assert!(
        starts("proj.toml:6:1", "proj logs each process"),
        "{found:#?}"
    );
    assert!(
        starts("proj.toml:7:1", "proj's equivalents are `restart`"),
        "{found:#?}"
    );
    assert!(
        starts("proj.toml:8:1", "proj runs `scale` instances"),
        "{found:#?}"
    );
    assert!(
        starts("proj.toml:9:14", "write `depends_on = [\"db\"]`"),
        "{found:#?}"
    );
    assert_eq!(found.len(), 7, "{found:#?}");
}

#[test]
fn state_directories_must_be_inside_the_project() {
    for (value, column, label) in [
        (
            r#"["/var/lib/pg"]"#,
            10,
            "an absolute path: the directory must be inside the project",
        ),
        (r#"["var", "../data"]"#, 17, "`..` leaves the project root"),
        (
            r#"["."]"#,
            10,
            "the project root itself: name a directory inside it",
        ),
    ] {
        let line = format!("state = {value}");
        let diagnostic = error(&["[processes.db]", "command = \"x\"", &line]);
        assert_eq!(at(&diagnostic), format!("proj.toml:3:{column}"), "{value}");
        assert_eq!(diagnostic.label_text(), label);
        assert!(help(&diagnostic).contains(r#"state = ["var/postgres"]"#));
    }
    let diagnostic = error(&["[processes.db]", "command = \"x\"", r#"state = "var/pg""#]);
    assert_eq!(at(&diagnostic), "proj.toml:3:9");
    assert!(
        diagnostic.message().contains("wrong type"),
        "{diagnostic:?}"
    );
    let plan = load_lines(&[
        "[processes.db]",
        "command = \"x\"",
        r#"state = ["./var//pg/", "var/pg"]"#,
    ])
    .unwrap();
    assert_eq!(plan.processes[0].state, [Path::new("var/pg")]);
}
