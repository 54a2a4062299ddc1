//! `depends_on`: every dependency must exist, none may be circular, and the result is
//! the order processes start in.
//!
//! The order is a stable topological sort: whenever several processes could start
//! next, the one written first in the file goes first, so the file reads as the plan.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::diagnostic::{Diagnostic, SourceFile};
use super::raw::{RawProcess, RawSetup};
use super::suggest;

/// An edge `from → to` ("from depends on to"), with the span of the `depends_on` entry.
type Edges = Vec<Vec<(usize, Range<usize>)>>;

/// Checks every `depends_on` and returns the start order, as indices into `processes`.
///
/// Problems are added to `diagnostics` (the order is then not to be used).
pub(crate) fn start_order(
    processes: &[RawProcess],
    setup: &[RawSetup],
    file: &Arc<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<usize> {
    let edges = resolve(processes, setup, file, diagnostics);
    for cycle in find_cycles(&edges) {
        diagnostics.push(cycle_error(&cycle, processes, &edges, file));
    }
    topological_order(&edges)
}

/// The edges of the graph; unknown and self dependencies are reported and left out.
fn resolve(
    processes: &[RawProcess],
    setup: &[RawSetup],
    file: &Arc<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Edges {
    let index: HashMap<&str, usize> = processes
        .iter()
        .enumerate()
        .map(|(i, process)| (process.spec.name.as_str(), i))
        .rev() // the first of duplicate names wins
        .collect();
    let names: Vec<&str> = processes.iter().map(|p| p.spec.name.as_str()).collect();
    processes
        .iter()
        .enumerate()
        .map(|(from, process)| {
            let name = &process.spec.name;
            let entries = process
                .spec
                .depends_on
                .iter()
                .zip(&process.spans.depends_on);
            let mut edges = Vec::new();
            for (dependency, span) in entries {
                match index.get(dependency.as_str()) {
                    Some(&to) if to == from => diagnostics.push(
                        Diagnostic::new(
                            file,
                            span.clone(),
                            format!("process `{name}` depends on itself"),
                        )
                        .label("this is the process itself")
                        .help(format!("remove `{name}` from `depends_on`")),
                    ),
                    Some(&to) => edges.push((to, span.clone())),
                    None => {
                        let others: Vec<&str> = names
                            .iter()
                            .copied()
                            .filter(|other| other != name)
                            .collect();
                        let help = unknown_help(dependency, &others, setup);
                        diagnostics.push(
                            Diagnostic::new(
                                file,
                                span.clone(),
                                format!(
                                    "process `{name}` depends on unknown process `{dependency}`"
                                ),
                            )
                            .label("no process has this name")
                            .help(help),
                        );
                    }
                }
            }
            edges
        })
        .collect()
}

fn unknown_help(dependency: &str, others: &[&str], setup: &[RawSetup]) -> String {
    if let Some(best) = suggest::closest(dependency, others.iter().copied()) {
        return format!("did you mean `{best}`?");
    }
    if setup.iter().any(|step| step.step.name == dependency) {
        return format!(
            "`{dependency}` is a setup step; setup runs before any process starts, so remove it from `depends_on`"
        );
    }
    if others.is_empty() {
        return format!(
            "define it under `[processes]`, or remove `{dependency}` from `depends_on`"
        );
    }
    format!("known processes: {}", suggest::backticked(others))
}

/// Each cycle as its edges `(from, index into edges[from])`; the last edge closes it.
fn find_cycles(edges: &Edges) -> Vec<Vec<(usize, usize)>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }

    fn visit(
        node: usize,
        edges: &Edges,
        marks: &mut [Mark],
        path: &mut Vec<(usize, usize)>,
        cycles: &mut Vec<Vec<(usize, usize)>>,
    ) {
        marks[node] = Mark::OnPath;
        for (k, (to, _)) in edges[node].iter().enumerate() {
            match marks[*to] {
                Mark::New => {
                    path.push((node, k));
                    visit(*to, edges, marks, path, cycles);
                    path.pop();
                }
                Mark::OnPath => {
                    // `to` is on the current path: the edges from it to here, plus this
                    // one, go round.
                    let start = path
                        .iter()
                        .position(|(from, _)| from == to)
                        .unwrap_or(path.len());
                    let mut cycle = path[start..].to_vec();
                    cycle.push((node, k));
                    cycles.push(cycle);
                }
                Mark::Done => {}
            }
        }
        marks[node] = Mark::Done;
    }

    let mut marks = vec![Mark::New; edges.len()];
    let mut cycles = Vec::new();
    // Starting from each process in file order makes the reported cycle begin with the
    // first process written, and point at the entry that closes it.
    for node in 0..edges.len() {
        if marks[node] == Mark::New {
            visit(node, edges, &mut marks, &mut Vec::new(), &mut cycles);
        }
    }
    cycles
}

