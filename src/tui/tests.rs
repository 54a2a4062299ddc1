//! Screens rendered on ratatui's `TestBackend` from state built here (no processes),
//! pinned with insta snapshots (`src/tui/snapshots/`), and the keys that change them.

use std::time::{Duration, Instant, SystemTime};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::app::{App, Effect, Focus, Mode};
use super::source::Update;
use super::view;
use crate::logs::clock::Clock;
use crate::logs::printer::{Level, Message};
use crate::supervisor::command::Request;
use crate::supervisor::{InstanceStatus, Progress, Snapshot, State};

/// 12:00:00 UTC on some day: timestamps in the snapshots do not depend on the zone.
fn noon(millis: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(20_000 * 86_400_000 + 12 * 3_600_000 + millis)
}

fn instance(name: &str, state: State, pid: Option<i32>) -> InstanceStatus {
    InstanceStatus {
        name: name.into(),
        process: name.split('.').next().unwrap_or(name).into(),
        state,
        pid,
        restarts: 0,
        exit_code: None,
        port: None,
        uptime_ms: pid.map(|_| 192_000),
        last_exit: None,
        last_restart: None,
        reason: None,
        health: None,
        cpu_percent: None,
        memory_bytes: None,
        next_run: None,
    }
}

/// A shop: web on 8000, two workers, a migration that ran, and failed mail.
fn shop(mode: Mode) -> App {
    let mut app = App::new(
        mode,
        1000,
        Clock::new(jiff::tz::TimeZone::UTC),
        Instant::now(),
    );
    let mut web = instance("web", State::Running, Some(4242));
    web.port = Some(8000);
    web.restarts = 2;
    let mut migrate = instance("migrate", State::Exited, None);
    migrate.exit_code = Some(0);
    migrate.last_exit = Some("exited with code 0".into());
    let mut mail = instance("mail", State::Failed, None);
    mail.restarts = 5;
    mail.exit_code = Some(1);
    mail.last_exit = Some("exited with code 1".into());
    mail.reason = Some("exited with code 1; 5 restarts within 60s (max_restarts = 5)".into());
    app.apply(Update::Snapshot(Snapshot {
        project: "shop".into(),
        taken_ms: None,
        progress: Progress::Failed {
            reason: "mail: exited with code 1".into(),
        },
        instances: vec![
            migrate,
            web,
            instance("worker.1", State::Running, Some(4251)),
            instance("worker.2", State::Starting, Some(4252)),
            mail,
        ],
    }));
    app.apply(Update::Message(Message {
        at: noon(0),
        level: Level::Info,
        text: "migrate: started pid 4240".into(),
    }));
    app.apply(super::batch(
        "migrate",
        noon(150),
        "database ready (0 orders)\n",
    ));
    app.apply(super::batch(
        "web",
        noon(390),
        "\x1b[32mGET\x1b[0m /orders 200\t3ms\nlistening on http://127.0.0.1:8000\n",
    ));
    app.apply(super::batch(
        "worker.1",
        noon(420),
        "shipped order #12 漢字\n",
    ));
    app.apply(super::batch(
        "mail",
        noon(500),
        "Traceback (most recent call last):\nConnectionRefusedError: [Errno 111] Connection refused\n",
    ));
    app.apply(Update::Message(Message {
        at: noon(510),
        level: Level::Error,
        text: "mail: failed: exited with code 1; 5 restarts within 60s (max_restarts = 5)".into(),
    }));
    app.apply(super::batch("worker.2", noon(600), "waiting for jobs\n"));
    app
}

fn render(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            app.page = view::draw(frame, app);
        })
        .unwrap();
    terminal
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(app: &mut App, text: &str) {
    for ch in text.chars() {
        press(app, KeyCode::Char(ch));
    }
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut skip = 0;
        for x in 0..buffer.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
            out.push_str(symbol);
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_merged_view_shows_every_instance_in_time_order() {
    let mut app = shop(Mode::Up);
    let terminal = render(&mut app, 120, 18);
    insta::assert_snapshot!("merged", screen(&terminal));
}

#[test]
fn the_list_on_a_wide_terminal_has_every_column_and_one_instance_in_the_pane() {
    let mut app = shop(Mode::Up);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('a'));
    let terminal = render(&mut app, 130, 12);
    insta::assert_snapshot!("list_one_instance", screen(&terminal));
}

