//! How an exported command becomes the main process of its container or unit (SPEC
//! §9.6): stop signals go to that process, and `sh` as PID 1 ignores SIGTERM (Debian's
//! dash does not even replace itself with the last command).
//!
//! Theory of operation: the command is read as POSIX sh would tokenize it (quotes,
//! backslashes, `$NAME`/`${NAME}` references, operators), then takes one of three
//! [`Shape`]s:
//!
//! - **Argv**: one simple command whose only shell features are quoting and plain
//!   references (`gunicorn 'app:create_app()' -b 0.0.0.0:$PORT`). It runs without a
//!   shell; each target expands the references from the environment it sets
//!   (Kubernetes `$(NAME)`, systemd `${NAME}`, Compose at export).
//! - **Exec**: it needs sh (a redirection, a glob, `$(…)`, `${NAME:-default}`, a list
//!   such as `cd web && gunicorn app`), and its last command is a program: `exec` goes
//!   before that command, so sh replaces itself with it.
//! - **Shell**: sh has to stay (a pipeline, a background job, `||`, a compound command,
//!   a list ending in a builtin); the exporters warn, naming `command`.
//!
//! A hand-written tokenizer rather than the `shell-words` crate: shell-words splits
//! words but treats `;`, `&&` and `|` as ordinary characters and drops the quoting that
//! tells `'$HOME'` (literal) from `"$HOME"` (a reference), which are both what this
//! module has to know.

use super::references::Part;

/// What running `command` without a shell in between takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The program's words: text and references to variables.
    Argv(Vec<Vec<Part>>),
    /// A sh script whose last command is `exec`'d.
    Exec(String),
    /// sh stays the main process; why (for the warning).
    Shell(&'static str),
}

/// Words that start a compound command: there is no program to `exec`.
const RESERVED: [&str; 17] = [
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "!", "{", "}", "function",
];

/// Builtins that make no sense to `exec` (they change or end the shell itself).
const BUILTINS: [&str; 19] = [
    "cd", ".", "source", "export", "set", "unset", "eval", "exit", "return", "wait", "trap",
    "shift", "read", "alias", "ulimit", "umask", ":", "local", "readonly",
];

/// The shape of `command` (see the module docs).
pub(crate) fn shape(command: &str) -> Shape {
    let elements = match split(command) {
        Ok(elements) => elements,
        Err(reason) => return Shape::Shell(reason),
    };
    let Some(last) = elements.last() else {
        return Shape::Shell("is empty");
    };
    if let Some(first) = &last.first_word {
        if BUILTINS.contains(&first.as_str()) {
            return Shape::Shell("ends with a shell builtin");
        }
        if first == "exec" {
            return Shape::Exec(command.trim().to_owned());
        }
    }
    if elements.len() == 1
        && let Some(words) = &last.words
        && !words.is_empty()
    {
        return Shape::Argv(words.clone());
    }
    let script = format!(
        "{}exec {}",
        &command[..last.start],
        command[last.start..].trim_end()
    );
    Shape::Exec(script)
}

/// The Exec form of a command that is one simple command (used when a target cannot
/// expand one of its references itself: sh does, from the container's environment).
pub(crate) fn exec_script(command: &str) -> String {
    match shape(command) {
        Shape::Exec(script) => script,
        Shape::Argv(_) | Shape::Shell(_) => format!("exec {}", command.trim()),
    }
}

/// One command of a list (`a; b`, `a && b`, lines).
#[derive(Debug)]
struct Element {
    /// Where it starts in the command (after blanks).
    start: usize,
    /// Its first word when that is plain text.
    first_word: Option<String>,
    /// Its words when it is plain (quotes and references only), else `None`.
    words: Option<Vec<Vec<Part>>>,
}

/// The commands of the list, or why the whole thing must stay in sh.
fn split(command: &str) -> Result<Vec<Element>, &'static str> {
    let mut tokenizer = Tokenizer {
        chars: command.char_indices().collect(),
        at: 0,
    };
    let mut elements = Vec::new();
    loop {
        let (element, more) = tokenizer.element()?;
        if let Some(element) = element {
            elements.push(element);
        }
        if !more {
            return Ok(elements);
        }
    }
}

struct Tokenizer {
    chars: Vec<(usize, char)>,
    at: usize,
}

/// A word being read: its parts, and whether any of it was quoted.
#[derive(Default)]
struct Word {
    parts: Vec<Part>,
    quoted: bool,
    /// Unquoted text so far, for the assignment check (`NAME=value cmd`).
    raw: String,
}

impl Word {
    fn push(&mut self, c: char) {
        match self.parts.last_mut() {
            Some(Part::Text(text)) => text.push(c),
            _ => self.parts.push(Part::Text(c.to_string())),
        }
    }

    fn is_empty(&self) -> bool {
        self.parts.is_empty() && !self.quoted
    }

    fn plain_text(&self) -> Option<String> {
        match self.parts.as_slice() {
            [] => Some(String::new()),
            [Part::Text(text)] => Some(text.clone()),
            _ => None,
        }
    }
}

