//! Other supervisors' process keys, and what proj says instead.
//!
//! People porting a config by hand write the keys they know. Edit distance gets these
//! wrong in the worst way (`autorestart` is one letter from `autostart`, which means
//! something else), and for keys with no one-word equivalent (`priority`, `numprocs`,
//! `stdout_logfile`) the list of valid keys does not help either. Each entry here is the
//! help line for one such key: proj's equivalent, or why there is none. Plain renames
//! (`working_dir`, `replicas`, `environment`) are aliases in `process` instead, and get
//! "did you mean `cwd`?".

/// `(key, help)`; keys are matched case-insensitively.
const FOREIGN_PROCESS_KEYS: &[(&str, &str)] = &[
    // supervisord
    (
        "autorestart",
        "proj's equivalent is `restart`: `\"always\"`, `\"on-failure\"` (the default; supervisord's `unexpected`) or `\"never\"`",
    ),
    (
        "priority",
        "proj has no priority: write `depends_on = [\"db\"]` to start this process after the ones it needs (once they are ready) and stop it before them; without it processes start in file order",
    ),
    (
        "startsecs",
        "proj's equivalent is a `ready` probe, which says when the process is up: `ready = { tcp = 8000 }`, `{ log = \"listening\" }`, …; an early exit is restarted after `backoff`",
    ),
    (
        "startretries",
        "proj's equivalent is `max_restarts` (restarts allowed within `restart_window`, default 10 in 60s)",
    ),
    (
        "stopwaitsecs",
        "proj's equivalent is `stop_timeout = \"10s\"` (how long to wait after `stop_signal` before SIGKILL)",
    ),
    (
        "stopasgroup",
        "proj's equivalent is `stop_target`: `\"group\"` (proj's default, supervisord's `stopasgroup = true`) or `\"main\"`; SIGKILL always goes to the whole group",
    ),
    (
        "killasgroup",
        "proj always sends the final SIGKILL to the whole process group; `stop_target` says where the stop signal goes",
    ),
    (
        "numprocs",
        "proj's equivalent is `scale`: instances are named `NAME.1`, `NAME.2`, … and get `PROJ_INSTANCE` (from 1)",
    ),
    (
        "numprocs_start",
        "proj numbers instances from 1 (`PROJ_INSTANCE`); compute another base in the command, e.g. `$((PROJ_INSTANCE - 1))`",
    ),
    (
        "process_name",
        "proj names instances `NAME.N`; the process's name is its key, `[processes.NAME]`",
    ),
    (
        "stdout_logfile",
        "proj logs each process's stdout and stderr to `.proj/logs/NAME.log` (`proj logs NAME`); rotation is `[project] log_max_size` and `log_backups`",
    ),
    (
        "stderr_logfile",
        "proj logs each process's stdout and stderr to `.proj/logs/NAME.log` (`proj logs NAME`)",
    ),
    (
        "stdout_logfile_maxbytes",
        "proj's equivalent is `[project] log_max_size = \"10MiB\"`",
    ),
    (
        "stdout_logfile_backups",
        "proj's equivalent is `[project] log_backups = 5`",
    ),
    (
        "redirect_stderr",
        "proj always logs stderr with stdout, each line marked by stream; remove this key",
    ),
    (
        "exitcodes",
        "proj treats exit code 0 as success and anything else as a failure (`restart = \"on-failure\"`)",
    ),
    (
        "umask",
        "proj has no umask setting; set it in the command: `sh -c 'umask 022; exec app'`",
    ),
    // process-compose
    (
        "readiness_probe",
        "proj's equivalent is `ready`: `{ http = \"http://127.0.0.1:$PORT/health\" }`, `{ tcp = 8000 }`, `{ exec = \"pg_isready\" }` or `{ log = \"listening on\" }`",
    ),
    (
        "liveness_probe",
        "proj's equivalent is `health = { http = \"…\", interval = \"10s\", retries = 3 }`",
    ),
    (
        "ready_log_line",
        "proj's equivalent is `ready = { log = \"the line\" }` (a regex)",
    ),
    (
        "availability",
        "proj's equivalents are `restart` (`\"always\"`, `\"on-failure\"`, `\"never\"`), `backoff` and `max_restarts`",
    ),
    (
        "is_daemon",
        "proj needs no flag for daemons: a process that forks into the background still belongs to its instance and ends with it; run it in the foreground when it can",
    ),
    (
        "disabled",
        "proj's equivalent is `autostart = false` (start it with `proj start NAME`)",
    ),
    ("is_disabled", "proj's equivalent is `autostart = false`"),
    (
        "shutdown",
        "proj's equivalents are `stop_signal`, `stop_timeout`, or `stop_sequence = [{ command = \"…\", wait = \"10s\" }]`",
    ),
    (
        "log_location",
        "proj logs each process to `.proj/logs/NAME.log` (`proj logs NAME`)",
    ),
    (
        "namespace",
        "proj has no namespaces; `autostart = false` keeps a process out of `proj up` until `proj start NAME`",
    ),
    // pm2
    (
        "exec_mode",
        "proj runs `scale` instances of the command, each on its own port: `port = 8000` gives instance i `PORT` 8000 + i - 1",
    ),
    (
        "script",
        "proj's equivalent is `command`: pm2's `interpreter`, `script` and `args` on one line, e.g. `command = \"node server.js --port $PORT\"`",
    ),
    (
        "args",
        "proj has no separate arguments: append them to `command`",
    ),
    (
        "interpreter",
        "proj has no interpreter setting: start `command` with it, e.g. `command = \"node server.js\"`",
    ),
    (
        "node_args",
        "put them in `command`: `command = \"node --max-old-space-size=512 server.js\"`",
    ),
    ("name", "the process's name is its key: `[processes.NAME]`"),
    (
        "min_uptime",
        "proj's equivalent is a `ready` probe (when the process counts as up)",
    ),
    (
        "restart_delay",
        "proj's equivalent is `backoff = \"1s\"` (doubling up to `backoff_max`)",
    ),
    (
        "kill_timeout",
        "proj's equivalent is `stop_timeout = \"10s\"`",
    ),
    (
        "ignore_watch",
        "proj's equivalent is `watch_ignore = [\"node_modules/**\"]`",
    ),
    (
        "cron_restart",
        "proj's `schedule = \"0 * * * *\"` runs a oneshot at each match; a service restarts on `proj restart NAME`",
    ),
    (
        "out_file",
        "proj logs each process to `.proj/logs/NAME.log` (`proj logs NAME`)",
    ),
    (
        "error_file",
        "proj logs each process to `.proj/logs/NAME.log` (`proj logs NAME`)",
    ),
    (
        "log_file",
        "proj logs each process to `.proj/logs/NAME.log` (`proj logs NAME`)",
    ),
    (
        "env_production",
        "proj has no env profiles: put a person's or a machine's own settings in proj.local.toml, merged over proj.toml",
    ),
];

/// The help line for `key`, a key of another supervisor's process settings.
pub(super) fn process_key_help(key: &str) -> Option<&'static str> {
    let lowered = key.to_lowercase();
    FOREIGN_PROCESS_KEYS
        .iter()
        .find(|(foreign, _)| *foreign == lowered)
        .map(|(_, help)| *help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autorestart_is_restart_not_autostart() {
        let help = process_key_help("autorestart").unwrap();
        assert!(help.contains("`restart`"), "{help}");
        assert!(!help.contains("autostart"), "{help}");
        assert!(process_key_help("PRIORITY").unwrap().contains("depends_on"));
        assert_eq!(process_key_help("command"), None);
    }

    #[test]
    fn no_foreign_key_is_a_proj_key() {
        for (key, _) in FOREIGN_PROCESS_KEYS {
            assert!(
                !super::super::process::PROCESS_KEYS.contains(key),
                "`{key}` is a proj key"
            );
        }
    }
}
