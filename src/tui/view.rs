//! Drawing: `draw(frame, &app)` turns the state into one screen and changes nothing.
//!
//! ```text
//!  shop  ● 3 running  ● 1 starting  ✗ 1 failed                               up
//! ┌ processes ────────────────────────────┐┌ all ─────────────────── following ┐
//! │ NAME     STATE    PID    ↻ UPTIME ... ││ 12:00:01.004 web    │ listening …  │
//! │ web      running  4242   0 3m12s      ││ 12:00:01.120 worker │ shipped #12  │
//! │ …                                     ││ …                                 │
//! │ web: exited with code 3               ││                                   │
//! └───────────────────────────────────────┘└───────────────────────────────────┘
//!  ↑↓ select  ⏎ logs  a all  / search  f follow  r restart  s stop/start …  q quit
//! ```
//!
//! Only what is visible is built: the log pane walks up from the bottom line shown and
//! stops when the pane is full, so a frame costs the same with 10 or 100 000 lines kept.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, BorderType, Borders, Cell as TableCell, Clear, Paragraph, Row, Table, Wrap,
};

use super::ansi::{self, Cell};
use super::app::{App, Focus, Mode, match_ranges};
use super::store::{Entry, Origin, View};
use crate::logs::printer::Level;
use crate::supervisor::{Progress, State};

/// Terminals at least this wide show every column of the process list.
const WIDE: u16 = 120;

/// Draw the whole screen; returns the log pane's height (a page, for PgUp/PgDn).
pub(crate) fn draw(frame: &mut Frame, app: &App) -> usize {
    let area = frame.area();
    if app.copy_mode {
        let [logs, footer] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        draw_log_lines(frame, app, logs);
        let text = " copy mode: select text with the mouse · m or Esc: back";
        frame.render_widget(Paragraph::new(text).style(Style::new().reversed()), footer);
        return logs.height as usize;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, app, header);
    let list_width = list_width(app, area.width);
    let [list, logs] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(10)]).areas(body);
    draw_list(frame, app, list);
    let page = draw_logs(frame, app, logs);
    draw_footer(frame, app, footer);
    if app.help {
        draw_help(frame, area);
    }
    page
}

pub(crate) fn state_style(state: State) -> Style {
    match state {
        State::Running => Style::new().fg(Color::Green),
        State::Starting => Style::new().fg(Color::Cyan),
        State::Backoff | State::Stopping => Style::new().fg(Color::Yellow),
        State::Exited => Style::new().fg(Color::Blue),
        State::Failed => Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        State::Pending | State::Stopped => Style::new().fg(Color::DarkGray),
    }
}

