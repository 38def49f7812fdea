//! What [`Client::publish`](crate::Client::publish) takes as a subject.

use async_nats::Subject;

/// A subject [`Client::publish`](crate::Client::publish) takes, converted
/// without a copy where the type allows:
///
/// | argument | conversion |
/// |---|---|
/// | `&'static str` (a literal) | none: sent as it is, no allocation, no reference count |
/// | `String` | moved in, no copy |
/// | `&String` | copied once |
/// | [`Subject`] (a message's `reply`, say) or `&Subject` | shared |
///
/// A publish runs at the rate its caller hands messages to the
/// connection's thread, so a per-message allocation or a reference count
/// both threads touch shows in that rate (`docs/perf-notes.md`, "NATS
/// bridge"). A borrowed `&str` that is not `'static` has no conversion:
/// pass `s.to_owned()` or a `&String`. Methods called once per
/// subscription or per request take any `impl AsRef<str>`.
///
/// ```
/// use nimsync_nats::IntoSubject;
///
/// fn subject_of(s: impl IntoSubject) -> String {
///     s.into_subject().as_str().to_owned()
/// }
/// let id = 42;
/// assert_eq!(subject_of("orders.created"), "orders.created");
/// assert_eq!(subject_of(format!("orders.{id}")), "orders.42");
/// let name = String::from("orders.shipped");
/// assert_eq!(subject_of(&name), "orders.shipped");
/// ```
pub trait IntoSubject: sealed::Sealed {
    /// The subject as async-nats's type.
    fn into_subject(self) -> Subject;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &'static str {}
    impl Sealed for String {}
    impl Sealed for &String {}
    impl Sealed for async_nats::Subject {}
    impl Sealed for &async_nats::Subject {}
}

impl IntoSubject for &'static str {
    fn into_subject(self) -> Subject {
        Subject::from_static(self)
    }
}

impl IntoSubject for String {
    fn into_subject(self) -> Subject {
        Subject::from(self)
    }
}

impl IntoSubject for &String {
    fn into_subject(self) -> Subject {
        Subject::from(self.as_str())
    }
}

impl IntoSubject for Subject {
    fn into_subject(self) -> Subject {
        self
    }
}

impl IntoSubject for &Subject {
    fn into_subject(self) -> Subject {
        self.clone()
    }
}
