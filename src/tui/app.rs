//! The TUI's state and how it changes: `App::apply` takes what the supervisor says,
//! `App::key` and `App::mouse` what the user does. Neither draws nor talks to the
//! supervisor: they return [`Effect`]s for the loop to carry out, so every screen can be
//! built in a test from plain values and rendered on `TestBackend`.
//!
//! Scrolling counts whole lines up from the newest one (`scroll = 0` is the bottom).
//! While `follow` is on, new lines keep the bottom in view; while it is off, each new line
//! of the shown view raises `scroll` by one, so what is on screen stays put.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::ansi;
use super::input::{self, Input};
use super::source::Update;
use super::store::{Entry, Origin, Store, View};
use crate::logs::clock::Clock;
use crate::logs::printer::{Label, Level};
use crate::supervisor::command::Request;
use crate::supervisor::{InstanceStatus, Progress, State};

/// How long a notice stays in the footer.
const NOTICE_FOR: Duration = Duration::from_secs(5);
/// Lines per mouse wheel step.
const WHEEL_LINES: usize = 3;

/// Whose TUI this is: `q` stops everything in `proj up`, and only detaches in
/// `proj attach`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Up,
    Attach,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Focus {
    List,
    Logs,
}

/// What the loop must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    Send(Request),
    /// Leave the TUI (`proj attach`: the supervisor goes on).
    Detach,
    /// Turn the terminal's mouse reporting on or off (off: the terminal selects text).
    MouseCapture(bool),
    /// Input mode began: connect to this instance's terminal.
    Connect(String),
    /// Input mode: type these bytes into the connected terminal.
    Type(Vec<u8>),
    /// Input mode ended: disconnect (the process keeps running).
    Disconnect,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Search {
    pub query: String,
    /// The prompt is open (typing goes to the query).
    pub editing: bool,
    /// The line of the current match: its time and sequence number.
    pub current: Option<(std::time::SystemTime, u64)>,
}

impl Search {
    /// Smart case: a query with a capital letter is matched exactly.
    pub(crate) fn case_sensitive(&self) -> bool {
        self.query.chars().any(char::is_uppercase)
    }
}

pub(crate) struct App {
    pub mode: Mode,
    pub project: String,
    pub progress: Progress,
    pub instances: Vec<InstanceStatus>,
    /// When the snapshot arrived: uptimes grow from there.
    pub snapshot_at: Instant,
    /// The time the screen is drawn for (set by the loop; fixed in tests).
    pub now: Instant,
    pub store: Store,
    pub clock: Clock,
    /// Index into `instances`.
    pub selected: usize,
    /// The log pane shows every instance (else the selected one).
    pub merged: bool,
    pub focus: Focus,
    pub follow: bool,
    pub scroll: usize,
    pub hscroll: usize,
    pub wrap: bool,
    pub timestamps: bool,
    pub search: Option<Search>,
    pub help: bool,
    /// The log pane alone on screen, without borders, mouse capture off: the terminal's
    /// own selection copies clean lines.
    pub copy_mode: bool,
    pub notice: Option<(String, Instant)>,
    /// `q` or Ctrl-C was pressed in `proj up`; `true` once the kill was sent as well.
    pub quitting: Option<bool>,
    /// The supervisor is gone.
    pub closed: bool,
    /// Rows of the log pane at the last draw (a page for PgUp/PgDn).
    pub page: usize,
    /// Batches of output lost because the TUI fell behind, in total.
    pub lost: u64,
    /// Input mode: keys go to this `tty = true` instance until Ctrl-].
    pub input: Option<Input>,
    /// The latest CPU% and memory of each instance, by name (empty until sampled).
    pub usage: std::collections::HashMap<String, (Option<f64>, Option<u64>)>,
}

