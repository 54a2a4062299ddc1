//! `/proc/PID/stat`, read in one place: the fields proj's process code needs.

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    /// `R`, `S`, `Z`, …
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    /// User and system CPU time, in clock ticks.
    pub cpu_ticks: u64,
    /// Clock ticks after boot at which it started: with the pid, a name no later process
    /// can take.
    pub start_time: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
    /// How many threads it has.
    pub threads: u64,
}

impl Stat {
    /// Exited (or dying) and waiting to be reaped: it runs nothing any more.
    pub(crate) fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// `pid (comm) state ppid pgrp session …`. The command name may hold spaces and
/// parentheses, so fields are counted from the last `)`.
pub(crate) fn parse(stat: &str) -> Option<Stat> {
    let fields = fields(stat)?;
    let field = |n: usize| fields.get(n - 3).copied();
    let number = |n: usize| field(n)?.parse::<u64>().ok();
    Some(Stat {
        state: field(3)?.chars().next()?,
        ppid: field(4)?.parse().ok()?,
        pgrp: field(5)?.parse().ok()?,
        session: field(6)?.parse().ok()?,
        cpu_ticks: number(14)? + number(15)?,
        start_time: number(22)?,
        rss_pages: number(24)?,
        threads: number(20)?,
    })
}

/// The fields after the command name: field n of proc(5) (1-based) is `[n - 3]`.
fn fields(stat: &str) -> Option<Vec<&str>> {
    let after = &stat[stat.rfind(')')? + 1..];
    Some(after.split_whitespace().collect())
}

/// The numeric fields `wanted` (numbered as in proc(5)) of a `/proc/PID/stat` text:
/// the addresses of the memory layout (`startcode`, `arg_start`, …) that [`Stat`] has no
/// use for.
pub(crate) fn numbers<const N: usize>(stat: &str, wanted: [usize; N]) -> Option<[u64; N]> {
    let fields = fields(stat)?;
    let mut numbers = [0; N];
    for (number, n) in numbers.iter_mut().zip(wanted) {
        *number = fields.get(n.checked_sub(3)?)?.parse().ok()?;
    }
    Some(numbers)
}

/// The stat of process `pid`; `None` when it is gone (or its stat is unreadable).
pub(crate) fn read(pid: i32) -> Option<Stat> {
    parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_a_tricky_command_name() {
        let stat = "4242 (my (odd) app) S 1 4243 4244 0 -1 4194560 100 0 0 0 \
                    30 12 0 0 20 0 1 0 5000 10000000 256 18446744073709551615";
        assert_eq!(
            parse(stat),
            Some(Stat {
                state: 'S',
                ppid: 1,
                pgrp: 4243,
                session: 4244,
                cpu_ticks: 42,
                start_time: 5000,
                rss_pages: 256,
                threads: 1,
            })
        );
        assert_eq!(numbers(stat, [20, 22, 24]), Some([1, 5000, 256]));
        assert_eq!(numbers(stat, [4, 99]), None);
    }

    #[test]
    fn reads_this_process() {
        let own = read(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert!(!own.is_zombie());
        assert_eq!(own.pgrp, nix::unistd::getpgrp().as_raw());
        assert!(read(i32::MAX).is_none());
    }
}
