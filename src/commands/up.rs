//! `proj up [URL|DIR] [NAME...]`: clone when given a URL, run setup, start the processes
//! and supervise them in the foreground.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::UpArgs;
use crate::config::{self, Plan};
use crate::control::endpoint;
use crate::logs::clock::Clock;
use crate::logs::printer::{PROJ_NAME, Printer, Style};
use crate::setup::url;
use crate::supervisor;

use super::{Context, detach};

pub(super) fn run(context: &Context, args: UpArgs) -> Result<(), Error> {
    let (source, names) = split_targets(args.targets)?;
    if args.branch.is_some() && !matches!(source, Source::Repository(_)) {
        return Err(Error::Usage(
            "--branch applies only when `proj up` is given a git URL to clone".into(),
        ));
    }
    // Watches Ctrl-C from the clone to the supervisor (or the end of `-d`).
    let mut watcher = None;
    let cloned_context;
    let (context, directory) = match source {
        Source::Found => (context, None),
        Source::Directory(directory) => (context, Some(directory)),
        Source::Repository(url) => {
            let directory = super::clone::default_dir(&url)?;
            let pull = !args.no_pull;
            super::clone::fetch(&url, &directory, args.branch.clone(), pull, &mut watcher)?;
            cloned_context = super::clone::in_clone(context, &directory);
            (&cloned_context, None)
        }
    };
    let options = config::LoadOptions {
        choose_auto_ports: true,
        auto_ports: args
            .auto_ports
            .iter()
            .filter_map(|pair| {
                let (name, port) = pair.split_once('=')?;
                Some((name.to_string(), port.parse().ok()?))
            })
            .collect(),
        ..args.run.load_options()
    };
    let plan = context.load_plan_with(directory, &options)?;
    check_names(&plan, &names)?;
    check_accounts(&plan)?;
    // Before anything runs: one supervisor per project.
    let claim = endpoint::claim(&plan.root)?;
    // Setup in the foreground, before anything starts; a detached supervisor is started
    // with --no-setup once it is done.
    let plan = if args.no_setup || args.detached_child {
        super::setup::requires_only(&plan)?;
        plan
    } else {
        super::setup::before_start(context, plan, &mut watcher)?
    };
    if let Some(watcher) = &watcher {
        watcher.exit_on_signal();
    }
    if args.detach {
        drop(claim);
        return detach::run(&plan, &names, &args.run, args.exit_on_failure);
    }
    // From here the supervisor's own listeners take the signals.
    drop(watcher);
    crate::process::descriptors::raise_limit();
    if args.detached_child {
        // A session of its own: no terminal, no hang-up from the shell that started it.
        let _ = nix::unistd::setsid();
    }
    // Still one thread (the setup's watcher is gone): the guardian is forked now, before
    // the printer, the TUI and the runtimes start theirs.
    let grounds = super::supervise::Grounds::prepare()
        .map_err(|error| Error::io("cannot start the guardian", error))?;

    let name_width = plan
        .instances()
        .map(|(_, instance)| instance.name.len())
        .chain([PROJ_NAME.len()])
        .max()
        .unwrap_or(0);
    let style = Style {
        color: context.stdout_color(),
        clock: Clock::default(),
        name_width,
    };
    let mut tui = None;
    let printer = if crate::tui::wanted(args.tui, args.no_tui, args.detached_child) {
        // The TUI owns the terminal; proj's messages go to .proj/logs/proj.log too.
        let (printer, launched) = crate::tui::launch(&plan.root, style, args.scrollback)?;
        tui = Some(launched);
        Ok(printer)
    } else if crate::logs::journal::stdout_is_journal() {
        // Under systemd with stdout in the journal: priorities, no timestamps.
        Printer::start_journal(style, std::io::stdout())
    } else {
        Printer::start(style)
    }
    .map_err(|error| Error::io("cannot start output", error))?;
    // The first line names the file read (SPEC §9.4): a Procfile.dev beside a Procfile
    // is chosen over it, and a reader should see which.
    printer.message(
        crate::logs::printer::Level::Info,
        format!("using {}", shown_path(&plan.source)),
    );
    // The supervisor runs on this thread (`block_on`) and forks every child from it; it
    // lives as long as proj, which matters because PR_SET_PDEATHSIG fires when the
    // forking *thread* exits. Two workers read output and write log files meanwhile.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the runtime", error))?;
    let options = supervisor::Options {
        only: names,
        printer,
        handle: tui.as_mut().and_then(|tui| tui.handle.take()),
        exit_on_failure: args.exit_on_failure,
        probes: Some(probe_runtime()?),
    };
    let result = runtime.block_on(super::supervise::supervise(plan, options, &claim, grounds));
    // The terminal is given back before anything else is printed.
    let shown = tui.map_or(Ok(()), crate::tui::Launched::join);
    let gave_up = result.map_err(|error| Error::io("supervisor", error))?;
    shown?;
    // Output readers of escaped processes may still hold a pipe: don't wait for them.
    runtime.shutdown_background();
    match gave_up {
        Some(failure) => Err(Error::NotUp(format!(
            "{failure} (stopped everything: --exit-on-failure)"
        ))),
        None => Ok(()),
    }
}

