//! `state` (SPEC §9.2): the directories exist before the process first starts.

use crate::support::*;

#[test]
fn state_directories_exist_before_the_first_start() {
    let project = Project::new(
        r#"
[processes.db]
command = "test -d var/data/pg && test -d var/wal && echo ok > var/data/pg/seen; exec sleep 30"
state = ["var/data/pg", "./var/wal/"]
"#,
    );
    let mut running = project.up(&[]);
    assert_eq!(project.wait_for_file("var/data/pg/seen").trim(), "ok");
    running.stop();
}
