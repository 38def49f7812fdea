//! The queue of a group's finished children that `join_next` takes from.
//!
//! A finishing child pushes its spawn index and takes the joiner's waker
//! under the lock, then wakes it outside; the joiner pops, or registers its
//! waker when it finds nothing, under the same lock. So a child that
//! finishes while the joiner is registering either is seen by the pop or
//! finds the waker registered: it is never missed. The loom models of this
//! are in `loom_tests.rs`.

use core::task::Waker;
use std::collections::VecDeque;

use crate::sync::Mutex;

/// Finished children not yet joined, in finishing order, and the joiner
/// waiting for the next one.
pub(crate) struct Finished {
    state: Mutex<State>,
}

struct State {
    indices: VecDeque<usize>,
    /// The joiner's waker while it waits (taken by the wake).
    joiner: Option<Waker>,
}

impl Finished {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                indices: VecDeque::new(),
                joiner: None,
            }),
        }
    }

    /// Records that child `index` finished and wakes the joiner.
    pub(crate) fn push(&self, index: usize) {
        let joiner = {
            let mut st = self.state.lock();
            st.indices.push_back(index);
            st.joiner.take()
        };
        if let Some(w) = joiner {
            w.wake();
        }
    }

    /// The earliest finished child not yet taken, if any.
    pub(crate) fn pop(&self) -> Option<usize> {
        self.state.lock().indices.pop_front()
    }

    /// The earliest finished child not yet taken; when there is none,
    /// `waker` is woken by the next [`push`](Finished::push).
    pub(crate) fn pop_or_register(&self, waker: &Waker) -> Option<usize> {
        let mut st = self.state.lock();
        let popped = st.indices.pop_front();
        let replaced = match (&popped, &mut st.joiner) {
            (Some(_), _) => None,
            (None, Some(w)) if w.will_wake(waker) => None,
            (None, slot) => slot.replace(waker.clone()),
        };
        drop(st);
        // Dropped with the lock released.
        drop(replaced);
        popped
    }
}