#[test]
fn a_failed_process_shows_its_reason_under_the_list() {
    let mut app = shop(Mode::Up);
    press(&mut app, KeyCode::Char('a'));
    for _ in 0..4 {
        press(&mut app, KeyCode::Char('j'));
    }
    let terminal = render(&mut app, 100, 14);
    insta::assert_snapshot!("failed", screen(&terminal));
}

#[test]
fn search_highlights_matches_and_n_moves_between_them() {
    let mut app = shop(Mode::Up);
    press(&mut app, KeyCode::Char('/'));
    type_text(&mut app, "order");
    let terminal = render(&mut app, 120, 18);
    insta::assert_snapshot!("search_typing", screen(&terminal));
    press(&mut app, KeyCode::Enter);
    let terminal = render(&mut app, 120, 18);
    insta::assert_snapshot!("search", screen(&terminal));
    // Every match is highlighted; the current one (the newest, "shipped order") stands out.
    let buffer = terminal.backend().buffer();
    let backgrounds: Vec<(String, Option<Color>)> = (0..buffer.area.height)
        .flat_map(|y| (0..buffer.area.width).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            buffer[(x, y)].bg == Color::Yellow || buffer[(x, y)].bg == Color::LightRed
        })
        .map(|(x, y)| (buffer[(x, y)].symbol().to_string(), Some(buffer[(x, y)].bg)))
        .collect();
    let text = |color| -> String {
        backgrounds
            .iter()
            .filter(|(_, bg)| *bg == Some(color))
            .map(|(s, _)| s.as_str())
            .collect()
    };
    assert_eq!(text(Color::LightRed), "order");
    // "0 orders" and "/orders" are matches too.
    assert_eq!(text(Color::Yellow), "orderorder");
    // n: the next older match becomes the current one.
    press(&mut app, KeyCode::Char('n'));
    let current = app.search.as_ref().and_then(|s| s.current).unwrap();
    let entry = app
        .store
        .view(super::store::View::Merged)
        .iter()
        .find(|e| (e.at, e.seq) == current)
        .unwrap();
    assert!(entry.text.contains("/orders"), "{}", entry.text);
    press(&mut app, KeyCode::Char('n'));
    press(&mut app, KeyCode::Char('n'));
    assert_eq!(app.current_notice(), Some("no older match"));
}

#[test]
fn help_lists_every_key() {
    let mut app = shop(Mode::Up);
    press(&mut app, KeyCode::Char('?'));
    let terminal = render(&mut app, 100, 24);
    insta::assert_snapshot!("help", screen(&terminal));
    press(&mut app, KeyCode::Char('x'));
    assert!(!app.help);
}

#[test]
fn ansi_colours_of_a_process_are_kept() {
    let mut app = shop(Mode::Up);
    let terminal = render(&mut app, 120, 18);
    let buffer = terminal.backend().buffer();
    let row = (0..buffer.area.height)
        .find(|&y| {
            screen(&terminal)
                .lines()
                .nth(y as usize)
                .unwrap()
                .contains("GET")
        })
        .unwrap();
    let cells: Vec<(String, Color)> = (0..buffer.area.width)
        .map(|x| (buffer[(x, row)].symbol().to_string(), buffer[(x, row)].fg))
        .collect();
    let start = cells.iter().position(|(s, _)| s == "G").unwrap();
    let colours: Vec<Color> = cells[start..start + 5].iter().map(|(_, fg)| *fg).collect();
    // "GET" in green as the process wrote it, then the default colour again.
    assert_eq!(
        colours,
        [
            Color::Green,
            Color::Green,
            Color::Green,
            Color::Reset,
            Color::Reset
        ]
    );
}

#[test]
fn q_stops_everything_and_shows_progress_then_ctrl_c_kills() {
    let mut app = shop(Mode::Up);
    assert_eq!(
        press(&mut app, KeyCode::Char('q')),
        [Effect::Send(Request::Down)]
    );
    let terminal = render(&mut app, 120, 18);
    insta::assert_snapshot!("quitting", screen(&terminal));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.key(ctrl_c), [Effect::Send(Request::Kill)]);
    assert!(app.key(ctrl_c).is_empty());
}

#[test]
fn in_attach_q_and_ctrl_c_only_detach() {
    let mut app = shop(Mode::Attach);
    assert_eq!(press(&mut app, KeyCode::Char('q')), [Effect::Detach]);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert_eq!(app.key(ctrl_c), [Effect::Detach]);
}

