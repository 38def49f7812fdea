//! The bridge's error type: what went wrong, and what to do about it.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server address could not be parsed.
    BadUrl,
    /// No server answered at the address (refused, unreachable, or the
    /// connect timed out).
    Unreachable,
    /// The server refused the credentials (or required some and got none).
    NotAuthorized,
    /// A credentials, nkey or certificate file could not be read or parsed.
    BadCredentials,
    /// The TLS handshake or setup failed.
    Tls,
    /// The subject is empty, has whitespace, or has an empty token.
    InvalidSubject,
    /// The message is larger than the server's `max_payload`.
    TooLarge,
    /// Nobody subscribes to a request's subject.
    NoResponders,
    /// A deadline passed: a request's reply, a publish acknowledgement, or
    /// a JetStream API call.
    TimedOut,
    /// The connection is closed, or was lost and the operation could not
    /// wait for it to come back.
    Disconnected,
    /// JetStream refused an operation (no such stream or consumer, a
    /// configuration the server rejects, JetStream not enabled).
    JetStream,
    /// The stream or consumer this operation needs does not exist.
    NotFound,
    /// A record an ordered sink cannot take: it has no id.
    InvalidRecord,
}

impl ErrorKind {
    /// A short description and what to do about it.
    fn advice(self) -> (&'static str, &'static str) {
        match self {
            ErrorKind::BadUrl => (
                "the server address is not valid",
                "use a URL such as nats://127.0.0.1:4222 (or tls://host:port), or host:port",
            ),
            ErrorKind::Unreachable => (
                "no NATS server answered",
                "check that nats-server is running at that address and that the port is open",
            ),
            ErrorKind::NotAuthorized => (
                "the server refused these credentials",
                "pass the token, user and password, nkey or credentials file the server expects",
            ),
            ErrorKind::BadCredentials => (
                "a credentials, nkey or certificate file could not be used",
                "check the file's path, permissions and format",
            ),
            ErrorKind::Tls => (
                "TLS failed",
                "check the CA file, the client certificate and that the server speaks TLS",
            ),
            ErrorKind::InvalidSubject => (
                "the subject is not valid",
                "use dot-separated tokens without whitespace, such as orders.eu.created",
            ),
            ErrorKind::TooLarge => (
                "the message is larger than the server accepts",
                "split the payload, or raise max_payload in the server's configuration",
            ),
            ErrorKind::NoResponders => (
                "nobody serves this subject",
                "start a responder for the subject, or check the subject's spelling",
            ),
            ErrorKind::TimedOut => (
                "the deadline passed",
                "give the operation more time, or check that the server and responders are up",
            ),
            ErrorKind::Disconnected => (
                "the connection is closed",
                "connect again; a client reconnects by itself unless it was closed",
            ),
            ErrorKind::JetStream => (
                "JetStream refused the operation",
                "check that the server runs with JetStream (-js) and that the configuration is valid",
            ),
            ErrorKind::NotFound => (
                "the stream or consumer does not exist",
                "create it first (JetStream::create_stream, JetStream::source creates consumers)",
            ),
            ErrorKind::InvalidRecord => (
                "an ordered sink needs an id on every record",
                "give the record an id with Record::id, or use a sink without SinkOptions::ordered",
            ),
        }
    }
}

/// An error from the bridge: its [`ErrorKind`], what the client library or
/// the server said, and (in its `Display`) what to do.
///
/// ```
/// use nimsync_nats::{Error, ErrorKind};
///
/// let e = Error::new(ErrorKind::NoResponders, "request to orders.get");
/// assert_eq!(e.kind(), ErrorKind::NoResponders);
/// assert!(e.to_string().contains("start a responder"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
}

impl Error {
    /// An error of `kind`, with `detail` saying where or why.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What the client library or the server said.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Whether trying again later may succeed (a lost connection or a
    /// deadline), as opposed to a request that will fail again as it is.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::TimedOut | ErrorKind::Disconnected | ErrorKind::Unreachable
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, todo) = self.kind.advice();
        write!(f, "{what} ({}): {todo}", self.detail)
    }
}

impl std::error::Error for Error {}

/// Maps async-nats errors onto [`Error`], keeping their text.
pub(crate) fn from_nats<K: fmt::Debug + Copy + PartialEq + fmt::Display + Into<ErrorKind>>(
    err: async_nats::error::Error<K>,
) -> Error {
    Error::new(err.kind().into(), err.to_string())
}

