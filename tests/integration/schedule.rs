//! `schedule` with real processes and the real clock. Cron has minutes as its finest
//! field, so the schedule is computed from the current minute: the test waits for the
//! next minute or two, no longer.

use std::time::Duration;

use crate::support::*;

fn job(project: &Project) -> serde_json::Value {
    ps_json(project)
        .into_iter()
        .find(|instance| instance["name"] == "job")
        .expect("job in ps")
}

/// The next whole minute from now, local time, at least 5 seconds away (so the
/// supervisor is surely up by then).
fn next_minute() -> jiff::Zoned {
    let now = jiff::Zoned::now();
    let minute = now
        .round(
            jiff::ZonedRound::new()
                .smallest(jiff::Unit::Minute)
                .mode(jiff::RoundMode::Trunc),
        )
        .unwrap();
    let next = minute
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap();
    if (&next - &now).get_seconds() < 5 {
        next.checked_add(jiff::SignedDuration::from_secs(60))
            .unwrap()
    } else {
        next
    }
}

#[test]
fn a_schedule_runs_at_its_minute_and_skips_a_match_while_the_run_still_goes() {
    let first = next_minute();
    let second = first
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap();
    // Two matches a minute apart; the run outlasts both.
    let expression = format!(
        "{},{} {} * * *",
        first.minute(),
        second.minute(),
        if first.hour() == second.hour() {
            first.hour().to_string()
        } else {
            format!("{},{}", first.hour(), second.hour())
        }
    );
    let project = Project::new(&format!(
        r#"
[processes.job]
command = "date +%s >> runs; exec sleep 1000"
oneshot = true
schedule = "{expression}"
"#
    ));
    let mut proj = project.up(&[]);
    wait_until("the supervisor answers", || {
        project.run(&["ps"]).status.success().then_some(())
    });
    let before = job(&project);
    assert_eq!(
        before["state"], "stopped",
        "a schedule does not run at `up`"
    );
    assert_eq!(
        before["next_run"],
        first.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        "{before}"
    );
    assert!(project.read("runs").is_empty());

    let within = Duration::from_secs(90);
    wait_until_within(within, "the first run", || {
        (project.read("runs").lines().count() == 1).then_some(())
    });
    let started: i64 = project.read("runs").trim().parse().unwrap();
    assert!(
        started >= first.timestamp().as_second(),
        "not before its minute: {started} < {first}"
    );
    proj.wait_for(&format!("job: the {} run of", first.strftime("%H:%M")));
    let after = job(&project);
    assert_eq!(after["state"], "running");
    assert_eq!(
        after["next_run"],
        second.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    );

    let skipped = format!(
        "job: the {} run is skipped: the previous run is still going",
        second.strftime("%H:%M")
    );
    wait_until_within(within, "the second match skipped", || {
        proj.text().contains(&skipped).then_some(())
    });
    assert_eq!(project.read("runs").lines().count(), 1, "no second run");
    assert_eq!(job(&project)["restarts"], 0);
    assert!(proj.stop().success());
}

#[test]
fn start_runs_a_scheduled_process_now_and_check_prints_the_next_three_times() {
    let project = Project::new(
        r#"
[processes.job]
command = "echo ran >> runs"
oneshot = true
schedule = "0 3 1 1 *"
"#,
    );
    let check = project.run(&["check"]);
    assert!(check.status.success(), "{}", check.stderr);
    let year = jiff::Zoned::now().year();
    let expected = format!(
        "job: `0 3 1 1 *`, next {}-01-01 03:00, {}-01-01 03:00, {}-01-01 03:00",
        year + 1,
        year + 2,
        year + 3
    );
    assert!(check.stdout.contains(&expected), "{}", check.stdout);

    let mut proj = project.up(&[]);
    wait_until("the supervisor answers", || {
        project.run(&["ps"]).status.success().then_some(())
    });
    assert_eq!(job(&project)["state"], "stopped");
    let start = project.run(&["start", "job"]);
    assert!(start.status.success(), "{}", start.stderr);
    project.wait_for_file_content("runs", "ran");
    let job = wait_until("job exited", || {
        let job = job(&project);
        (job["state"] == "exited").then_some(job)
    });
    assert!(
        job["next_run"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}-01-01T03:00:00", year + 1))
    );
    assert!(proj.stop().success());
}

#[test]
fn bad_schedules_are_config_errors_that_name_the_field() {
    let cases = [
        (
            "command = \"x\"\noneshot = true\nschedule = \"0 25 * * *\"",
            "proj.toml:5:15",
            "the hour field `25` is invalid",
        ),
        (
            "command = \"x\"\noneshot = true\nschedule = \"*/5 * * *\"",
            "proj.toml:5:12",
            "4 fields; a schedule has 5",
        ),
        (
            "command = \"x\"\nschedule = \"0 2 * * *\"",
            "proj.toml:4:12",
            "`schedule` in process `job`, which is not a oneshot",
        ),
    ];
    for (body, at, says) in cases {
        let project = Project::new(&format!("\n[processes.job]\n{body}\n"));
        let output = project.run(&["check"]);
        assert_eq!(output.status.code(), Some(2), "{body}: {}", output.stderr);
        assert!(output.stderr.contains(at), "want {at}\n{}", output.stderr);
        assert!(
            output.stderr.contains(says),
            "want {says}\n{}",
            output.stderr
        );
        assert!(output.stderr.contains('^'), "{}", output.stderr);
    }
}