/// `path` as the user would write it: relative to the current directory when inside it.
fn shown_path(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The runtime readiness and health probes run on: one thread of its own, parked in
/// `epoll_wait` between attempts. On the work-stealing pool each attempt (a timer, a
/// connect, a read) woke a worker that then woke another to steal from it; here it
/// wakes one thread, and 50 idle http checks cost about half the CPU (README
/// "Health checks"). The thread lives as long as proj: exec probes fork from it, and
/// PR_SET_PDEATHSIG fires when the forking thread exits.
fn probe_runtime() -> Result<tokio::runtime::Handle, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("cannot start the probes' runtime", error))?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name("proj-probes".into())
        .spawn(move || runtime.block_on(std::future::pending::<()>()))
        .map_err(|error| Error::io("cannot start the probes' thread", error))?;
    Ok(handle)
}

/// Where the project comes from.
#[derive(Debug, PartialEq, Eq)]
enum Source {
    /// Found by walking up from the current directory.
    Found,
    Directory(PathBuf),
    /// A git URL (or a bare repository's directory) to clone into `./REPO-NAME`.
    Repository(String),
}

/// The first target may be a URL or a project directory; the rest (or all) are names.
/// A directory holding a bare repository has no project to run: it is cloned.
fn split_targets(mut targets: Vec<String>) -> Result<(Source, Vec<String>), Error> {
    let Some(first) = targets.first() else {
        return Ok((Source::Found, targets));
    };
    if url::is_url(first) || is_bare_repository(Path::new(first)) {
        let url = targets.remove(0);
        return Ok((Source::Repository(url), targets));
    }
    if Path::new(first).is_dir() {
        let directory = PathBuf::from(targets.remove(0));
        return Ok((Source::Directory(directory), targets));
    }
    Ok((Source::Found, targets))
}

fn is_bare_repository(path: &Path) -> bool {
    path.is_dir() && git2::Repository::open_bare(path).is_ok_and(|repo| repo.is_bare())
}

/// Every name must be a process (`web`) or an instance (`web.2`) of the plan.
fn check_names(plan: &Plan, names: &[String]) -> Result<(), Error> {
    let known: Vec<String> = plan
        .processes
        .iter()
        .map(|p| p.name.clone())
        .chain(
            plan.instances()
                .filter(|(process, _)| process.scale > 1)
                .map(|(_, instance)| instance.name),
        )
        .collect();
    let unknown: Vec<&String> = names.iter().filter(|n| !known.contains(n)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let list = |names: &[&String]| {
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Error::Usage(format!(
        "no process or directory named {} in {}\n  = help: the processes are: {}",
        list(&unknown),
        plan.source.display(),
        list(&known.iter().collect::<Vec<_>>()),
    )))
}

/// Every `user`/`group` must be one proj can switch to: as root, any account; as anyone
/// else, only their own. Said once, before anything starts, rather than by every spawn.
fn check_accounts(plan: &Plan) -> Result<(), Error> {
    for process in &plan.processes {
        crate::process::identity::Identity::resolve(
            process.user.as_deref(),
            process.group.as_deref(),
        )
        .map_err(|reason| Error::Account {
            process: process.name.clone(),
            reason,
        })?;
    }
    Ok(())
}