fn draw_header(frame: &mut Frame, app: &App, area: Rect) {
    let mut spans = vec![
        Span::styled(
            format!(" {} ", app.project),
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
        Span::raw(" "),
    ];
    for (state, count) in app.state_counts() {
        let mark = if state == State::Failed { "✗" } else { "●" };
        spans.push(Span::styled(
            format!("{mark} {count} {state}"),
            state_style(state),
        ));
        spans.push(Span::raw("  "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    let (text, style) = match &app.progress {
        Progress::Starting => ("starting".to_string(), Style::new().fg(Color::Cyan)),
        Progress::Up => ("up".to_string(), Style::new().fg(Color::Green)),
        Progress::Failed { .. } => ("a process failed".to_string(), state_style(State::Failed)),
        Progress::Stopping => ("stopping".to_string(), Style::new().fg(Color::Yellow)),
    };
    let text = match app.mode {
        Mode::Attach => format!("attached · {text} "),
        Mode::Up => format!("{text} "),
    };
    let width = (text.chars().count() as u16).min(area.width);
    let right = Rect {
        x: area.right() - width,
        width,
        ..area
    };
    frame.render_widget(Paragraph::new(text).style(style), right);
}

/// The widest instance name (at least the header's).
fn name_width(app: &App) -> u16 {
    let widest = app
        .instances
        .iter()
        .map(|instance| unicode_width::UnicodeWidthStr::width(instance.name.as_str()))
        .max()
        .unwrap_or(0);
    u16::try_from(widest).unwrap_or(u16::MAX).max(4)
}

fn list_width(app: &App, total: u16) -> u16 {
    // The other columns and the spaces between them, then the borders.
    let columns = match (total >= WIDE, app.usage.is_empty()) {
        (true, true) => 40,
        (true, false) => 54,
        (false, _) => 26,
    };
    (name_width(app) + columns + 2).min(total / 2)
}

fn draw_list(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Focus::List;
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border_style(focused))
        .title(" processes ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let detail = detail_lines(app);
    // Wrapped: as many rows as the lines need at this width, at most half the list.
    let rows: usize = detail
        .iter()
        .map(|line| {
            // Word wrapping can take a row more than the characters alone.
            let width = usize::from(inner.width.max(1));
            match line.width() {
                fits if fits <= width => 1,
                long => long.div_ceil(width) + 1,
            }
        })
        .sum();
    let detail_height = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .min(inner.height / 2);
    let [table_area, detail_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(detail_height)]).areas(inner);

    let wide = frame.area().width >= WIDE;
    // CPU% and memory once the first sample came (the TUI asks once a second).
    let figures = wide && !app.usage.is_empty();
    let uptime_base = app.now.saturating_duration_since(app.snapshot_at);
    let rows = app.instances.iter().enumerate().map(|(index, instance)| {
        let uptime = instance
            .uptime_ms
            .map(|ms| uptime(Duration::from_millis(ms) + uptime_base))
            .unwrap_or_default();
        let ready = match instance.state {
            State::Running => "✓",
            State::Starting => "…",
            _ => "·",
        };
        let mut cells = vec![
            TableCell::from(Span::styled(
                instance.name.clone(),
                Style::new().fg(app.color_of(&instance.name)),
            )),
            TableCell::from(Span::styled(
                instance.state.as_str(),
                state_style(instance.state),
            )),
        ];
        if wide {
            cells.push(TableCell::from(
                instance.pid.map(|pid| pid.to_string()).unwrap_or_default(),
            ));
        }
        cells.push(TableCell::from(instance.restarts.to_string()));
        cells.push(TableCell::from(uptime));
        if wide {
            cells.push(TableCell::from(
                instance
                    .port
                    .map(|port| port.to_string())
                    .unwrap_or_default(),
            ));
        }
        if figures {
            let (cpu, memory) = app.usage.get(&instance.name).copied().unwrap_or_default();
            cells.push(TableCell::from(
                cpu.map(|cpu| format!("{cpu:.1}")).unwrap_or_default(),
            ));
            cells.push(TableCell::from(
                memory.map(crate::units::short_memory).unwrap_or_default(),
            ));
        }
        cells.push(TableCell::from(ready));
        let row = Row::new(cells);
        if index == app.selected {
            let style = if focused {
                Style::new()
                    .bg(Color::DarkGray)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
            };
            row.style(style)
        } else {
            row
        }
    });
    let name_width = name_width(app);
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec!["NAME", "STATE", "PID", "↻", "UPTIME", "PORT", "READY"],
            vec![
                Constraint::Length(name_width),
                Constraint::Length(8),
                Constraint::Length(7),
                Constraint::Length(3),
                Constraint::Length(6),
                Constraint::Length(5),
                Constraint::Length(5),
            ],
        )
    } else {
        (
            vec!["NAME", "STATE", "↻", "UPTIME", "READY"],
            vec![
                Constraint::Length(name_width),
                Constraint::Length(8),
                Constraint::Length(3),
                Constraint::Length(6),
                Constraint::Length(5),
            ],
        )
    };
    let (mut header, mut widths) = (header, widths);
    if figures {
        let ready = (header.pop(), widths.pop());
        header.extend(["CPU%", "MEM"]);
        widths.extend([Constraint::Length(5), Constraint::Length(7)]);
        header.extend(ready.0);
        widths.extend(ready.1);
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::new().fg(Color::DarkGray)))
        .column_spacing(1);
    frame.render_widget(table, table_area);
    frame.render_widget(
        Paragraph::new(detail).wrap(Wrap { trim: false }),
        detail_area,
    );
}

