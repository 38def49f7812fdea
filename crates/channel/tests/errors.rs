//! Display, Debug, `std::error::Error`, helpers and conversions of every
//! error type, with a payload that implements neither `Debug` nor `Display`.

use std::error::Error;

use nimsync_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, mpmc,
};

/// A payload that is deliberately not `Debug`, `Clone` or `PartialEq`.
struct Opaque(u32);

fn as_error<E: Error + 'static>(e: &E) -> &(dyn Error + 'static) {
    e
}

/// Display text must be a short lowercase phrase (advice lives in the
/// type's docs), with no trailing period, and must not leak the payload.
fn check_display(e: &dyn Error, must_contain: &[&str]) {
    let text = e.to_string();
    assert!(!text.is_empty());
    assert!(
        text.starts_with(|c: char| c.is_lowercase()),
        "{text:?} starts lowercase"
    );
    assert!(!text.ends_with('.'), "{text:?} has no trailing period");
    assert!(
        !text.contains([':', ';']) && text.len() <= 40,
        "{text:?} is one short phrase"
    );
    for needle in must_contain {
        assert!(
            text.contains(needle),
            "{text:?} does not contain {needle:?}"
        );
    }
    assert!(e.source().is_none(), "channel errors have no source");
}

#[test]
fn try_send_error_full() {
    let e = TrySendError::Full(Opaque(1));
    assert_eq!(format!("{e:?}"), "Full(..)");
    check_display(as_error(&e), &["full"]);
    assert!(e.is_full());
    assert!(!e.is_closed());
    assert_eq!(e.into_inner().0, 1);
}

#[test]
fn try_send_error_closed() {
    let e = TrySendError::Closed(Opaque(2));
    assert_eq!(format!("{e:?}"), "Closed(..)");
    check_display(as_error(&e), &["closed"]);
    assert!(e.is_closed());
    assert!(!e.is_full());
    assert_eq!(e.into_inner().0, 2);
}

#[test]
fn try_send_error_messages_differ() {
    let full = TrySendError::Full(()).to_string();
    let closed = TrySendError::Closed(()).to_string();
    assert_ne!(full, closed);
}

#[test]
fn send_error() {
    let e = SendError(Opaque(3));
    assert_eq!(format!("{e:?}"), "SendError(..)");
    check_display(as_error(&e), &["closed"]);
    assert_eq!(e.0.0, 3);
    assert_eq!(SendError(Opaque(4)).into_inner().0, 4);
    // The same wording as a closed try_send.
    assert_eq!(
        SendError(()).to_string(),
        TrySendError::Closed(()).to_string()
    );
}

#[test]
fn send_timeout_error_timeout() {
    let e = SendTimeoutError::Timeout(Opaque(5));
    assert_eq!(format!("{e:?}"), "Timeout(..)");
    check_display(as_error(&e), &["timed out"]);
    assert!(e.is_timeout());
    assert!(!e.is_closed());
    assert_eq!(e.into_inner().0, 5);
}

#[test]
fn send_timeout_error_closed() {
    let e = SendTimeoutError::Closed(Opaque(6));
    assert_eq!(format!("{e:?}"), "Closed(..)");
    check_display(as_error(&e), &["closed"]);
    assert!(e.is_closed());
    assert!(!e.is_timeout());
    assert_eq!(e.into_inner().0, 6);
    assert_eq!(
        SendTimeoutError::Closed(()).to_string(),
        SendError(()).to_string()
    );
}

#[test]
fn try_recv_error() {
    let empty = TryRecvError::Empty;
    let closed = TryRecvError::Closed;
    assert_eq!(format!("{empty:?}"), "Empty");
    assert_eq!(format!("{closed:?}"), "Closed");
    check_display(&empty, &["empty"]);
    check_display(&closed, &["closed"]);
    assert!(empty.is_empty() && !empty.is_closed());
    assert!(closed.is_closed() && !closed.is_empty());
    assert_ne!(empty.to_string(), closed.to_string());
}

#[test]
fn recv_error() {
    let e = RecvError;
    assert_eq!(format!("{e:?}"), "RecvError");
    check_display(&e, &["closed"]);
    assert_eq!(e.to_string(), TryRecvError::Closed.to_string());
}

#[test]
fn recv_timeout_error() {
    let timeout = RecvTimeoutError::Timeout;
    let closed = RecvTimeoutError::Closed;
    assert_eq!(format!("{timeout:?}"), "Timeout");
    assert_eq!(format!("{closed:?}"), "Closed");
    check_display(&timeout, &["timed out"]);
    check_display(&closed, &["closed"]);
    assert!(timeout.is_timeout() && !timeout.is_closed());
    assert!(closed.is_closed() && !closed.is_timeout());
    assert_eq!(closed.to_string(), RecvError.to_string());
}

#[test]
fn conversions_from_send_error() {
    let e: TrySendError<Opaque> = SendError(Opaque(7)).into();
    assert!(e.is_closed());
    assert_eq!(e.into_inner().0, 7);
    let e: SendTimeoutError<Opaque> = SendError(Opaque(8)).into();
    assert!(e.is_closed());
    assert_eq!(e.into_inner().0, 8);
}

#[test]
fn conversions_from_recv_error() {
    assert_eq!(TryRecvError::from(RecvError), TryRecvError::Closed);
    assert_eq!(RecvTimeoutError::from(RecvError), RecvTimeoutError::Closed);
}

#[test]
fn errors_box_into_dyn_error_and_use_question_mark() {
    fn send_one(tx: &mpmc::Sender<Opaque>) -> Result<(), Box<dyn Error + Send + Sync>> {
        tx.try_send(Opaque(9))?;
        Ok(())
    }
    fn recv_one(rx: &mpmc::Receiver<u8>) -> Result<u8, Box<dyn Error + Send + Sync>> {
        Ok(rx.try_recv()?)
    }
    let (tx, rx) = mpmc::channel(1);
    assert!(send_one(&tx).is_ok());
    let err = send_one(&tx).unwrap_err();
    assert!(err.to_string().contains("full"));
    assert!(
        err.downcast_ref::<TrySendError<Opaque>>()
            .is_some_and(TrySendError::is_full)
    );
    drop(rx);
    let (_tx, rx) = mpmc::channel::<u8>(1);
    let err = recv_one(&rx).unwrap_err();
    assert_eq!(
        err.downcast_ref::<TryRecvError>(),
        Some(&TryRecvError::Empty)
    );
}

#[test]
fn equality_copy_and_clone_where_the_payload_allows() {
    let a = TrySendError::Full(1);
    let b = a; // Copy
    assert_eq!(a, b);
    assert_ne!(TrySendError::Full(1), TrySendError::Closed(1));
    let s = SendError(String::from("x"));
    let c = s.clone();
    assert_eq!(s, c);
    assert_ne!(SendTimeoutError::Timeout(1), SendTimeoutError::Closed(1));
    let r = RecvTimeoutError::Timeout;
    let r2 = r;
    assert_eq!(r, r2);
}