impl App {
    pub(crate) fn new(mode: Mode, scrollback: usize, clock: Clock, now: Instant) -> App {
        App {
            mode,
            project: String::new(),
            progress: Progress::Starting,
            instances: Vec::new(),
            snapshot_at: now,
            now,
            store: Store::new(scrollback),
            clock,
            selected: 0,
            merged: true,
            focus: Focus::List,
            follow: true,
            scroll: 0,
            hscroll: 0,
            wrap: true,
            timestamps: true,
            search: None,
            help: false,
            copy_mode: false,
            notice: None,
            quitting: None,
            closed: false,
            page: 20,
            lost: 0,
            input: None,
            usage: std::collections::HashMap::new(),
        }
    }

    /// The lines the log pane shows, or `None` for an instance that printed nothing yet.
    pub(crate) fn view(&self) -> Option<View> {
        if self.merged {
            return Some(View::Merged);
        }
        let name = &self.instances.get(self.selected)?.name;
        self.store.find(name).map(View::Instance)
    }

    pub(crate) fn selected_instance(&self) -> Option<&InstanceStatus> {
        self.instances.get(self.selected)
    }

    /// The colour of an instance's name: its place in the plan, in plain mode's palette.
    pub(crate) fn color_of(&self, name: &str) -> ratatui::style::Color {
        let index = self
            .instances
            .iter()
            .position(|instance| instance.name == name)
            .unwrap_or_else(|| self.instances.len() + self.store.find(name).unwrap_or(0));
        ansi::palette_color(Label::new(name, index).color)
    }

    pub(crate) fn apply(&mut self, update: Update) {
        match update {
            Update::Snapshot(snapshot) => {
                self.project = snapshot.project;
                self.progress = snapshot.progress;
                self.instances = snapshot.instances;
                // Uptimes count from when the supervisor took the snapshot: one sent
                // to a new watcher may be as old as the last state change.
                let age = snapshot.taken_ms.map_or(Duration::ZERO, |taken| {
                    let now = crate::logs::clock::unix_millis(std::time::SystemTime::now());
                    Duration::from_millis(now.saturating_sub(taken))
                });
                self.snapshot_at = self.now.checked_sub(age).unwrap_or(self.now);
                self.selected = self.selected.min(self.instances.len().saturating_sub(1));
            }
            // proj's own lines reach the TUI as messages already.
            Update::Batch(batch) if &*batch.instance == crate::logs::PROJ_NAME => {}
            Update::Batch(batch) => {
                let added = self
                    .store
                    .push_batch(&batch.instance, batch.at, &batch.lines);
                let shown = self.merged || self.store.find(&batch.instance) == self.view_index();
                self.lines_added(added, shown);
            }
            Update::Message(message) => {
                let before = self.store.view(View::Merged).len();
                self.store
                    .push_message(message.at, message.level, &message.text);
                let added = self.store.view(View::Merged).len().saturating_sub(before);
                self.lines_added(added.max(1), self.merged);
            }
            Update::Lost(batches) => {
                self.lost += batches;
                let text = format!(
                    "{batches} batches of output not shown: the TUI fell behind (.proj/logs/ has everything)"
                );
                self.store
                    .push_message(std::time::SystemTime::now(), Level::Warning, &text);
                self.lines_added(1, self.merged);
            }
            Update::Notice(text) => self.notice = Some((text, self.now)),
            Update::Usage(instances) => {
                self.usage = instances
                    .into_iter()
                    .map(|i| (i.name, (i.cpu_percent, i.memory_bytes)))
                    .collect();
            }
            Update::Closed => self.closed = true,
            Update::Terminal(bytes) => {
                if let Some(input) = &mut self.input {
                    input.output(&bytes);
                }
            }
            Update::TerminalEnded(reason) => {
                if self.input.take().is_some() {
                    self.say(reason);
                }
            }
        }
    }

    fn view_index(&self) -> Option<usize> {
        match self.view() {
            Some(View::Instance(index)) => Some(index),
            _ => None,
        }
    }

    fn lines_added(&mut self, added: usize, shown: bool) {
        if shown && !self.follow {
            self.scroll += added;
        }
        self.clamp_scroll();
    }

    fn view_len(&self) -> usize {
        self.view().map_or(0, |view| self.store.view(view).len())
    }

    fn clamp_scroll(&mut self) {
        self.scroll = self.scroll.min(self.view_len().saturating_sub(1));
    }