/// What the list says about the selected instance below the table: why it failed, how
/// it last ended, whether its health check passes.
fn detail_lines(app: &App) -> Vec<Line<'static>> {
    let Some(instance) = app.selected_instance() else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    if let Some(reason) = &instance.reason {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}: ", instance.name),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(reason.to_string(), state_style(State::Failed)),
        ]));
    } else if let Some(last) = &instance.last_exit {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}: ", instance.name),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("last {last}")),
        ]));
    }
    if let Some(health) = instance.health {
        let style = match health {
            crate::supervisor::Health::Healthy => state_style(State::Running),
            crate::supervisor::Health::Unhealthy => state_style(State::Failed),
            crate::supervisor::Health::Unknown => Style::new().fg(Color::DarkGray),
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{}: ", instance.name),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::styled(health.as_str(), style),
        ]));
    }
    lines
}

fn draw_logs(frame: &mut Frame, app: &App, area: Rect) -> usize {
    let focused = app.focus == Focus::Logs;
    let title = if app.merged {
        " all ".to_string()
    } else {
        app.selected_instance()
            .map_or(" - ".to_string(), |instance| format!(" {} ", instance.name))
    };
    let mut flags = Vec::new();
    if let Some(search) = &app.search
        && !search.editing
    {
        flags.push(format!("/{}", search.query));
    }
    flags.push(if app.follow {
        "following".to_string()
    } else {
        format!("paused, {} newer", app.scroll)
    });
    if !app.wrap {
        flags.push(format!("no wrap +{}", app.hscroll));
    }
    if app.input.is_some() {
        flags.push("input".to_string());
    }
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(border_style(focused))
        .title(Line::from(title).style(Style::new().add_modifier(Modifier::BOLD)))
        .title(Line::from(format!(" {} ", flags.join(" · "))).alignment(Alignment::Right));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    draw_log_lines(frame, app, inner);
    inner.height as usize
}

