//! `proj export kubernetes` and `proj export compose`: build the file from the plan
//! ([`crate::export`]), print on stderr what was left out, then write it. An invalid
//! config stops at loading the plan (exit 2) and writes nothing.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::cli::{ComposeExportArgs, KubernetesExportArgs};
use crate::export::{self, Export};

use super::Context;

pub(super) fn kubernetes(context: &Context, args: KubernetesExportArgs) -> Result<(), Error> {
    if args.image.trim().is_empty() {
        return Err(Error::Usage(
            "--image: name the image to run, e.g. shop:1.0".into(),
        ));
    }
    if let Some(namespace) = &args.namespace
        && !is_dns_label(namespace)
    {
        return Err(Error::Usage(format!(
            "--namespace {namespace}: a namespace is lower case letters, digits and `-`, \
             starting and ending with a letter or digit, at most 63 characters"
        )));
    }
    let plan = context.load_plan(None)?;
    let options = export::kubernetes::Options {
        image: args.image,
        namespace: args.namespace,
        init_oneshots: !args.no_init_oneshots,
        workdir: workdir(&args.workdir)?,
    };
    let file = export::kubernetes::export(&plan, &options).map_err(Error::Usage)?;
    write(&output_dir(args.output)?, &file)
}

pub(super) fn compose(context: &Context, args: ComposeExportArgs) -> Result<(), Error> {
    if args
        .image
        .as_deref()
        .is_some_and(|image| image.trim().is_empty())
    {
        return Err(Error::Usage(
            "--image: name the image to run, e.g. shop:1.0".into(),
        ));
    }
    let plan = context.load_plan(None)?;
    let dir = output_dir(args.output)?;
    let output_dir = std::path::absolute(&dir)
        .map_err(|error| Error::io(format!("cannot resolve {}", dir.display()), error))?;
    // Compare like with like: the plan's root is canonical.
    let output_dir = canonical_as_far_as_exists(&output_dir);
    let options = export::compose::Options {
        image: args.image,
        output_dir,
        workdir: workdir(&args.workdir)?,
    };
    write(&dir, &export::compose::export(&plan, &options))
}

/// `--workdir`: where the project is in the image, an absolute path.
fn workdir(dir: &str) -> Result<String, Error> {
    if !dir.starts_with('/') {
        return Err(Error::Usage(format!(
            "--workdir {dir}: the project's directory in the image is an absolute path, \
             e.g. /app"
        )));
    }
    let trimmed = dir.trim_end_matches('/');
    Ok(if trimmed.is_empty() { "/" } else { trimmed }.to_owned())
}

fn output_dir(output: Option<PathBuf>) -> Result<PathBuf, Error> {
    match output {
        Some(dir) => Ok(dir),
        None => std::env::current_dir()
            .map_err(|error| Error::io("cannot read the current directory", error)),
    }
}

/// `path` with its longest existing ancestor canonicalized (symlinks resolved), the rest
/// appended: the directory may not exist yet.
fn canonical_as_far_as_exists(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_owned());
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    resolved
}

/// Notes first (stderr), then the file, then where it went (stdout).
fn write(dir: &Path, file: &Export) -> Result<(), Error> {
    for note in &file.notes {
        eprintln!("warning: {note}");
    }
    std::fs::create_dir_all(dir)
        .map_err(|error| Error::io(format!("cannot create {}", dir.display()), error))?;
    let path = dir.join(&file.file_name);
    std::fs::write(&path, &file.content)
        .map_err(|error| Error::io(format!("cannot write {}", path.display()), error))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}
