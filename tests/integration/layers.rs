//! What is stacked on proj.toml (SPEC §9.4): the Procfile named by `[project]
//! procfile`, and proj.local.toml merged over both. The children report what they see
//! (env, instance, terminal); diagnostics name the file each error is in.

use crate::support::*;

fn check(project: &Project) -> (Option<i32>, String, String) {
    let output = command_without_port(project, &["check"])
        .output()
        .expect("run proj");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A child that reports `$PORT`, `$ROLE` and whether it has a terminal.
const REPORTER: &str = "sh -c 'echo $$ >> out/pids; \
    if [ -t 0 ]; then t=tty; else t=no-tty; fi; \
    echo \"$PORT ${ROLE:-none} $t\" > out/$PROJ_PROCESS.$PROJ_INSTANCE; exec sleep 1000'";

#[test]
fn a_procfile_s_processes_join_and_tables_add_keys_to_them() {
    let project = Project::new(
        "[project]\nprocfile = \"Procfile.dev\"\n\n\
         [processes.worker]\ntty = true\nenv = { ROLE = \"queue\" }\n\n\
         [processes.css]\nport = 7300\n",
    );
    project.write(
        "Procfile.dev",
        &format!("web: {REPORTER}\nworker: {REPORTER}\ncss: {REPORTER}\n"),
    );
    project.write("out/.keep", "");
    let (code, plan, stderr) = check(&project);
    assert_eq!(code, Some(0), "{stderr}");
    // The Procfile rule for the lines without a `port`, the table's for css.
    for row in ["web       5000", "worker    5100", "css       7300"] {
        assert!(plan.contains(row), "missing {row:?} in:\n{plan}");
    }
    let seen = up_and_collect(&project, &["out/web.1", "out/worker.1", "out/css.1"]);
    assert_eq!(
        seen,
        ["5000 none no-tty", "5100 queue tty", "7300 none no-tty"]
    );
}

#[test]
fn proj_local_toml_is_merged_over_proj_toml() {
    let project = Project::new(&format!(
        "[env]\nROLE = \"team\"\nSHARED = \"kept\"\n\n\
         [processes.web]\ncommand = \"{}\"\nport = 7400\nenv = {{ A = \"1\" }}\n",
        REPORTER.replace('"', "\\\""),
    ));
    project.write(
        "proj.local.toml",
        &format!(
            "[env]\nROLE = \"mine\"\n\n\
             [processes.web]\nscale = 2\ntty = true\n\n\
             [processes.extra]\ncommand = \"{}\"\n",
            REPORTER.replace('"', "\\\""),
        ),
    );
    project.write("out/.keep", "");
    let (code, plan, stderr) = check(&project);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        plan.contains("(with proj.local.toml over it) is valid"),
        "{plan}"
    );
    assert!(plan.contains("web.2     7401"), "{plan}");
    let seen = up_and_collect(&project, &["out/web.1", "out/web.2", "out/extra.1"]);
    // wait_for_file trims: `extra` has no port, so its line starts with the role.
    assert_eq!(seen, ["7400 mine tty", "7401 mine tty", "mine no-tty"]);
}

#[test]
fn a_process_s_env_merges_key_by_key() {
    let project = Project::new(
        "[processes.web]\ncommand = \"sh -c 'echo $$ >> out/pids; echo $A-$B > out/web; exec sleep 1000'\"\n\
         env = { A = \"team\", B = \"team\" }\n",
    );
    project.write("proj.local.toml", "[processes.web.env]\nB = \"mine\"\n");
    project.write("out/.keep", "");
    let seen = up_and_collect(&project, &["out/web"]);
    assert_eq!(seen, ["team-mine"]);
}

#[test]
fn diagnostics_name_the_file_each_error_is_in() {
    let project =
        Project::new("[project]\nprocfile = \"Procfile.dev\"\n\n[processes.web]\ntty = \"yes\"\n");
    project.write("Procfile.dev", "web: sleep 1\nnot a process line\n");
    project.write("proj.local.toml", "[processes.web]\nautorestart = true\n");
    let (code, _, stderr) = check(&project);
    assert_eq!(code, Some(2), "{stderr}");
    for expected in [
        "--> proj.toml:5:7",
        "--> Procfile.dev:2:1",
        "--> proj.local.toml:2:1",
        "proj's equivalent is `restart`",
        "could not load `proj.toml` due to 3 previous errors",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_missing_procfile_is_reported_where_it_is_named() {
    let project = Project::new("[project]\nprocfile = \"Procfile.dev\"\n");
    let (code, _, stderr) = check(&project);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read the Procfile `Procfile.dev`"),
        "{stderr}"
    );
    assert!(stderr.contains("--> proj.toml:2:12"), "{stderr}");
}

#[test]
fn a_syntax_error_in_proj_local_toml_names_it() {
    let project = Project::new("[processes]\nweb = \"sleep 1\"\n");
    project.write("proj.local.toml", "[processes.web\n");
    let (code, _, stderr) = check(&project);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--> proj.local.toml:1:"), "{stderr}");
}
