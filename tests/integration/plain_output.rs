//! Plain mode output (SPEC §5): `HH:MM:SS.mmm NAME | TEXT`, padded names, proj's own
//! messages under `proj`, colours only when asked.

use crate::support::*;

fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 12
        && bytes.iter().enumerate().all(|(i, b)| match i {
            2 | 5 => *b == b':',
            8 => *b == b'.',
            _ => b.is_ascii_digit(),
        })
}

#[test]
fn every_line_is_prefixed_with_time_and_a_padded_name() {
    let project = Project::new(
        r#"
[processes]
a = "echo hello from a; exec sleep 1000"
longer_name = "echo hello from longer; exec sleep 1000"
"#,
    );
    let mut proj = project.up(&[]);
    let a = proj.wait_for("hello from a");
    let longer = proj.wait_for("hello from longer");
    let started = proj.wait_for("a: started pid");
    assert!(proj.stop().success());

    assert!(is_timestamp(&a[..12]), "{a}");
    assert_eq!(&a[12..], " a           | hello from a");
    assert_eq!(&longer[12..], " longer_name | hello from longer");
    assert!(is_timestamp(&started[..12]), "{started}");
    let (name, message) = started[13..].split_once(" | ").unwrap();
    assert_eq!(name, "proj       ");
    assert!(message.starts_with("a: started pid "), "{started}");
    message["a: started pid ".len()..].parse::<u32>().unwrap();
}

#[test]
fn stderr_lines_are_shown_too() {
    let project = Project::new("[processes]\nerr = \"echo to stderr >&2; exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for_output("err", "to stderr");
    assert!(proj.stop().success());
}

#[test]
fn no_colour_when_stdout_is_not_a_terminal() {
    let project = Project::new("[processes]\na = \"echo plain; exec sleep 1000\"\n");
    let mut proj = project.up(&[]);
    proj.wait_for("plain");
    assert!(proj.stop().success());
    assert!(!proj.text().contains('\x1b'), "{:?}", proj.text());
}

#[test]
fn colour_always_colours_names_even_off_a_terminal() {
    let project = Project::new("[processes]\na = \"echo coloured; exec sleep 1000\"\n");
    let mut proj = project.up(&["--color", "always"]);
    let line = proj.wait_for("coloured");
    assert!(proj.stop().success());
    assert!(line.contains("\x1b[36ma\x1b[0m"), "{line:?}");
}

#[test]
fn colour_flag_is_global_before_the_subcommand_too() {
    let project = Project::new("[processes]\na = \"echo coloured; exec sleep 1000\"\n");
    let mut proj = Running::start(project.command(&["--color=always", "up", "--no-tui"]));
    let line = proj.wait_for("coloured");
    assert!(proj.stop().success());
    assert!(line.contains('\x1b'), "{line:?}");
}

#[test]
fn process_colours_pass_through_unchanged() {
    let project = Project::new(
        "[processes]\na = \"printf '\\\\033[31mred\\\\033[0m\\\\n'; exec sleep 1000\"\n",
    );
    let mut proj = project.up(&[]);
    let line = proj.wait_for("red");
    assert!(proj.stop().success());
    assert!(line.ends_with("| \x1b[31mred\x1b[0m"), "{line:?}");
}
