//! The `tracing` feature: a drop, a `Fail` overflow and an undelivered
//! item each give an event with the target `nimsync_stream`.

#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use nimsync_stream::{Overflow, channel};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event: level, target, message and the `reason` field.
type Seen1 = (Level, String, String, String);

/// The events seen.
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<Seen1>>>);

#[derive(Default)]
struct Fields {
    message: String,
    reason: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "reason" => self.reason = format!("{value:?}"),
            _ => {}
        }
    }
}

impl Subscriber for Seen {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let m = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((*m.level(), m.target().to_string(), f.message, f.reason));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn drops_overflows_and_undelivered_items_are_reported() {
    let seen = Seen::default();
    tracing::subscriber::with_default(seen.clone(), || {
        let (tx, rx) = channel(1, Overflow::DropOldest);
        tx.send(1).unwrap();
        tx.send(2).unwrap(); // drops 1
        drop(rx); // 2 undelivered
        let (tx, rx) = channel(1, Overflow::Fail);
        tx.send(1).unwrap();
        assert!(tx.send(2).is_err());
        assert_eq!(rx.into_remainder(), [1]); // counted, handed back, no hook
    });
    let events = seen.0.lock().unwrap();
    let ours: Vec<_> = events.iter().filter(|e| e.1 == "nimsync_stream").collect();
    assert_eq!(ours.len(), 4, "{ours:?}");
    assert_eq!((ours[0].0, ours[0].3.as_str()), (Level::TRACE, "Oldest"));
    assert!(ours[0].2.contains("dropped an item"));
    assert_eq!(ours[1].0, Level::DEBUG);
    assert!(ours[1].2.contains("went away holding an item"));
    assert_eq!(ours[2].0, Level::WARN);
    assert!(ours[2].2.contains("Fail policy"));
    // `into_remainder` counts what it hands back as undelivered too.
    assert_eq!(ours[3].0, Level::DEBUG);
}
