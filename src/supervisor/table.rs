//! The instance table: every slot the supervisor holds, and the ways to find one.
//!
//! Slots are never removed: an instance a reload dropped keeps its slot as a tombstone
//! (its `process` is `None`), so that an index held by a probe task or a waiter always
//! names the same instance. Lookups by pid and by name live here, next to the slots they
//! index.

use std::collections::HashMap;
use std::ops::{Index, IndexMut};

use super::command::Refusal;
use super::slot::Slot;

#[derive(Default)]
pub(super) struct InstanceTable {
    slots: Vec<Slot>,
    /// The slot whose current process has this pid.
    by_pid: HashMap<i32, usize>,
    /// Slots created so far, tombstones included (colours keep cycling across reloads).
    created: usize,
}

impl InstanceTable {
    /// Add a slot; returns its index.
    pub(super) fn add(&mut self, make: impl FnOnce(usize) -> Slot) -> usize {
        let slot = make(self.created);
        self.created += 1;
        self.slots.push(slot);
        self.slots.len() - 1
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn iter(&self) -> std::slice::Iter<'_, Slot> {
        self.slots.iter()
    }

    pub(super) fn iter_mut(&mut self) -> std::slice::IterMut<'_, Slot> {
        self.slots.iter_mut()
    }

    /// Indices of the slots that are not tombstones.
    pub(super) fn live(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.slots.len()).filter(|&index| !self.slots[index].is_removed())
    }

    /// The slots of process `process` (an index into the plan's processes).
    pub(super) fn of_process(&self, process: usize) -> impl Iterator<Item = &Slot> + '_ {
        self.slots
            .iter()
            .filter(move |slot| slot.process == Some(process))
    }

    pub(super) fn note_pid(&mut self, pid: i32, index: usize) {
        self.by_pid.insert(pid, index);
    }

    /// The slot whose current process is `pid`.
    pub(super) fn index_of_pid(&self, pid: i32) -> Option<usize> {
        self.by_pid.get(&pid).copied()
    }

    /// The slot whose process `pid` was, forgetting the pid (it has exited).
    pub(super) fn take_pid(&mut self, pid: i32) -> Option<usize> {
        self.by_pid.remove(&pid)
    }

    /// The slots `names` mean, in the order named: a process name means all its
    /// instances. Unknown names are refused, listing the known ones.
    pub(super) fn resolve(&self, names: &[String]) -> Result<Vec<usize>, Refusal> {
        let mut chosen = Vec::new();
        let mut unknown = Vec::new();
        for name in names {
            let matching: Vec<usize> = self
                .live()
                .filter(|&index| {
                    let instance = &self.slots[index].instance;
                    instance.name == *name || instance.process == *name
                })
                .collect();
            if matching.is_empty() {
                unknown.push(name.clone());
            }
            for index in matching {
                if !chosen.contains(&index) {
                    chosen.push(index);
                }
            }
        }
        if unknown.is_empty() {
            return Ok(chosen);
        }
        let mut known: Vec<String> = Vec::new();
        for index in self.live() {
            let instance = &self.slots[index].instance;
            for name in [&instance.process, &instance.name] {
                if !known.contains(name) {
                    known.push(name.clone());
                }
            }
        }
        Err(Refusal::UnknownNames { unknown, known })
    }
}

impl Index<usize> for InstanceTable {
    type Output = Slot;

    fn index(&self, index: usize) -> &Slot {
        &self.slots[index]
    }
}

impl IndexMut<usize> for InstanceTable {
    fn index_mut(&mut self, index: usize) -> &mut Slot {
        &mut self.slots[index]
    }
}
