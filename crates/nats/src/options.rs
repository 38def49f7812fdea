//! How to reach and log in to a server.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A secret (token, password, nkey seed) that never shows in `Debug` or
/// `Display` output.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How a client logs in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Auth {
    /// No credentials.
    #[default]
    None,
    /// A token.
    Token(Secret),
    /// A user name and password.
    UserPassword(String, Secret),
    /// An nkey seed (the user's public key is derived from it).
    Nkey(Secret),
    /// A `.creds` file (JWT and nkey seed), read at connect time.
    CredentialsFile(PathBuf),
}

/// Where a [`Client`](crate::Client) connects and how it logs in.
///
/// Secrets given here (tokens, passwords, nkey seeds) are redacted from
/// `Debug` output, so options can be logged:
///
/// ```
/// use nimsync_nats::ConnectOptions;
///
/// let opts = ConnectOptions::new("nats://127.0.0.1:4222")
///     .user_password("svc", "s3cret")
///     .name("billing");
/// let shown = format!("{opts:?}");
/// assert!(shown.contains("svc") && !shown.contains("s3cret"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    pub(crate) url: String,
    auth: Auth,
    ca: Vec<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    require_tls: bool,
    name: Option<String>,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
}

impl ConnectOptions {
    /// Options for the server at `url` (`nats://host:port`,
    /// `tls://host:port`, or `host:port`; several separated by commas),
    /// with no credentials, a 5 s connect timeout and a 10 s request
    /// timeout.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            auth: Auth::None,
            ca: Vec::new(),
            client_cert: None,
            require_tls: false,
            name: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }

    /// Logs in with a token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Token(Secret(token.into()));
        self
    }

    /// Logs in with a user name and password.
    pub fn user_password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Auth::UserPassword(user.into(), Secret(password.into()));
        self
    }

    /// Logs in with an nkey seed (`SU...`).
    pub fn nkey(mut self, seed: impl Into<String>) -> Self {
        self.auth = Auth::Nkey(Secret(seed.into()));
        self
    }

    /// Logs in with a `.creds` file (a user JWT and its nkey seed), read
    /// when the client connects.
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.auth = Auth::CredentialsFile(path.into());
        self
    }

    /// Trusts the CA certificates in this PEM file for the server's TLS
    /// certificate (may be given more than once).
    pub fn tls_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca.push(path.into());
        self
    }

    /// Presents this client certificate and key (PEM files) to a server
    /// that verifies clients.
    pub fn tls_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// Refuses to connect without TLS.
    pub fn require_tls(mut self, required: bool) -> Self {
        self.require_tls = required;
        self
    }

    /// The connection's name, shown in the server's monitoring.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How long a connect attempt may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a request waits for its reply unless told otherwise (the
    /// caller's nimsync-group deadline still applies when it is earlier).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The async-nats options these describe. Reads a credentials file.
    pub(crate) async fn to_nats(&self) -> Result<async_nats::ConnectOptions, crate::Error> {
        use crate::{Error, ErrorKind};
        let base = async_nats::ConnectOptions::new();
        let mut o = match &self.auth {
            Auth::None => base,
            Auth::Token(Secret(t)) => base.token(t.clone()),
            Auth::UserPassword(u, Secret(p)) => base.user_and_password(u.clone(), p.clone()),
            Auth::Nkey(Secret(s)) => base.nkey(s.clone()),
            Auth::CredentialsFile(path) => base.credentials_file(path).await.map_err(|e| {
                Error::new(
                    ErrorKind::BadCredentials,
                    format!("credentials file {}: {e}", path.display()),
                )
            })?,
        };
        for ca in &self.ca {
            o = o.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &self.client_cert {
            o = o.add_client_certificate(cert.clone(), key.clone());
        }
        if let Some(name) = &self.name {
            o = o.name(name);
        }
        Ok(o.require_tls(self.require_tls)
            .connection_timeout(self.connect_timeout)
            // Deadlines are ours: each request passes its own.
            .request_timeout(None))
    }
}