impl From<async_nats::ConnectErrorKind> for ErrorKind {
    fn from(k: async_nats::ConnectErrorKind) -> Self {
        use async_nats::ConnectErrorKind as K;
        match k {
            K::ServerParse => ErrorKind::BadUrl,
            K::Dns | K::TimedOut | K::Io | K::MaxReconnects => ErrorKind::Unreachable,
            K::Authentication => ErrorKind::BadCredentials,
            K::AuthorizationViolation => ErrorKind::NotAuthorized,
            K::Tls => ErrorKind::Tls,
        }
    }
}

impl From<async_nats::client::PublishErrorKind> for ErrorKind {
    fn from(k: async_nats::client::PublishErrorKind) -> Self {
        use async_nats::client::PublishErrorKind as K;
        match k {
            K::MaxPayloadExceeded => ErrorKind::TooLarge,
            K::InvalidSubject => ErrorKind::InvalidSubject,
            K::Send => ErrorKind::Disconnected,
        }
    }
}

impl From<async_nats::RequestErrorKind> for ErrorKind {
    fn from(k: async_nats::RequestErrorKind) -> Self {
        use async_nats::RequestErrorKind as K;
        match k {
            K::TimedOut => ErrorKind::TimedOut,
            K::NoResponders => ErrorKind::NoResponders,
            K::InvalidSubject => ErrorKind::InvalidSubject,
            K::MaxPayloadExceeded => ErrorKind::TooLarge,
            K::Other => ErrorKind::Disconnected,
        }
    }
}

impl From<async_nats::SubscribeErrorKind> for ErrorKind {
    fn from(k: async_nats::SubscribeErrorKind) -> Self {
        use async_nats::SubscribeErrorKind as K;
        match k {
            K::InvalidSubject | K::InvalidQueueName => ErrorKind::InvalidSubject,
            K::Other => ErrorKind::Disconnected,
        }
    }
}

/// Checks a subject: non-empty dot-separated tokens without whitespace;
/// wildcard tokens (`*`, and `>` last) only where `wildcards` allows
/// (subscriptions, not publishes).
pub(crate) fn check_subject(subject: &str, wildcards: bool) -> Result<(), Error> {
    // One pass over the bytes accepts the usual subject (printable ASCII,
    // no wildcard, no empty token); anything else gets the full check,
    // which names the fault. A publish runs this per message.
    let mut token_start = true;
    for &b in subject.as_bytes() {
        match b {
            b'.' if token_start => break,
            b'.' => token_start = true,
            b'!'..=b'~' if b != b'*' && b != b'>' => token_start = false,
            _ => {
                token_start = true;
                break;
            }
        }
    }
    if !token_start {
        return Ok(());
    }
    let bad = |why: &str| {
        Err(Error::new(
            ErrorKind::InvalidSubject,
            format!("{subject:?}: {why}"),
        ))
    };
    if subject.is_empty() {
        return bad("empty");
    }
    if subject.chars().any(char::is_whitespace) {
        return bad("contains whitespace");
    }
    let mut tokens = subject.split('.').peekable();
    while let Some(t) = tokens.next() {
        if t.is_empty() {
            return bad("has an empty token (a leading, trailing or doubled dot)");
        }
        let wild = t == "*" || t == ">";
        if wild && !wildcards {
            return bad("wildcards are for subscriptions; publish to a full subject");
        }
        if t == ">" && tokens.peek().is_some() {
            return bad("'>' must be the last token");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_checked_the_same_on_both_paths() {
        let publish_ok = [
            "a",
            "orders.created",
            "a*b.c>d",
            "ünï.cødé",
            "a\u{1}b",
            "x.y.z",
        ];
        for s in publish_ok {
            assert!(check_subject(s, false).is_ok(), "{s:?}");
            assert!(check_subject(s, true).is_ok(), "{s:?}");
        }
        let wild_ok = ["a.*", "*", ">", "a.*.>", "*.b"];
        for s in wild_ok {
            assert!(check_subject(s, true).is_ok(), "{s:?}");
            let e = check_subject(s, false).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidSubject);
            assert!(e.detail().contains("wildcards"), "{s:?}: {e}");
        }
        let never = [
            ("", "empty"),
            (".a", "empty token"),
            ("a.", "empty token"),
            ("a..b", "empty token"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\u{a0}b", "whitespace"),
            ("a.>.b", "last token"),
        ];
        for (s, why) in never {
            let e = check_subject(s, true).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidSubject, "{s:?}");
            assert!(e.detail().contains(why), "{s:?}: {e}");
            assert!(check_subject(s, false).is_err(), "{s:?}");
        }
    }
}
