//! A `tracing` subscriber that keeps every span and event, for the tests of
//! the `tracing` feature. Install it with `tracing::subscriber::with_default`
//! (this thread only, so tests running at once do not share it) and, on a
//! runtime's own threads, with [`Capture::install_on_thread`] from the
//! runtime's `on_thread_start` hook.
//!
//! The same file is in nimsync-scheduler's and nimsync-group's
//! `tests/common`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::ThreadId;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A span as the subscriber saw it.
#[derive(Debug, Clone)]
pub(crate) struct SpanData {
    /// The span's name.
    pub(crate) name: &'static str,
    /// Its fields, each printed (`str`s without quotes).
    pub(crate) fields: HashMap<String, String>,
    /// Its parent's id.
    parent: Option<u64>,
}

/// An event as the subscriber saw it.
#[derive(Debug, Clone)]
pub(crate) struct EventData {
    pub(crate) level: Level,
    pub(crate) target: String,
    /// The `message` field.
    pub(crate) message: String,
    /// The other fields, each printed (`str`s without quotes).
    pub(crate) fields: HashMap<String, String>,
    /// The spans it is in, innermost first.
    pub(crate) spans: Vec<SpanData>,
}

impl EventData {
    /// Field `name`, if the event has it.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The innermost span named `name` the event is in.
    pub(crate) fn span(&self, name: &str) -> Option<&SpanData> {
        self.spans.iter().find(|s| s.name == name)
    }
}

/// What the subscriber keeps.
#[derive(Debug, Default)]
struct Inner {
    spans: Vec<SpanData>,
    events: Vec<EventData>,
    /// The spans each thread has entered, innermost last.
    stacks: HashMap<ThreadId, Vec<u64>>,
}

impl Inner {
    /// The span current on this thread.
    fn current(&self) -> Option<u64> {
        self.stacks
            .get(&std::thread::current().id())
            .and_then(|s| s.last().copied())
    }

    /// Span `id` and its ancestors, innermost first.
    fn chain(&self, mut id: Option<u64>) -> Vec<SpanData> {
        let mut chain = Vec::new();
        while let Some(i) = id {
            let span = &self.spans[(i - 1) as usize];
            chain.push(span.clone());
            id = span.parent;
        }
        chain
    }
}

/// The subscriber; clones share what it kept.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Inner>>);

impl Capture {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every event so far, in order.
    pub(crate) fn events(&self) -> Vec<EventData> {
        self.lock().events.clone()
    }

    /// The events whose message is `message`.
    pub(crate) fn events_with(&self, message: &str) -> Vec<EventData> {
        self.events()
            .into_iter()
            .filter(|e| e.message == message)
            .collect()
    }

    /// Makes this subscriber the calling thread's default for the rest of
    /// its life (for a runtime's `on_thread_start` hook).
    pub(crate) fn install_on_thread(&self) {
        let guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(self.clone()));
        std::mem::forget(guard);
    }
}

/// Prints every field into a map.
struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut inner = self.lock();
        let parent = if attrs.is_contextual() {
            inner.current()
        } else {
            attrs.parent().map(Id::into_u64)
        };
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        inner.spans.push(SpanData {
            name: attrs.metadata().name(),
            fields,
            parent,
        });
        Id::from_u64(inner.spans.len() as u64)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut inner = self.lock();
        let span = &mut inner.spans[(span.into_u64() - 1) as usize];
        values.record(&mut Fields(&mut span.fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut inner = self.lock();
        let parent = if event.is_contextual() {
            inner.current()
        } else {
            event.parent().map(Id::into_u64)
        };
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let spans = inner.chain(parent);
        inner.events.push(EventData {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            message,
            fields,
            spans,
        });
    }

    fn enter(&self, span: &Id) {
        let mut inner = self.lock();
        let thread = std::thread::current().id();
        inner
            .stacks
            .entry(thread)
            .or_default()
            .push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut inner = self.lock();
        let thread = std::thread::current().id();
        if let Some(stack) = inner.stacks.get_mut(&thread) {
            if let Some(at) = stack.iter().rposition(|s| *s == span.into_u64()) {
                stack.remove(at);
            }
        }
    }
}
