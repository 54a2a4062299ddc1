//! Who a child runs as: `user` and `group` (SPEC §2), resolved before the fork.
//!
//! Everything that reads `/etc/passwd`, `/etc/group` or NSS allocates and may take
//! locks, which the forked child must not do; so the account, its primary group and its
//! supplementary groups (`getgrouplist`, what `initgroups` would set) are looked up here,
//! in proj, and the child only makes the three system calls, in the one safe order:
//! supplementary groups, then the group, then the user (once the user is switched, proj
//! no longer has the right to change groups).
//!
//! Only root can switch. proj running as someone else with `user` naming that same
//! account needs no switch; naming another account is an error that says so.

use std::ffi::CString;

use nix::unistd::{Gid, Group, Uid, User};

/// The credentials a child switches to, and what its environment should say about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub uid: Uid,
    pub gid: Gid,
    /// Supplementary groups (including `gid`).
    pub groups: Vec<Gid>,
}

impl Identity {
    /// Resolve `user` and `group`; `Ok(None)` when there is nothing to switch (neither is
    /// set, or they name what proj already runs as).
    pub(crate) fn resolve(
        user: Option<&str>,
        group: Option<&str>,
    ) -> Result<Option<Identity>, String> {
        if user.is_none() && group.is_none() {
            return Ok(None);
        }
        let account = match user {
            Some(name) => Some(lookup_user(name)?),
            None => None,
        };
        let gid = match (group, &account) {
            (Some(name), _) => lookup_group(name)?.gid,
            (None, Some(account)) => account.gid,
            (None, None) => nix::unistd::getegid(),
        };
        let uid = account
            .as_ref()
            .map_or_else(nix::unistd::geteuid, |account| account.uid);
        let groups = match &account {
            Some(account) => {
                let name = CString::new(account.name.as_bytes())
                    .map_err(|_| format!("user name `{}` holds a NUL byte", account.name))?;
                nix::unistd::getgrouplist(&name, gid).map_err(|error| {
                    format!("cannot list the groups of `{}`: {error}", account.name)
                })?
            }
            None => vec![gid],
        };
        let me = nix::unistd::geteuid();
        if uid == me && gid == nix::unistd::getegid() && !me.is_root() {
            return Ok(None);
        }
        if !me.is_root() {
            let who = User::from_uid(me)
                .ok()
                .flatten()
                .map_or_else(|| format!("uid {me}"), |user| user.name);
            let wanted = match (user, group) {
                (Some(user), _) => format!("user `{user}`"),
                (None, Some(group)) => format!("group `{group}`"),
                (None, None) => String::new(),
            };
            return Err(format!(
                "proj runs as {who}, not root, so it cannot switch to {wanted}; \
                 run proj as root (systemd: no `User=` in the unit), or remove `user`/`group`"
            ));
        }
        Ok(Some(Identity { uid, gid, groups }))
    }

    /// In the child, before exec: supplementary groups, group, user, in that order.
    /// Only system calls: nothing allocates.
    pub(super) fn switch(&self) -> std::io::Result<()> {
        nix::unistd::setgroups(&self.groups)?;
        nix::unistd::setgid(self.gid)?;
        nix::unistd::setuid(self.uid)?;
        Ok(())
    }
}

/// `HOME`, `USER` and `LOGNAME` for a child running as `user`, as login(1) sets them;
/// empty when there is no such account (the spawn then fails with the reason).
pub(crate) fn login_environment(user: &str) -> Vec<(&'static str, String)> {
    match lookup_user(user) {
        Ok(account) => vec![
            ("HOME", account.dir.to_string_lossy().into_owned()),
            ("USER", account.name.clone()),
            ("LOGNAME", account.name),
        ],
        Err(_) => Vec::new(),
    }
}

/// Whether `name` is an account on this machine (for `proj check`).
pub(crate) fn user_exists(name: &str) -> Result<(), String> {
    lookup_user(name).map(drop)
}

/// Whether `name` is a group on this machine (for `proj check`).
pub(crate) fn group_exists(name: &str) -> Result<(), String> {
    lookup_group(name).map(drop)
}

fn lookup_user(name: &str) -> Result<User, String> {
    match User::from_name(name) {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(format!("no user named `{name}` on this machine")),
        Err(error) => Err(format!("cannot look up user `{name}`: {error}")),
    }
}

fn lookup_group(name: &str) -> Result<Group, String> {
    match Group::from_name(name) {
        Ok(Some(group)) => Ok(group),
        Ok(None) => Err(format!("no group named `{name}` on this machine")),
        Err(error) => Err(format!("cannot look up group `{name}`: {error}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_switch_without_user_or_group() {
        assert_eq!(Identity::resolve(None, None), Ok(None));
    }

    #[test]
    fn unknown_accounts_are_named() {
        let error = Identity::resolve(Some("no-such-user-proj"), None).unwrap_err();
        assert!(
            error.contains("no user named `no-such-user-proj`"),
            "{error}"
        );
        assert!(user_exists("root").is_ok());
        assert!(group_exists("no-such-group-proj").is_err());
    }

    #[test]
    fn root_resolves_an_account_with_its_groups_and_home() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let identity = Identity::resolve(Some("nobody"), None).unwrap().unwrap();
        let nobody = User::from_name("nobody").unwrap().unwrap();
        assert_eq!(identity.uid, nobody.uid);
        assert_eq!(identity.gid, nobody.gid);
        assert!(identity.groups.contains(&nobody.gid));
        let env = login_environment("nobody");
        assert!(env.contains(&("USER", "nobody".to_string())), "{env:?}");
        assert!(env.contains(&("LOGNAME", "nobody".to_string())), "{env:?}");
    }
}
