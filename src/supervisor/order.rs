//! Dependency order between processes, as the supervisor needs it at run time.
//!
//! The plan already lists processes so that dependencies come first and has rejected
//! cycles; this module answers the run-time questions: which processes does `proj up
//! web` start (web and everything it depends on, transitively), which processes wait on
//! a given one (its dependants, who must stop before it at shutdown).

use std::collections::BTreeSet;

use crate::config::Plan;

/// Process indices (into `plan.processes`) and the edges between them.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    /// `dependencies[p]`: the processes `p` depends on.
    pub dependencies: Vec<Vec<usize>>,
    /// `dependants[p]`: the processes that depend on `p`.
    pub dependants: Vec<Vec<usize>>,
    /// `downstream[p]`: the processes that depend on `p` directly or through others, in
    /// index order. Shutdown waits for all of them: web → migrate (a oneshot, long
    /// exited) → db still means web stops before db.
    pub downstream: Vec<Vec<usize>>,
}

impl Graph {
    pub(crate) fn new(plan: &Plan) -> Graph {
        let dependencies: Vec<Vec<usize>> = plan
            .processes
            .iter()
            .map(|p| p.dependencies.clone())
            .collect();
        let mut dependants = vec![Vec::new(); plan.processes.len()];
        for (process, deps) in dependencies.iter().enumerate() {
            for &dep in deps {
                dependants[dep].push(process);
            }
        }
        let downstream = (0..dependants.len())
            .map(|process| {
                let mut found = BTreeSet::new();
                let mut todo = dependants[process].clone();
                while let Some(dependant) = todo.pop() {
                    if found.insert(dependant) {
                        todo.extend(&dependants[dependant]);
                    }
                }
                found.into_iter().collect()
            })
            .collect();
        Graph {
            dependencies,
            dependants,
            downstream,
        }
    }

    /// `roots` and everything they depend on, transitively.
    pub(crate) fn with_dependencies(
        &self,
        roots: impl IntoIterator<Item = usize>,
    ) -> BTreeSet<usize> {
        let mut chosen = BTreeSet::new();
        let mut todo: Vec<usize> = roots.into_iter().collect();
        while let Some(process) = todo.pop() {
            if chosen.insert(process) {
                todo.extend(&self.dependencies[process]);
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProcessSpec, fixtures};

    fn process(name: &str, depends_on: &[&str]) -> ProcessSpec {
        ProcessSpec {
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            ..fixtures::process(name, "true")
        }
    }

    fn plan(processes: Vec<ProcessSpec>) -> Plan {
        fixtures::plan(processes)
    }

    #[test]
    fn dependants_are_the_reverse_edges() {
        let graph = Graph::new(&plan(vec![
            process("db", &[]),
            process("migrate", &["db"]),
            process("web", &["db", "migrate"]),
        ]));
        assert_eq!(graph.dependants[0], vec![1, 2]);
        assert_eq!(graph.dependants[1], vec![2]);
        assert!(graph.dependants[2].is_empty());
    }

    #[test]
    fn downstream_follows_dependants_through_the_middle() {
        let graph = Graph::new(&plan(vec![
            process("db", &[]),
            process("migrate", &["db"]),
            process("web", &["migrate"]),
            process("worker", &["migrate"]),
        ]));
        assert_eq!(graph.downstream[0], vec![1, 2, 3]);
        assert_eq!(graph.downstream[1], vec![2, 3]);
        assert!(graph.downstream[2].is_empty());
    }

    #[test]
    fn a_selection_pulls_in_its_dependencies_transitively_and_nothing_else() {
        let graph = Graph::new(&plan(vec![
            process("db", &[]),
            process("cache", &[]),
            process("migrate", &["db"]),
            process("web", &["migrate"]),
            process("worker", &["cache"]),
        ]));
        let chosen: Vec<usize> = graph.with_dependencies([3]).into_iter().collect();
        assert_eq!(chosen, vec![0, 2, 3]);
    }
}