#[test]
fn r_restarts_and_s_stops_or_starts_the_selected_instance() {
    let mut app = shop(Mode::Up);
    press(&mut app, KeyCode::Down);
    assert_eq!(
        press(&mut app, KeyCode::Char('r')),
        [Effect::Send(Request::Restart {
            names: vec!["web".into()],
            rolling: false
        })]
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('s')),
        [Effect::Send(Request::Stop {
            names: vec!["web".into()]
        })]
    );
    press(&mut app, KeyCode::Up);
    assert_eq!(
        press(&mut app, KeyCode::Char('s')),
        [Effect::Send(Request::Start {
            names: vec!["migrate".into()]
        })]
    );
}

#[test]
fn plus_and_minus_scale_the_selected_process_by_one() {
    let mut app = shop(Mode::Up);
    // The shop's list: migrate, web, worker.1, worker.2, mail.
    for _ in 0..2 {
        press(&mut app, KeyCode::Down);
    }
    assert_eq!(
        press(&mut app, KeyCode::Char('+')),
        [Effect::Send(Request::Scale {
            counts: [("worker".into(), 3)].into()
        })]
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('-')),
        [Effect::Send(Request::Scale {
            counts: [("worker".into(), 1)].into()
        })]
    );
}

#[test]
fn scrolling_pauses_follow_and_new_lines_do_not_move_the_view() {
    let mut app = shop(Mode::Up);
    render(&mut app, 120, 18);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Focus::Logs);
    press(&mut app, KeyCode::Up);
    assert!(!app.follow);
    assert_eq!(app.scroll, 1);
    app.apply(super::batch("web", noon(700), "newer\n"));
    assert_eq!(app.scroll, 2);
    press(&mut app, KeyCode::End);
    assert!(app.follow);
    assert_eq!(app.scroll, 0);
    press(&mut app, KeyCode::Char('f'));
    assert!(!app.follow);
}

#[test]
fn m_turns_the_mouse_capture_off_for_copying_and_back_on() {
    let mut app = shop(Mode::Up);
    assert_eq!(
        press(&mut app, KeyCode::Char('m')),
        [Effect::MouseCapture(false)]
    );
    let terminal = render(&mut app, 80, 6);
    insta::assert_snapshot!("copy_mode", screen(&terminal));
    assert_eq!(press(&mut app, KeyCode::Esc), [Effect::MouseCapture(true)]);
}

#[test]
fn timestamps_off_and_long_lines_wrapped_or_scrolled() {
    let mut app = shop(Mode::Up);
    press(&mut app, KeyCode::Char('t'));
    app.apply(super::batch(
        "web",
        noon(800),
        &format!("{}\n", "0123456789".repeat(12)),
    ));
    let terminal = render(&mut app, 100, 8);
    insta::assert_snapshot!("wrapped", screen(&terminal));
    press(&mut app, KeyCode::Char('w'));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Right);
    let terminal = render(&mut app, 100, 8);
    insta::assert_snapshot!("scrolled_sideways", screen(&terminal));
}

#[test]
fn scrollback_is_bounded_per_instance() {
    let mut app = App::new(
        Mode::Up,
        100,
        Clock::new(jiff::tz::TimeZone::UTC),
        Instant::now(),
    );
    let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    app.apply(super::batch("web", noon(0), &text));
    let web = app.store.find("web").unwrap();
    let lines = app.store.view(super::store::View::Instance(web));
    assert_eq!(lines.len(), 100);
    assert_eq!(&*lines[0].text, "line 900");
}

#[test]
fn the_list_shows_cpu_and_memory_once_sampled_and_health_in_the_detail() {
    let mut app = shop(Mode::Up);
    let before = format!("{:?}", render(&mut app, 160, 30).backend().buffer());
    assert!(!before.contains("CPU%"), "nothing sampled, no columns");
    let mut web = instance("web", State::Running, Some(4242));
    web.cpu_percent = Some(12.5);
    web.memory_bytes = Some(24_536_000);
    web.health = Some(crate::supervisor::Health::Healthy);
    let mut sampled = app.instances.clone();
    sampled[1] = web.clone();
    app.apply(Update::Usage(vec![web.clone()]));
    app.apply(Update::Snapshot(Snapshot {
        project: "shop".into(),
        taken_ms: None,
        progress: Progress::Up,
        instances: sampled,
    }));
    app.selected = 1;
    let screen = format!("{:?}", render(&mut app, 160, 30).backend().buffer());
    assert!(screen.contains("CPU%"), "{screen}");
    assert!(screen.contains("12.5"), "{screen}");
    assert!(screen.contains("23.4M"), "{screen}");
    assert!(screen.contains("web: healthy"), "{screen}");
}
