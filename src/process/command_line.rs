//! Whether a command line is one simple command, so that `exec` may replace the shell.
//!
//! Debian's `sh` (dash) does not exec the last command of `sh -c` itself: without the
//! `exec`, every instance would be two processes, `proj ps` would show the shell's pid,
//! and the shell, not the program, would get the stop signal. The decision is made on
//! the command's *words* as `sh` splits them ([`shell_words`], POSIX quoting rules), and
//! on the operators that stand outside quotes: `gunicorn 'app:create_app()'` and
//! `python3 -c 'import a; a.run()'` are simple commands, `a; b` is not.
//!
//! Lists, pipelines, subshells, background jobs, compound commands, builtins, leading
//! variable assignments and command substitutions are left as they are (the shell must
//! stay to run them); any doubt, an unbalanced quote included, leaves the command
//! untouched for `sh` to run or to report.

use std::borrow::Cow;

/// Reserved words and builtins that `exec` cannot run, or that must run in the shell
/// itself to mean anything.
const NOT_EXECUTABLE: [&str; 37] = [
    "!", "{", "}", "[[", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function",
    "if", "in", "select", "then", "until", "while", "alias", "cd", "eval", "exec", "exit",
    "export", "local", "readonly", "return", "set", "shift", "trap", "unset", ".", "source",
    "wait", "ulimit", "umask",
];

/// `exec COMMAND` when COMMAND is one simple command; COMMAND unchanged otherwise.
pub(crate) fn exec_if_simple(command: &str) -> Cow<'_, str> {
    if is_simple(command) {
        format!("exec {}", command.trim()).into()
    } else {
        command.into()
    }
}

/// Whether `command` is one simple command that `exec` can replace the shell with.
pub(crate) fn is_simple(command: &str) -> bool {
    let trimmed = command.trim();
    let Ok(words) = shell_words::split(trimmed) else {
        return false;
    };
    let Some(first) = words.first() else {
        return false;
    };
    !first.contains('=') && !NOT_EXECUTABLE.contains(&first.as_str()) && !has_shell_syntax(trimmed)
}

/// The words of `command` when it is one simple command that the shell would run
/// exactly as written: plain words and quoted ones, with no parameter, arithmetic or
/// command substitution, globbing, tilde, redirection, comment or escape. Executing
/// these words directly is what `sh -c 'exec COMMAND'` does, less the shell's own start.
///
/// Conservative: outside quotes, any character that may mean something to some `sh`
/// (brace expansion to bash as `sh`, say) leaves the command to the shell; inside
/// double quotes `$`, a backquote and a backslash do.
pub(crate) fn literal_words(command: &str) -> Option<Vec<String>> {
    const MEANINGFUL_UNQUOTED: &[char] = &[
        '$', '`', '\\', '*', '?', '[', ']', '~', '<', '>', '#', '{', '}', '!', '&', ';', '|', '(',
        ')',
    ];
    if !is_simple(command) || command.chars().any(char::is_control) {
        return None;
    }
    let mut quoting = Quoting::None;
    for c in command.chars() {
        quoting = match (quoting, c) {
            (Quoting::Single, '\'') | (Quoting::Double, '"') => Quoting::None,
            (Quoting::None, '\'') => Quoting::Single,
            (Quoting::None, '"') => Quoting::Double,
            (Quoting::Double, '$' | '`' | '\\') => return None,
            (Quoting::None, c) if MEANINGFUL_UNQUOTED.contains(&c) => return None,
            (quoting, _) => quoting,
        };
    }
    shell_words::split(command.trim()).ok()
}

/// Where `sh` is reading: outside quotes, inside '…', or inside "…".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Single,
    Double,
}

