//! `proj check`: validate the config and print the plan.

use std::fmt::Write;

use crate::Error;
use crate::config::{LoadOptions, Plan};
use crate::control::client::Client;
use crate::control::protocol::Request;

use super::Context;

pub(super) fn run(context: &Context, options: &LoadOptions) -> Result<(), Error> {
    let mut plan = context.load_plan_with(None, options)?;
    ports_of_the_running_supervisor(&mut plan);
    // The tracking goes under the first line, before the tables: a reader of the plan
    // table finds it where it always was, at the end.
    let rendered = render(&plan);
    let (first, rest) = rendered.split_once('\n').unwrap_or((&rendered, ""));
    crate::out!("{first}\n{}\n{rest}", tracking());
    Ok(())
}

/// Which processes are an instance's, as `proj up` would tell here (SPEC §9.1): one
/// line, `tracking: cgroups (…)` or `tracking: process groups and sessions (why)`.
fn tracking() -> String {
    let probed = crate::process::cgroup::Tree::probe();
    format!(
        "tracking: {}",
        crate::process::membership::Tracking::describe(&probed)
    )
}

/// `port = "auto"` is chosen when a run starts: when one is running, its ports are the
/// ones to show (SPEC §2: "shown by `ps`/`check` once known"); otherwise `auto`.
pub(super) fn ports_of_the_running_supervisor(plan: &mut Plan) {
    if !plan
        .processes
        .iter()
        .any(|p| p.port_auto && p.port.is_none())
    {
        return;
    }
    let Ok(mut client) = Client::connect(&plan.root) else {
        return;
    };
    let Ok(response) = client.call(Request::Ps) else {
        return;
    };
    let running = response.instances.unwrap_or_default();
    for process in plan.processes.iter_mut().filter(|p| p.port_auto) {
        process.port = running
            .iter()
            .filter(|instance| instance.process == process.name)
            .filter_map(|instance| instance.port)
            .min();
    }
}

/// The plan as `proj check` prints it.
pub(super) fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let instances: Vec<_> = plan.instances().collect();
    // proj.local.toml changes what the plan says: name it, so nobody wonders why.
    let local = crate::config::local_path(&plan.source)
        .filter(|local| local.is_file())
        .and_then(|local| {
            local
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .map(|name| format!(" (with {name} over it)"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{}{local} is valid: project `{}`, {} process{}, {} instance{}",
        plan.source.display(),
        plan.name,
        plan.processes.len(),
        if plan.processes.len() == 1 { "" } else { "es" },
        instances.len(),
        if instances.len() == 1 { "" } else { "s" },
    );
    if !plan.requires.is_empty() {
        let _ = writeln!(out, "\nrequires: {}", plan.requires.join(", "));
    }
    if !plan.setup.is_empty() {
        let _ = writeln!(out, "\nsetup steps:");
        for (position, step) in plan.setup.iter().enumerate() {
            let mut rules = Vec::new();
            if !step.sources.is_empty() {
                rules.push(format!("sources {}", step.sources.join(" ")));
            }
            if let Some(skip_if) = &step.skip_if {
                rules.push(format!("skip_if `{skip_if}`"));
            }
            if let Some(creates) = &step.creates {
                let shown = creates.strip_prefix(&plan.root).unwrap_or(creates);
                rules.push(format!("creates {}", shown.display()));
            }
            let rules = if rules.is_empty() {
                "runs every time".to_string()
            } else {
                rules.join("; ")
            };
            let _ = writeln!(
                out,
                "  {}. {}: {}  ({rules})",
                position + 1,
                step.name,
                step.command
            );
        }
    }
    let _ = writeln!(out, "\nstart order:");
    for (position, process) in plan.processes.iter().enumerate() {
        let mut notes = Vec::new();
        if process.lifecycle.oneshot {
            notes.push("oneshot".to_string());
        }
        if process.scale == 0 {
            notes.push("not run: -m sets 0 instances".to_string());
        }
        if let Some(schedule) = &process.schedule {
            notes.push(format!("schedule `{schedule}`"));
        } else if !process.autostart {
            notes.push("autostart = false".to_string());
        }
        if process.tty {
            notes.push("tty: `proj connect` types into it".to_string());
        }
        if !process.depends_on.is_empty() {
            notes.push(format!("after {}", process.depends_on.join(", ")));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("  ({})", notes.join("; "))
        };
        let _ = writeln!(out, "  {}. {}{notes}", position + 1, process.name);
    }
    let width = instances
        .iter()
        .map(|(_, i)| i.name.len())
        .chain(["INSTANCE".len()])
        .max()
        .unwrap_or(0);
    // The TTY column only when some process has one: `proj connect` works on those.
    let any_tty = plan.processes.iter().any(|process| process.tty);
    let tty_header = if any_tty { "TTY  " } else { "" };
    let _ = writeln!(
        out,
        "\n{:width$}  {:5}  {tty_header}COMMAND",
        "INSTANCE", "PORT"
    );
    for (process, instance) in &instances {
        let port = match instance.port {
            Some(port) => port.to_string(),
            None if process.port_auto => "auto".to_string(),
            None => "-".to_string(),
        };
        let tty = match (any_tty, process.tty) {
            (false, _) => "",
            (true, true) => "tty  ",
            (true, false) => "-    ",
        };
        let _ = writeln!(
            out,
            "{:width$}  {port:5}  {tty}{}",
            instance.name, process.command
        );
    }
    let scheduled: Vec<_> = plan
        .processes
        .iter()
        .filter_map(|process| Some((process, process.schedule.as_ref()?)))
        .collect();
    if !scheduled.is_empty() {
        let _ = writeln!(
            out,
            "
schedules (local time):"
        );
        let now = jiff::Zoned::now();
        for (process, schedule) in scheduled {
            let mut next = Vec::new();
            let mut after = now.clone();
            while next.len() < 3 {
                let Some(at) = schedule.next_after(&after) else {
                    break;
                };
                next.push(at.strftime("%Y-%m-%d %H:%M").to_string());
                after = at;
            }
            let _ = writeln!(
                out,
                "  {}: `{schedule}`, next {}",
                process.name,
                next.join(", ")
            );
        }
    }
    out
}
