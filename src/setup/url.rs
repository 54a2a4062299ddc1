//! Git URLs as proj reads them: is this argument a URL, which directory does it clone
//! into, and do two URLs name the same repository.
//!
//! The forms git accepts: `scheme://[user@]host[:port]/path` (https, ssh, git, file),
//! scp-like `[user@]host:path`, and local paths. Two URLs name the same repository when
//! their host (lower-cased, without user and default port) and path (without a trailing
//! `/` or `.git`) are equal, whatever the transport: `git@github.com:acme/shop.git` and
//! `https://github.com/acme/shop` are one repository. Local paths and `file://` URLs
//! compare as canonical paths.

use std::path::{Path, PathBuf};

/// Whether `text` is written as a git URL (not a plain path): `scheme://…` or scp-like
/// `[user@]host:path`. Process names (`web`, `web.2`) are never URLs.
pub(crate) fn is_url(text: &str) -> bool {
    text.contains("://") || scp_like(text).is_some()
}

/// `[user@]host:path` → `(host, path)`, as git reads it: a colon before any slash, and
/// something on both sides.
fn scp_like(text: &str) -> Option<(&str, &str)> {
    if text.contains("://") {
        return None;
    }
    let (before, path) = text.split_once(':')?;
    if before.is_empty() || path.is_empty() || before.contains('/') {
        return None;
    }
    let host = before.rsplit_once('@').map_or(before, |(_, host)| host);
    (!host.is_empty()).then_some((host, path))
}

