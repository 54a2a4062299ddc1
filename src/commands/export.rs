//! `proj export TARGET`: `systemd` writes the unit files ([`crate::export::systemd`]) and
//! says how to install them; `kubernetes` and `compose` are in [`super::export_manifests`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::cli::{ExportArgs, ExportTarget, ServiceTypeArg, SystemdExportArgs};
use crate::config::{Plan, parse_duration};
use crate::export::systemd::{self, Options, ServiceType, UnitFile};
use crate::process::identity;

use super::Context;

pub(super) fn run(context: &Context, args: ExportArgs) -> Result<(), Error> {
    match args.target {
        ExportTarget::Systemd(args) => systemd(context, args),
        ExportTarget::Kubernetes(args) => super::export_manifests::kubernetes(context, args),
        ExportTarget::Compose(args) => super::export_manifests::compose(context, args),
    }
}

fn systemd(context: &Context, args: SystemdExportArgs) -> Result<(), Error> {
    let plan = context.load_plan(None)?;
    let options = options(&plan, &args)?;
    let files = if args.per_process {
        systemd::per_process(&plan, &options)
    } else {
        vec![systemd::service(&plan, &options)]
    };
    let dir = match args.output {
        Some(dir) => dir,
        None => std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error))?,
    };
    std::fs::create_dir_all(&dir)
        .map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))?;
    for file in &files {
        let path = dir.join(&file.name);
        std::fs::write(&path, &file.content)
            .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
        crate::outln!("wrote {}", path.display());
    }
    crate::out!("{}", next_steps(&dir, &files));
    Ok(())
}

/// What the flags ask for, checked against the config.
fn options(plan: &Plan, args: &SystemdExportArgs) -> Result<Options, Error> {
    let proj = std::env::current_exe()
        .and_then(|path| path.canonicalize())
        .map_err(|error| Error::io("cannot find proj's own path", error))?;
    let watchdog = match &args.watchdog {
        None => None,
        Some(_) if args.per_process => {
            return Err(Error::Usage(
                "--watchdog watches proj's own supervisor: it does not apply with --per-process"
                    .into(),
            ));
        }
        Some(text) => Some(parse_watchdog(text).map_err(Error::Usage)?),
    };
    if let Some(user) = &args.user {
        identity::user_exists(user).map_err(|reason| Error::Usage(format!("--user: {reason}")))?;
        // proj itself runs as --user: it can no longer switch to anyone else.
        if !args.per_process
            && let Some(process) = plan
                .processes
                .iter()
                .find(|process| process.user.as_ref().is_some_and(|other| other != user))
        {
            return Err(Error::Usage(format!(
                "--user {user} runs proj itself as {user}, but process `{}` has `user = \"{}\"`, \
                 which only a proj running as root can switch to\n  \
                 = help: leave out --user (proj starts as root and each process drops to its \
                 `user`), or remove `user` from the processes",
                process.name,
                process.user.as_deref().unwrap_or_default(),
            )));
        }
    }
    let service_type = match args.service_type {
        Some(ServiceTypeArg::Notify) => ServiceType::Notify,
        Some(ServiceTypeArg::NotifyReload) => ServiceType::NotifyReload,
        None => ServiceType::for_version(systemd::local_systemd_version()),
    };
    Ok(Options {
        proj,
        service_type,
        watchdog,
        user: args.user.clone(),
    })
}

/// `30s`, `2m`, or a number of seconds.
fn parse_watchdog(text: &str) -> Result<Duration, String> {
    let duration = match text.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => parse_duration(text).map_err(|error| format!("--watchdog: {error}"))?,
    };
    if duration < Duration::from_secs(1) {
        return Err("--watchdog: systemd's WatchdogSec= needs at least 1s".into());
    }
    Ok(duration)
}

/// The commands that install and start what was written.
fn next_steps(dir: &Path, files: &[UnitFile]) -> String {
    let names: Vec<PathBuf> = files.iter().map(|file| dir.join(&file.name)).collect();
    let shown: Vec<String> = names
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let main = files
        .iter()
        .find(|file| file.name.ends_with(".target"))
        .or(files.first())
        .map(|file| file.name.clone())
        .unwrap_or_default();
    format!(
        "\nto install and start it:\n  \
         sudo cp {} /etc/systemd/system/\n  \
         sudo systemctl daemon-reload\n  \
         sudo systemctl enable --now {main}\n",
        shown.join(" ")
    )
}