    /// The footer's notice, while it is fresh.
    pub(crate) fn current_notice(&self) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(_, at)| self.now.saturating_duration_since(*at) < NOTICE_FOR)
            .map(|(text, _)| text.as_str())
    }

    fn say(&mut self, text: impl Into<String>) {
        self.notice = Some((text.into(), self.now));
    }

    pub(crate) fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if self.input.is_some() {
            // Everything, Ctrl-C included, belongs to the process until Ctrl-].
            if input::is_detach(&key) {
                self.input = None;
                return vec![Effect::Disconnect];
            }
            return input::key_bytes(&key)
                .map(Effect::Type)
                .into_iter()
                .collect();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return self.quit(true);
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        if self.search.as_ref().is_some_and(|search| search.editing) {
            self.edit_search(key);
            return Vec::new();
        }
        if self.copy_mode {
            if matches!(
                key.code,
                KeyCode::Char('m') | KeyCode::Esc | KeyCode::Char('q')
            ) {
                self.copy_mode = false;
                return vec![Effect::MouseCapture(true)];
            }
            self.scroll_key(key.code);
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('q') => return self.quit(false),
            KeyCode::Char('i') => return self.begin_input(),
            KeyCode::Char('?') => self.help = true,
            KeyCode::Up | KeyCode::Char('k') if self.focus == Focus::List => self.select(-1),
            KeyCode::Down | KeyCode::Char('j') if self.focus == Focus::List => self.select(1),
            KeyCode::Enter => self.focus = Focus::Logs,
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::List => Focus::Logs,
                    Focus::Logs => Focus::List,
                }
            }
            KeyCode::Esc => {
                if self.search.take().is_none() {
                    self.focus = Focus::List;
                }
            }
            KeyCode::Char('a') => {
                self.merged = !self.merged;
                self.reset_scroll();
            }
            KeyCode::Char('/') => {
                self.search = Some(Search {
                    editing: true,
                    ..Search::default()
                })
            }
            KeyCode::Char('n') => self.next_match(true),
            KeyCode::Char('N') => self.next_match(false),
            KeyCode::Char('f') => {
                self.follow = !self.follow;
                if self.follow {
                    self.scroll = 0;
                }
            }
            KeyCode::Char('w') => {
                self.wrap = !self.wrap;
                self.hscroll = 0;
            }
            KeyCode::Char('t') => self.timestamps = !self.timestamps,
            KeyCode::Char('c') => {
                if let Some(view) = self.view() {
                    self.store.clear(view);
                }
                self.scroll = 0;
                if let Some(search) = &mut self.search {
                    search.current = None;
                }
            }
            KeyCode::Char('m') => {
                self.copy_mode = true;
                return vec![Effect::MouseCapture(false)];
            }
            KeyCode::Char('r') => {
                if let Some(instance) = self.selected_instance() {
                    let name = instance.name.clone();
                    self.say(format!("restarting {name}"));
                    return vec![Effect::Send(Request::Restart {
                        names: vec![name],
                        rolling: false,
                    })];
                }
            }
            KeyCode::Char('s') => {
                if let Some(instance) = self.selected_instance() {
                    let name = instance.name.clone();
                    let active = matches!(
                        instance.state,
                        State::Starting | State::Running | State::Backoff | State::Pending
                    );
                    return if active {
                        self.say(format!("stopping {name}"));
                        vec![Effect::Send(Request::Stop { names: vec![name] })]
                    } else {
                        self.say(format!("starting {name}"));
                        vec![Effect::Send(Request::Start { names: vec![name] })]
                    };
                }
            }
            KeyCode::Char(key @ ('+' | '-')) => {
                if let Some(instance) = self.selected_instance() {
                    let process = instance.process.clone();
                    let count = self
                        .instances
                        .iter()
                        .filter(|other| other.process == process)
                        .count();
                    let count = if key == '+' {
                        count + 1
                    } else {
                        count.saturating_sub(1)
                    };
                    let count = u32::try_from(count).unwrap_or(u32::MAX);
                    self.say(format!("scaling {process} to {count}"));
                    return vec![Effect::Send(Request::Scale {
                        counts: [(process, count)].into(),
                    })];
                }
            }
            code => self.scroll_key(code),
        }
        Vec::new()
    }

    /// `q` (`ctrl_c` false) or Ctrl-C.
    /// `i`: type into the selected instance (the supervisor refuses one without a tty,
    /// and the footer says why). Its own log pane, following, shows what it writes.
    fn begin_input(&mut self) -> Vec<Effect> {
        let Some(name) = self.selected_instance().map(|i| i.name.clone()) else {
            return Vec::new();
        };
        self.merged = false;
        self.focus = Focus::Logs;
        self.search = None;
        self.reset_scroll();
        self.input = Some(Input::new(name.clone()));
        vec![Effect::Connect(name)]
    }

    fn quit(&mut self, ctrl_c: bool) -> Vec<Effect> {
        if self.mode == Mode::Attach {
            return vec![Effect::Detach];
        }
        let stopping = self.quitting.is_some() || self.progress == Progress::Stopping;
        match (stopping, self.quitting) {
            (false, _) => {
                self.quitting = Some(false);
                vec![Effect::Send(Request::Down)]
            }
            (true, Some(true)) => Vec::new(),
            (true, _) if ctrl_c => {
                self.quitting = Some(true);
                vec![Effect::Send(Request::Kill)]
            }
            (true, _) => {
                self.say("already stopping: Ctrl-C kills everything now");
                Vec::new()
            }
        }
    }

    fn edit_search(&mut self, key: KeyEvent) {
        let Some(search) = &mut self.search else {
            return;
        };
        match key.code {
            KeyCode::Esc => self.search = None,
            KeyCode::Enter => {
                search.editing = false;
                if search.query.is_empty() {
                    self.search = None;
                } else {
                    self.find_from_view_bottom();
                }
            }
            KeyCode::Backspace => {
                search.query.pop();
            }
            KeyCode::Char(ch) => search.query.push(ch),
            _ => {}
        }
    }

    fn scroll_key(&mut self, code: KeyCode) {
        let page = self.page.max(2) - 1;
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.scroll_up(1),
            KeyCode::Down | KeyCode::Char('j') => self.scroll_down(1),
            KeyCode::PageUp => self.scroll_up(page),
            KeyCode::PageDown => self.scroll_down(page),
            KeyCode::Home | KeyCode::Char('g') => self.scroll_up(usize::MAX / 2),
            KeyCode::End | KeyCode::Char('G') => {
                self.scroll = 0;
                self.follow = true;
            }
            KeyCode::Left | KeyCode::Char('h') if !self.wrap => {
                self.hscroll = self.hscroll.saturating_sub(8);
            }
            KeyCode::Right | KeyCode::Char('l') if !self.wrap => self.hscroll += 8,
            _ => {}
        }
    }

    pub(crate) fn mouse(&mut self, mouse: MouseEvent) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_up(WHEEL_LINES),
            MouseEventKind::ScrollDown => self.scroll_down(WHEEL_LINES),
            _ => {}
        }
    }

    fn scroll_up(&mut self, lines: usize) {
        self.scroll = self.scroll.saturating_add(lines);
        self.follow = false;
        self.clamp_scroll();
    }

    fn scroll_down(&mut self, lines: usize) {
        self.scroll = self.scroll.saturating_sub(lines);
        // Back at the bottom: follow again, as `less +F` users expect.
        if self.scroll == 0 {
            self.follow = true;
        }
    }

    fn select(&mut self, step: isize) {
        if self.instances.is_empty() {
            return;
        }
        let last = self.instances.len() - 1;
        self.selected = self.selected.saturating_add_signed(step).min(last);
        if !self.merged {
            self.reset_scroll();
        }
    }

    fn reset_scroll(&mut self) {
        self.scroll = 0;
        self.follow = true;
        self.hscroll = 0;
        if let Some(search) = &mut self.search {
            search.current = None;
        }
    }

    /// Enter in the search prompt: the nearest match at or above the bottom line shown.
    fn find_from_view_bottom(&mut self) {
        let len = self.view_len();
        if len == 0 {
            self.say("no match");
            return;
        }
        let start = len - 1 - self.scroll.min(len - 1);
        self.find(start, true, true);
    }

    /// `n` (`older`) or `N`: the next match up or down from the current one.
    fn next_match(&mut self, older: bool) {
        let Some(search) = &self.search else {
            self.say("no search: press / to search");
            return;
        };
        let Some(view) = self.view() else {
            return;
        };
        let position = search
            .current
            .and_then(|(at, seq)| self.store.position(view, at, seq));
        let from = match position {
            Some(index) => index,
            // The current match was evicted or cleared: start from what is shown.
            _ => return self.find_from_view_bottom(),
        };
        self.find(from, older, false);
    }

    fn find(&mut self, from: usize, older: bool, inclusive: bool) {
        let (Some(view), Some(search)) = (self.view(), &self.search) else {
            return;
        };
        let query: Vec<char> = search.query.chars().collect();
        let case_sensitive = search.case_sensitive();
        let lines = self.store.view(view);
        let matches = |entry: &Entry| {
            let plain: Vec<char> = ansi::plain(&entry.text).chars().collect();
            !match_ranges(&plain, &query, case_sensitive).is_empty()
        };
        let found = if older {
            let end = if inclusive { from + 1 } else { from };
            (0..end.min(lines.len()))
                .rev()
                .find(|&index| matches(&lines[index]))
        } else {
            let start = if inclusive { from } else { from + 1 };
            (start..lines.len()).find(|&index| matches(&lines[index]))
        };
        match found {
            Some(index) => {
                let current = (lines[index].at, lines[index].seq);
                let len = lines.len();
                if let Some(search) = &mut self.search {
                    search.current = Some(current);
                }
                // The match in the middle of the pane, unless that is past an end.
                self.scroll = (len - 1 - index).saturating_sub(self.page / 2);
                self.follow = self.scroll == 0 && index == len - 1;
                self.clamp_scroll();
            }
            None => {
                let text = if older {
                    "no older match"
                } else {
                    "no newer match"
                };
                self.say(text);
            }
        }
    }

    /// Counts of instances per state, in a fixed order, for the header.
    pub(crate) fn state_counts(&self) -> Vec<(State, usize)> {
        State::BY_CONCERN
            .iter()
            .map(|&state| {
                let count = self
                    .instances
                    .iter()
                    .filter(|instance| instance.state == state)
                    .count();
                (state, count)
            })
            .filter(|&(_, count)| count > 0)
            .collect()
    }

    /// While stopping: the instances still running.
    pub(crate) fn still_active(&self) -> Vec<&str> {
        self.instances
            .iter()
            .filter(|instance| instance.state.is_active())
            .map(|instance| instance.name.as_str())
            .collect()
    }

    /// The name shown for a line's origin in the merged view.
    pub(crate) fn origin_name(&self, origin: Origin) -> &str {
        match origin {
            Origin::Instance(index) => self.store.names().get(index).map_or("?", |name| name),
            Origin::Proj(_) => crate::logs::printer::PROJ_NAME,
        }
    }
}

/// Where `query` occurs in `text` (character ranges); case-insensitive unless asked.
pub(crate) fn match_ranges(
    text: &[char],
    query: &[char],
    case_sensitive: bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if query.is_empty() || query.len() > text.len() {
        return out;
    }
    let fold = |ch: char| {
        if case_sensitive {
            ch
        } else {
            ch.to_lowercase().next().unwrap_or(ch)
        }
    };
    let query: Vec<char> = query.iter().map(|&ch| fold(ch)).collect();
    let mut start = 0;
    while start + query.len() <= text.len() {
        if text[start..start + query.len()]
            .iter()
            .zip(&query)
            .all(|(&a, &b)| fold(a) == b)
        {
            out.push((start, start + query.len()));
            start += query.len();
        } else {
            start += 1;
        }
    }
    out
}
