//! `proj man`: the man pages come from the clap definitions, so they stay in step
//! with `--help`.

use std::process::Command;

use crate::support::*;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(proj_binary())
        .args(args)
        .output()
        .expect("run proj")
}

/// The `--long` options a `--help` text lists.
fn long_options(help: &str) -> Vec<String> {
    help.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            let at = line.find("--")?;
            // Only option lines: `-f, --file <PATH>` or `--tui`, not prose.
            if at > 4 {
                return None;
            }
            let name: String = line[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (name.len() > 2).then_some(name)
        })
        .collect()
}

#[test]
fn man_writes_a_page_per_subcommand_in_step_with_help() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["man", "-o", dir.path().to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let main = std::fs::read_to_string(dir.path().join("proj.1")).expect("proj.1");
    assert!(main.starts_with(".ie"), "{main}");
    assert!(main.contains(".TH proj 1"), "{main}");
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    let subcommands: Vec<String> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        // Wrapped descriptions continue on deeper-indented lines.
        .filter(|line| !line[2..].starts_with(' '))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(subcommands.contains(&"up".to_string()), "{help}");
    assert!(subcommands.contains(&"man".to_string()), "{help}");
    for name in subcommands {
        let page = std::fs::read_to_string(dir.path().join(format!("proj-{name}.1")))
            .unwrap_or_else(|_| panic!("no page for `proj {name}`"));
        assert!(page.contains(&format!(".TH proj-{name} 1")), "{page}");
        let help = String::from_utf8(run(&[&name, "--help"]).stdout).unwrap();
        for option in long_options(&help) {
            // roff escapes `-` as `\-`.
            let escaped = option.replace('-', "\\-");
            assert!(
                page.contains(&escaped),
                "proj-{name}.1 lacks {option}, which `proj {name} --help` lists"
            );
        }
    }
}

#[test]
fn man_without_a_directory_prints_proj_1() {
    let output = run(&["man"]);
    assert!(output.status.success());
    let page = String::from_utf8(output.stdout).unwrap();
    assert!(page.contains(".TH proj 1"), "{page}");
    assert!(
        page.contains("proj\\-up(1)") || page.contains("proj\\-up"),
        "{page}"
    );
}