fn border_style(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

/// The visible lines of the current view, bottom-aligned; in input mode, the line the
/// process has not finished (a prompt) below them, with a cursor.
fn draw_log_lines(frame: &mut Frame, app: &App, area: Rect) {
    let partial = app.input.as_ref().map(|input| {
        let mut cells = ansi::cells(&input.shown(), Style::new());
        cells.push(Cell {
            ch: ' ',
            style: Style::new().reversed(),
        });
        cells
    });
    let height = (area.height as usize).saturating_sub(usize::from(partial.is_some()));
    let mut rows = log_rows(app, area.width as usize, height);
    if let Some(partial) = partial {
        let width = (area.width as usize).max(1);
        // The end of a long unfinished line, where the typing happens.
        let skip = partial.len().saturating_sub(width);
        rows.push(partial[skip..].to_vec());
    }
    let top = area.bottom() - u16::try_from(rows.len()).unwrap_or(area.height);
    frame.render_widget(
        Rows(rows),
        Rect {
            y: top,
            height: area.bottom() - top,
            ..area
        },
    );
}

/// Rows of cells, written straight into the buffer: the cells already know their
/// widths, so this skips the grapheme segmentation a `Paragraph` would do again (the
/// log pane is most of the screen and is redrawn on every frame under load).
struct Rows(Vec<Vec<Cell>>);

impl ratatui::widgets::Widget for Rows {
    fn render(self, area: Rect, buffer: &mut ratatui::buffer::Buffer) {
        for (row, y) in self.0.iter().zip(area.top()..area.bottom()) {
            let mut x = area.left();
            for cell in row {
                let width = cell.width() as u16;
                if width == 0 {
                    // A combining mark joins the character before it.
                    if x > area.left() {
                        let previous = &mut buffer[(x - 1, y)];
                        let mut symbol = previous.symbol().to_string();
                        symbol.push(cell.ch);
                        previous.set_symbol(&symbol);
                    }
                    continue;
                }
                if x + width > area.right() {
                    break;
                }
                buffer[(x, y)].set_char(cell.ch).set_style(cell.style);
                // The cells a wide character covers.
                for covered in x + 1..x + width {
                    buffer[(covered, y)].reset();
                }
                x += width;
            }
        }
    }
}

/// Up to `height` screen rows ending with the line `scroll` lines above the newest.
fn log_rows(app: &App, width: usize, height: usize) -> Vec<Vec<Cell>> {
    let Some(view) = app.view() else {
        return Vec::new();
    };
    let lines = app.store.view(view);
    if lines.is_empty() || width == 0 || height == 0 {
        return Vec::new();
    }
    let name_width = app.store.name_width();
    let search = app
        .search
        .as_ref()
        .filter(|search| !search.query.is_empty());
    let query: Vec<char> = search
        .map(|s| s.query.chars().collect())
        .unwrap_or_default();
    let bottom = lines.len() - 1 - app.scroll.min(lines.len() - 1);
    let mut rows: Vec<Vec<Cell>> = Vec::with_capacity(height);
    for index in (0..=bottom).rev() {
        let entry = &lines[index];
        let prefix = prefix_cells(app, entry, view == View::Merged, name_width);
        let base = match entry.origin {
            Origin::Proj(Level::Warning) => Style::new().fg(Color::Yellow),
            Origin::Proj(Level::Error) => Style::new().fg(Color::Red),
            _ => Style::new(),
        };
        let mut content = ansi::cells(&entry.text, base);
        if let Some(search) = search {
            let plain: Vec<char> = content.iter().map(|cell| cell.ch).collect();
            let current = search.current == Some((entry.at, entry.seq));
            let highlight = if current {
                Style::new().bg(Color::LightRed).fg(Color::Black)
            } else {
                Style::new().bg(Color::Yellow).fg(Color::Black)
            };
            for (start, end) in match_ranges(&plain, &query, search.case_sensitive()) {
                for cell in &mut content[start..end] {
                    cell.style = cell.style.patch(highlight);
                }
            }
        }
        let mut entry_rows = if app.wrap {
            wrap(&prefix, &content, width)
        } else {
            vec![scrolled(&prefix, &content, app.hscroll, width)]
        };
        while let Some(row) = entry_rows.pop() {
            rows.push(row);
            if rows.len() == height {
                rows.reverse();
                return rows;
            }
        }
    }
    rows.reverse();
    rows
}

/// `HH:MM:SS.mmm ` and, in the merged view, the coloured name and a bar.
fn prefix_cells(app: &App, entry: &Entry, merged: bool, name_width: usize) -> Vec<Cell> {
    let mut cells = Vec::new();
    let dim = Style::new().fg(Color::DarkGray);
    if app.timestamps {
        let mut time = Vec::with_capacity(12);
        app.clock.write_time(entry.at, &mut time);
        push_text(&mut cells, &String::from_utf8_lossy(&time), dim);
        push_text(&mut cells, " ", dim);
    }
    if merged {
        let name = app.origin_name(entry.origin);
        let style = match entry.origin {
            Origin::Instance(_) => Style::new().fg(app.color_of(name)),
            Origin::Proj(_) => Style::new().add_modifier(Modifier::BOLD),
        };
        push_text(&mut cells, name, style);
        let pad = name_width.saturating_sub(unicode_width::UnicodeWidthStr::width(name));
        push_text(&mut cells, &" ".repeat(pad), style);
        push_text(&mut cells, " │ ", dim);
    }
    cells
}

fn push_text(cells: &mut Vec<Cell>, text: &str, style: Style) {
    cells.extend(text.chars().map(|ch| Cell { ch, style }));
}

/// Rows of at most `width` columns: the prefix, then the content; continuation rows are
/// indented under the content (unless the prefix takes most of the row).
fn wrap(prefix: &[Cell], content: &[Cell], width: usize) -> Vec<Vec<Cell>> {
    let prefix_width: usize = prefix.iter().map(Cell::width).sum();
    let indent = if prefix_width * 2 <= width {
        prefix_width
    } else {
        0
    };
    let mut rows = Vec::new();
    let mut row: Vec<Cell> = prefix.to_vec();
    let mut used = prefix_width;
    for &cell in content {
        let cell_width = cell.width();
        if used + cell_width > width && used > indent {
            rows.push(std::mem::take(&mut row));
            row = vec![
                Cell {
                    ch: ' ',
                    style: Style::new()
                };
                indent
            ];
            used = indent;
        }
        row.push(cell);
        used += cell_width;
    }
    rows.push(row);
    rows
}

/// One row: the prefix, then the content from column `offset` on, cut at `width`.
fn scrolled(prefix: &[Cell], content: &[Cell], offset: usize, width: usize) -> Vec<Cell> {
    let mut row: Vec<Cell> = prefix.to_vec();
    let mut used: usize = prefix.iter().map(Cell::width).sum();
    let mut skipped = 0;
    for &cell in content {
        if skipped < offset {
            skipped += cell.width().max(1);
            continue;
        }
        if used + cell.width() > width {
            break;
        }
        used += cell.width();
        row.push(cell);
    }
    row
}

fn draw_footer(frame: &mut Frame, app: &App, area: Rect) {
    if app.mode == Mode::Up && (app.quitting.is_some() || app.progress == Progress::Stopping) {
        let active = app.still_active();
        let killing = app.quitting == Some(true);
        let verb = if killing { "killing" } else { "stopping" };
        let mut text = format!(
            " {verb}: {} of {} still running",
            active.len(),
            app.instances.len()
        );
        if !active.is_empty() {
            text.push_str(&format!(" ({})", active.join(", ")));
        }
        if !killing {
            text.push_str(" · Ctrl-C again kills them now");
        }
        let style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
        frame.render_widget(Paragraph::new(text).style(style), area);
        return;
    }
    if let Some(search) = app.search.as_ref().filter(|search| search.editing) {
        let line = Line::from(vec![
            Span::styled(" /", Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(search.query.clone()),
            Span::styled(" ", Style::new().reversed()),
            Span::styled(
                "  Enter: find · Esc: cancel",
                Style::new().fg(Color::DarkGray),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(input) = &app.input {
        let doing = if input.connected {
            format!(" INPUT: keys go to {}", input.instance)
        } else {
            format!(" INPUT: connecting to {}", input.instance)
        };
        let line = Line::from(vec![
            Span::styled(
                doing,
                Style::new()
                    .fg(Color::Black)
                    .bg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                " (Ctrl-C included) · Ctrl-] leaves input mode",
                Style::new().fg(Color::DarkGray),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    if let Some(notice) = app.current_notice() {
        frame.render_widget(
            Paragraph::new(format!(" {notice}")).style(Style::new().fg(Color::Yellow)),
            area,
        );
        return;
    }
    let quit = match app.mode {
        Mode::Up => "quit",
        Mode::Attach => "detach",
    };
    // Help and quit first: on a narrow terminal the end is cut off.
    let keys = [
        ("?", "help"),
        ("q", quit),
        ("↑↓", "select"),
        ("⏎", "logs"),
        ("a", "all"),
        ("/", "search"),
        ("f", "follow"),
        ("r", "restart"),
        ("s", "stop/start"),
        ("i", "input"),
        ("c", "clear"),
        ("t", "time"),
        ("m", "copy"),
    ];
    let mut spans = vec![Span::raw(" ")];
    for (key, what) in keys {
        spans.push(Span::styled(key, Style::new().add_modifier(Modifier::BOLD)));
        spans.push(Span::styled(
            format!(" {what}  "),
            Style::new().fg(Color::DarkGray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Every key, for `?`.
pub(crate) const HELP: &[(&str, &str)] = &[
    (
        "↑ ↓  j k",
        "select a process (in the log pane: scroll a line)",
    ),
    (
        "Enter  Tab",
        "focus the log pane (Tab, Esc: back to the list)",
    ),
    ("a", "all processes merged / the selected one"),
    ("/", "search (n: older match, N: newer, Esc: clear)"),
    ("f", "follow new output on/off"),
    ("PgUp PgDn", "scroll a page (also the mouse wheel)"),
    ("Home End", "oldest line / newest line and follow"),
    ("← →", "scroll sideways when wrapping is off"),
    ("w", "wrap long lines on/off"),
    ("t", "timestamps on/off"),
    ("r", "restart the selected process"),
    ("s", "stop / start the selected process"),
    ("+ -", "one instance more / less of the selected process"),
    (
        "i",
        "input mode: type into a tty = true process (Ctrl-] leaves)",
    ),
    ("c", "clear the log pane"),
    ("m", "copy mode: mouse selection by the terminal"),
    ("q", "stop everything and quit (attach: detach)"),
    ("Ctrl-C", "same as q; again: kill everything now"),
    ("?", "this help (any key closes it)"),
];

fn draw_help(frame: &mut Frame, area: Rect) {
    let width = 66.min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(
                    format!(" {key:<12}"),
                    Style::new().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    let block = Block::new()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::Cyan))
        .title(" keys ");
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// `42s`, `3m07s`, `2h05m`, `3d04h`.
pub(crate) fn uptime(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        3600..86_400 => format!("{}h{:02}m", seconds / 3600, seconds / 60 % 60),
        _ => format!("{}d{:02}h", seconds / 86_400, seconds / 3600 % 24),
    }
}