/// Whether `text` holds, outside single quotes, an operator that makes it more than one
/// simple command (`;`, `&`, `|`, `(`, `)`, a newline) or a command substitution (`$(`,
/// a backquote), which `sh` would run in a subshell of its own.
fn has_shell_syntax(text: &str) -> bool {
    let mut quoting = Quoting::None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoting, c) {
            (Quoting::Single, '\'') => quoting = Quoting::None,
            (Quoting::Single, _) => {}
            (_, '\\') => {
                // The next character is taken literally (in "…" only some are, but
                // skipping one more never turns an operator into a literal wrongly
                // for the characters that matter here).
                chars.next();
            }
            (Quoting::None, '\'') => quoting = Quoting::Single,
            (Quoting::None, '"') => quoting = Quoting::Double,
            (Quoting::Double, '"') => quoting = Quoting::None,
            (_, '`') => return true,
            (_, '$') if chars.peek() == Some(&'(') => return true,
            (Quoting::None, ';' | '&' | '|' | '(' | ')' | '\n') => return true,
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{exec_if_simple, literal_words};

    #[test]
    fn plain_and_quoted_words_are_literal() {
        let words = |command| literal_words(command).unwrap_or_default();
        assert_eq!(words("sleep 1000"), ["sleep", "1000"]);
        assert_eq!(
            words("  gunicorn 'app:create_app()' -b 0.0.0.0:8000 "),
            ["gunicorn", "app:create_app()", "-b", "0.0.0.0:8000"]
        );
        assert_eq!(
            words("nginx -g 'daemon off;'"),
            ["nginx", "-g", "daemon off;"]
        );
        assert_eq!(words("ls '*.py' \"~/x\""), ["ls", "*.py", "~/x"]);
        assert_eq!(words("run --flag=value"), ["run", "--flag=value"]);
        assert_eq!(
            words("python3 -c \"print('hi')\""),
            ["python3", "-c", "print('hi')"]
        );
    }

    #[test]
    fn anything_the_shell_would_expand_or_redirect_is_not_literal() {
        for command in [
            "python3 -m http.server $PORT",
            "echo \"$HOME\"",
            "ls *.py",
            "cat ~/x",
            "sleep 10 > out.log",
            "sort < in",
            "echo a # comment",
            "echo a\\ b",
            "echo {a,b}",
            "echo \"`date`\"",
            "echo \"a\\$b\"",
            "gunicorn app:create_app()",
            "a; b",
            "FOO=1 server",
            "exec server",
            "cd web",
            "tab\there",
            "",
        ] {
            assert_eq!(literal_words(command), None, "{command}");
        }
    }

    #[test]
    fn a_simple_command_replaces_the_shell() {
        assert_eq!(
            exec_if_simple("python3 -m http.server $PORT"),
            "exec python3 -m http.server $PORT"
        );
        assert_eq!(
            exec_if_simple("  sleep 10 > out.log "),
            "exec sleep 10 > out.log"
        );
        assert_eq!(exec_if_simple("echo \"$HOME\""), "exec echo \"$HOME\"");
    }

    #[test]
    fn quoted_operators_leave_a_command_simple() {
        for command in [
            "gunicorn 'app:create_app()'",
            "python3 -c 'import a; a.run()'",
            "python3 -c \"import a; a.run()\"",
            "sh -c 'a && b | c'",
            "echo a\\;b",
            "grep 'x|y' file",
            "echo \"it's (fine)\"",
        ] {
            assert_eq!(
                exec_if_simple(command),
                format!("exec {command}"),
                "{command}"
            );
        }
    }

    #[test]
    fn anything_the_shell_must_run_itself_is_left_alone() {
        for command in [
            "a; b",
            "a && b",
            "a || b",
            "a | b",
            "a &",
            "echo $(date)",
            "echo \"$(date)\"",
            "echo `date`",
            "(cd x && make)",
            "while :; do sleep 1; done",
            "FOO=1 server",
            "cd web",
            "cd var && redis-server",
            "trap '' TERM",
            "exec server",
            "line one\nline two",
            "echo 'unbalanced",
            "",
        ] {
            assert_eq!(exec_if_simple(command), command, "{command}");
        }
    }
}