impl Tokenizer {
    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.at + offset).map(|(_, c)| *c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.at).map_or_else(
            || self.chars.last().map_or(0, |(i, c)| i + c.len_utf8()),
            |(i, _)| *i,
        )
    }

    /// Reads one element up to a separator (`;`, `&&`, a newline) or the end. Returns it
    /// (`None` when blank) and whether more may follow.
    fn element(&mut self) -> Result<(Option<Element>, bool), &'static str> {
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.at += 1;
        }
        let start = self.offset();
        let mut words: Vec<Vec<Part>> = Vec::new();
        let mut first_word: Option<String> = None;
        let mut plain = true;
        let mut word = Word::default();
        let mut any = false;
        let finish = |word: &mut Word,
                      words: &mut Vec<Vec<Part>>,
                      first: &mut Option<String>,
                      plain: &mut bool|
         -> Result<(), &'static str> {
            if word.is_empty() {
                return Ok(());
            }
            let done = std::mem::take(word);
            if words.is_empty() {
                if let Some((name, _)) = done.raw.split_once('=')
                    && is_name(name)
                {
                    return Err("starts with a variable assignment");
                }
                let text = done.plain_text().filter(|_| !done.quoted);
                if let Some(text) = &text
                    && RESERVED.contains(&text.as_str())
                {
                    return Err("is a compound command");
                }
                *first = text;
            }
            if !*plain {
                words.push(Vec::new());
                return Ok(());
            }
            // `''` is an empty argument, still one.
            words.push(if done.parts.is_empty() {
                vec![Part::Text(String::new())]
            } else {
                done.parts
            });
            Ok(())
        };
        let more = loop {
            let Some(c) = self.peek(0) else {
                break false;
            };
            match c {
                ' ' | '\t' => {
                    finish(&mut word, &mut words, &mut first_word, &mut plain)?;
                    self.at += 1;
                }
                '\n' | ';' => {
                    if c == ';' && self.peek(1) == Some(';') {
                        return Err("is a compound command");
                    }
                    self.at += 1;
                    break true;
                }
                '&' if self.peek(1) == Some('&') => {
                    self.at += 2;
                    break true;
                }
                '&' => return Err("runs a command in the background (`&`)"),
                '|' => return Err("is a pipeline or a `||` list"),
                '(' | ')' => return Err("has a subshell or a compound command"),
                '\\' => {
                    any = true;
                    self.at += 1;
                    match self.peek(0) {
                        // A line continuation.
                        Some('\n') => {}
                        Some(next) => {
                            word.push(next);
                            word.quoted = true;
                        }
                        None => word.push('\\'),
                    }
                    self.at += 1;
                }
                '\'' => {
                    any = true;
                    word.quoted = true;
                    self.at += 1;
                    loop {
                        match self.peek(0) {
                            Some('\'') => break,
                            Some(c) => word.push(c),
                            None => return Err("has an unterminated quote"),
                        }
                        self.at += 1;
                    }
                    self.at += 1;
                }
                '"' => {
                    any = true;
                    word.quoted = true;
                    self.at += 1;
                    loop {
                        match self.peek(0) {
                            Some('"') => break,
                            Some('\\') => {
                                match self.peek(1) {
                                    Some(next @ ('$' | '`' | '"' | '\\')) => word.push(next),
                                    Some('\n') => {}
                                    Some(next) => {
                                        word.push('\\');
                                        word.push(next);
                                    }
                                    None => return Err("has an unterminated quote"),
                                }
                                self.at += 2;
                                continue;
                            }
                            Some('$') => {
                                if !self.dollar(&mut word)? {
                                    plain = false;
                                }
                                continue;
                            }
                            Some('`') => {
                                plain = false;
                                self.skip_backquotes()?;
                                continue;
                            }
                            Some(c) => word.push(c),
                            None => return Err("has an unterminated quote"),
                        }
                        self.at += 1;
                    }
                    self.at += 1;
                }
                '$' => {
                    any = true;
                    if !self.dollar(&mut word)? {
                        plain = false;
                    }
                }
                '`' => {
                    any = true;
                    plain = false;
                    self.skip_backquotes()?;
                }
                '#' if word.is_empty() => {
                    // A comment, to the end of the line.
                    while !matches!(self.peek(0), None | Some('\n')) {
                        self.at += 1;
                    }
                }
                // A here-document's lines are not commands of a list.
                '<' if self.peek(1) == Some('<') => return Err("has a here-document"),
                '<' | '>' | '*' | '?' | '[' => {
                    any = true;
                    plain = false;
                    word.push(c);
                    word.raw.push(c);
                    self.at += 1;
                    // `2>&1`, `<&3`: the `&` belongs to the redirection.
                    if matches!(c, '<' | '>') && self.peek(0) == Some('&') {
                        self.at += 1;
                    }
                }
                '~' if word.is_empty() => {
                    any = true;
                    plain = false;
                    word.push(c);
                    self.at += 1;
                }
                c => {
                    any = true;
                    word.push(c);
                    if !word.quoted {
                        word.raw.push(c);
                    }
                    self.at += 1;
                }
            }
        };
        finish(&mut word, &mut words, &mut first_word, &mut plain)?;
        let element = any.then(|| Element {
            start,
            first_word,
            words: plain.then_some(words),
        });
        Ok((element, more))
    }

    /// At a `$`: a plain reference is added to `word` (true); anything else sh must
    /// expand (false), and is skipped.
    fn dollar(&mut self, word: &mut Word) -> Result<bool, &'static str> {
        self.at += 1;
        match self.peek(0) {
            Some('{') => {
                let mut name = String::new();
                let mut offset = 1;
                loop {
                    match self.peek(offset) {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err("has an unterminated `${`"),
                    }
                    offset += 1;
                }
                self.at += offset + 1;
                if is_name(&name) {
                    word.parts.push(Part::Reference {
                        name,
                        default: None,
                    });
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            Some('(') => {
                let mut depth = 0;
                loop {
                    match self.peek(0) {
                        Some('(') => depth += 1,
                        Some(')') => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Ok(false);
                            }
                        }
                        Some(_) => {}
                        None => return Err("has an unterminated `$(`"),
                    }
                    self.at += 1;
                }
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek(0)
                    .filter(|c| *c == '_' || c.is_ascii_alphanumeric())
                {
                    name.push(c);
                    self.at += 1;
                }
                word.parts.push(Part::Reference {
                    name,
                    default: None,
                });
                Ok(true)
            }
            // `$1`, `$@`, `$?`, `$$`: sh's own parameters.
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.at += 1;
                Ok(false)
            }
            // A `$` that starts nothing is literal.
            _ => {
                word.push('$');
                Ok(true)
            }
        }
    }

    fn skip_backquotes(&mut self) -> Result<(), &'static str> {
        self.at += 1;
        loop {
            match self.peek(0) {
                Some('`') => {
                    self.at += 1;
                    return Ok(());
                }
                Some('\\') => self.at += 2,
                Some(_) => self.at += 1,
                None => return Err("has an unterminated backquote"),
            }
        }
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The names `words` refer to.
pub(crate) fn referenced(words: &[Vec<Part>]) -> impl Iterator<Item = &str> {
    words.iter().flatten().filter_map(|part| match part {
        Part::Reference { name, .. } => Some(name.as_str()),
        Part::Text(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(word: &str) -> Vec<Part> {
        vec![Part::Text(word.into())]
    }

    fn reference(name: &str) -> Part {
        Part::Reference {
            name: name.into(),
            default: None,
        }
    }

    #[test]
    fn a_simple_command_with_quoted_arguments_is_an_argv() {
        assert_eq!(
            shape(r#"gunicorn 'app:create_app()' -b "0.0.0.0:$PORT""#),
            Shape::Argv(vec![
                text("gunicorn"),
                text("app:create_app()"),
                text("-b"),
                vec![Part::Text("0.0.0.0:".into()), reference("PORT")],
            ])
        );
        assert_eq!(
            shape("python3 -c 'import a; a.run()'"),
            Shape::Argv(vec![text("python3"), text("-c"), text("import a; a.run()")])
        );
        assert_eq!(
            shape(r#"echo "a \"b\" \$c" d\ e '$HOME' ${X}y"#),
            Shape::Argv(vec![
                text("echo"),
                text("a \"b\" $c"),
                text("d e"),
                text("$HOME"),
                vec![reference("X"), Part::Text("y".into())],
            ])
        );
        assert_eq!(
            shape("redis-server --save ''"),
            Shape::Argv(vec![text("redis-server"), text("--save"), text("")])
        );
    }

    #[test]
    fn what_needs_sh_execs_its_last_command() {
        for (command, script) in [
            ("cd web && gunicorn app", "cd web && exec gunicorn app"),
            ("bundle install; rails s", "bundle install; exec rails s"),
            ("server 2>&1", "exec server 2>&1"),
            ("ls *.txt", "exec ls *.txt"),
            ("run --at $(date +%s)", "exec run --at $(date +%s)"),
            ("run ${LEVEL:-info}", "exec run ${LEVEL:-info}"),
            ("exec server", "exec server"),
            (
                "export A=1\nserver --flag\n",
                "export A=1\nexec server --flag",
            ),
        ] {
            assert_eq!(shape(command), Shape::Exec(script.into()), "{command}");
        }
    }

    #[test]
    fn what_cannot_be_execd_stays_in_sh() {
        for command in [
            "a | b",
            "a || b",
            "server &",
            "(cd x; y)",
            "if true; then y; fi",
            "A=1 server",
            "server; wait",
            "echo 'open",
            "cat <<EOF\nhello\nEOF",
        ] {
            assert!(matches!(shape(command), Shape::Shell(_)), "{command}");
        }
    }

    #[test]
    fn the_exec_script_runs_the_program_in_place_of_sh() {
        let script = exec_script("sh -c 'echo $$'");
        let output = std::process::Command::new("sh")
            .args(["-c", &format!("echo $$; {script}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let pids: Vec<&str> = text.lines().collect();
        assert_eq!(pids.len(), 2, "{text}");
        assert_eq!(pids[0], pids[1], "the program got sh's pid");
    }
}