/// The directory `git clone URL` would create: the last path component without `.git`.
pub(crate) fn repo_name(url: &str) -> Option<String> {
    let path = match scp_like(url) {
        Some((_, path)) => path,
        None => url.split_once("://").map_or(url, |(_, rest)| rest),
    };
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix("/.git").unwrap_or(path);
    let last = path.rsplit(['/', ':']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// What identifies a repository across the ways of writing its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    Remote { host: String, path: String },
    Local(PathBuf),
}

/// The identity of `url`; relative local paths are read from `cwd`.
pub(crate) fn identity(url: &str, cwd: &Path) -> Identity {
    if let Some(path) = url.strip_prefix("file://") {
        return local(Path::new(path), cwd);
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let host = match host_port.rsplit_once(':') {
            Some((host, port)) if is_default_port(scheme, port) => host,
            _ => host_port,
        };
        return remote(host, path);
    }
    if let Some((host, path)) = scp_like(url) {
        return remote(host, path);
    }
    local(Path::new(url), cwd)
}

fn is_default_port(scheme: &str, port: &str) -> bool {
    matches!(
        (scheme.to_ascii_lowercase().as_str(), port),
        ("ssh", "22") | ("https", "443") | ("http", "80") | ("git", "9418")
    )
}

fn remote(host: &str, path: &str) -> Identity {
    let path = path.trim_matches('/');
    let path = path
        .strip_suffix(".git")
        .unwrap_or(path)
        .trim_end_matches('/');
    Identity::Remote {
        host: host.to_ascii_lowercase(),
        path: path.trim_start_matches("~/").to_string(),
    }
}

fn local(path: &Path, cwd: &Path) -> Identity {
    let path = cwd.join(path);
    // A clone of `/x/app` may record `/x/app/.git`: the same repository.
    let path = if path.ends_with(".git") && path.parent().is_some_and(|p| p.join(".git") == path) {
        path.parent().map(Path::to_path_buf).unwrap_or(path)
    } else {
        path
    };
    Identity::Local(path.canonicalize().unwrap_or(path))
}

/// The URL to hand to libgit2: local paths made absolute, so the clone's `origin` does
/// not depend on the directory proj was started in.
pub(crate) fn for_libgit2(url: &str, cwd: &Path) -> String {
    if is_url(url) {
        return url.to_string();
    }
    let path = cwd.join(url);
    path.canonicalize()
        .or_else(|_| std::path::absolute(&path))
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A submodule URL relative to its parent's remote (`../lib.git`), made absolute the way
/// git does it: each `../` drops one component of the parent's URL. Other URLs are
/// returned as they are. (libgit2 mangles `file://` parents here: `file:///x` loses a
/// slash.)
pub(crate) fn resolve_relative(parent: &str, submodule: &str) -> String {
    if !submodule.starts_with("./") && !submodule.starts_with("../") {
        return submodule.to_string();
    }
    let mut base = parent.trim_end_matches('/').to_string();
    let mut rest = submodule;
    let mut separator = '/';
    loop {
        if let Some(after) = rest.strip_prefix("./") {
            rest = after;
        } else if let Some(after) = rest.strip_prefix("../") {
            rest = after;
            // Past `scheme://host` nothing is removed; scp-like `host:path` stops at `:`.
            let floor = base.find("://").map_or(0, |i| i + 3);
            match base[floor..].rfind('/') {
                Some(slash) => base.truncate(floor + slash),
                None => {
                    if let Some(colon) = base[floor..].rfind(':') {
                        base.truncate(floor + colon);
                        separator = ':';
                    }
                }
            }
        } else {
            break;
        }
    }
    format!("{base}{separator}{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_submodule_urls_resolve_against_the_parent() {
        assert_eq!(resolve_relative("file:///x/app", "../lib"), "file:///x/lib");
        assert_eq!(
            resolve_relative("https://h/acme/app.git", "../lib.git"),
            "https://h/acme/lib.git"
        );
        assert_eq!(resolve_relative("/srv/app/", "./sub"), "/srv/app/sub");
        assert_eq!(
            resolve_relative("git@h:acme/app.git", "../../lib"),
            "git@h:lib"
        );
        assert_eq!(
            resolve_relative("/srv/app", "https://h/lib.git"),
            "https://h/lib.git"
        );
    }

    #[test]
    fn urls_and_not_urls() {
        for url in [
            "https://github.com/acme/shop.git",
            "ssh://git@host:2222/x",
            "file:///tmp/shop",
            "git@github.com:acme/shop.git",
            "host:shop",
        ] {
            assert!(is_url(url), "{url}");
        }
        for text in [
            "web",
            "web.2",
            "./shop",
            "/tmp/shop",
            "../a:b/c",
            "shop.git",
        ] {
            assert!(!is_url(text), "{text}");
        }
    }

    #[test]
    fn the_repository_name_is_the_last_component_without_dot_git() {
        assert_eq!(
            repo_name("https://github.com/acme/shop.git").as_deref(),
            Some("shop")
        );
        assert_eq!(
            repo_name("git@github.com:acme/shop").as_deref(),
            Some("shop")
        );
        assert_eq!(repo_name("git@host:shop.git").as_deref(), Some("shop"));
        assert_eq!(repo_name("file:///srv/git/shop/").as_deref(), Some("shop"));
        assert_eq!(repo_name("/srv/git/shop/.git").as_deref(), Some("shop"));
        assert_eq!(repo_name("../shop").as_deref(), Some("shop"));
        assert_eq!(repo_name("file:///"), None);
    }

    #[test]
    fn one_repository_over_different_transports_is_one_identity() {
        let cwd = Path::new("/");
        let expected = identity("https://github.com/acme/shop", cwd);
        for url in [
            "git@github.com:acme/shop.git",
            "ssh://git@GitHub.com:22/acme/shop.git",
            "https://user@github.com:443/acme/shop/",
            "git://github.com/acme/shop.git",
        ] {
            assert_eq!(identity(url, cwd), expected, "{url}");
        }
        assert_ne!(identity("https://github.com/acme/other", cwd), expected);
        assert_ne!(identity("https://gitlab.com/acme/shop", cwd), expected);
        assert_ne!(identity("ssh://github.com:2222/acme/shop", cwd), expected);
    }

    #[test]
    fn local_paths_and_file_urls_compare_as_canonical_paths() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("shop");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        let expected = identity(repo.to_str().unwrap(), Path::new("/"));
        assert_eq!(
            identity(&format!("file://{}", repo.display()), Path::new("/")),
            expected
        );
        assert_eq!(identity("shop", dir.path()), expected);
        assert_eq!(identity("./shop/.git", dir.path()), expected);
        assert_ne!(identity("other", dir.path()), expected);
    }
}