fn cycle_error(
    cycle: &[(usize, usize)],
    processes: &[RawProcess],
    edges: &Edges,
    file: &Arc<SourceFile>,
) -> Diagnostic {
    let name = |i: usize| processes[i].spec.name.as_str();
    let mut names: Vec<&str> = cycle.iter().map(|(from, _)| name(*from)).collect();
    names.push(names[0]);
    let edge = |(from, k): (usize, usize)| {
        let (to, span) = &edges[from][k];
        (
            span.clone(),
            format!("`{}` depends on `{}`", name(from), name(*to)),
        )
    };
    let (closing, rest) = cycle.split_last().unwrap_or((&cycle[0], &[]));
    let (span, label) = edge(*closing);
    let mut diagnostic = Diagnostic::new(file, span, format!("dependency cycle: {}", names.join(" -> ")))
        .label(format!("{label}, which closes the cycle"))
        .help("a process starts only after its dependencies are ready, so none of these can start; remove one of these dependencies");
    for step in rest {
        let (span, label) = edge(*step);
        diagnostic = diagnostic.context(span, label);
    }
    diagnostic
}

/// Depth-first, dependencies before dependants: each process in file order, preceded by
/// whatever it needs that has not started yet (in file order too). So `web` written
/// first still starts as soon as its dependencies allow, rather than after every
/// process that happens to be ready earlier. With a cycle (already reported) the order
/// is complete but meaningless.
fn topological_order(edges: &Edges) -> Vec<usize> {
    fn place(node: usize, edges: &Edges, visited: &mut [bool], order: &mut Vec<usize>) {
        if visited[node] {
            return;
        }
        visited[node] = true;
        let mut dependencies: Vec<usize> = edges[node].iter().map(|(to, _)| *to).collect();
        dependencies.sort_unstable();
        for dependency in dependencies {
            place(dependency, edges, visited, order);
        }
        order.push(node);
    }

    let mut visited = vec![false; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
    for node in 0..edges.len() {
        place(node, edges, &mut visited, &mut order);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Processes from `name: dep dep` lines; spans point at each dependency in `text`.
    fn processes(text: &str) -> (Arc<SourceFile>, Vec<RawProcess>) {
        let file = SourceFile::new("proj.toml", text);
        let mut processes = Vec::new();
        let mut offset = 0;
        for line in text.lines() {
            let (name, deps) = line.split_once(':').unwrap();
            let mut process =
                RawProcess::new(name.to_owned(), offset..offset + name.len(), "x".into());
            let mut at = offset + name.len() + 1;
            for dep in deps.split(' ') {
                if !dep.is_empty() {
                    process.spec.depends_on.push(dep.to_owned());
                    process.spans.depends_on.push(at..at + dep.len());
                }
                at += dep.len() + 1;
            }
            processes.push(process);
            offset += line.len() + 1;
        }
        (file, processes)
    }

    fn order(text: &str) -> (Vec<String>, Vec<Diagnostic>) {
        let (file, processes) = processes(text);
        let mut diagnostics = Vec::new();
        let order = start_order(&processes, &[], &file, &mut diagnostics);
        let names = order
            .into_iter()
            .map(|i| processes[i].spec.name.clone())
            .collect();
        (names, diagnostics)
    }

    #[test]
    fn dependencies_first_then_file_order() {
        let (names, diagnostics) = order("web: cache db\nworker: db\ndb:\ncache:\nlone:");
        assert!(diagnostics.is_empty());
        assert_eq!(names, ["db", "cache", "web", "worker", "lone"]);
        let (names, _) = order("a: c\nb:\nc: b");
        assert_eq!(names, ["b", "c", "a"]);
    }

    #[test]
    fn independent_processes_keep_file_order() {
        let (names, _) = order("c:\nb:\na:");
        assert_eq!(names, ["c", "b", "a"]);
    }

    #[test]
    fn cycle_is_named_and_points_at_the_closing_entry() {
        let (_, diagnostics) = order("a: b\nb: c\nc: a\nd: a");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
        let diagnostic = &diagnostics[0];
        assert_eq!(diagnostic.message(), "dependency cycle: a -> b -> c -> a");
        assert_eq!((diagnostic.line(), diagnostic.column()), (3, 4));
        assert_eq!(
            diagnostic.label_text(),
            "`c` depends on `a`, which closes the cycle"
        );
    }

    #[test]
    fn self_and_unknown_dependencies() {
        let (_, diagnostics) = order("web: web dbb\ndb:\nx: zzz");
        let found: Vec<(usize, usize, &str, Option<&str>)> = diagnostics
            .iter()
            .map(|d| (d.line(), d.column(), d.message(), d.help_text()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    1,
                    6,
                    "process `web` depends on itself",
                    Some("remove `web` from `depends_on`")
                ),
                (
                    1,
                    10,
                    "process `web` depends on unknown process `dbb`",
                    Some("did you mean `db`?")
                ),
                (
                    3,
                    4,
                    "process `x` depends on unknown process `zzz`",
                    Some("known processes: `web`, `db`")
                ),
            ]
        );
    }
}
