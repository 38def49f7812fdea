//! A real nats-server for the broker tests: started on 127.0.0.1 on a free
//! port with JetStream and a temporary store, killed and restarted on
//! demand, stopped (and its store removed) on drop.
//!
//! The binary is `$NIMSYNC_NATS_SERVER`, else the one `cargo xtask
//! nats-server` installs under `target/nats-server`, else `nats-server` on
//! the `PATH`. Without one the broker tests say loudly that they were
//! skipped, unless `NIMSYNC_REQUIRE_NATS` is set (CI sets it): then they
//! fail.

#![allow(dead_code, unreachable_pub)]

pub mod jwt;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How a test server wants clients to log in.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials.
    None,
    /// A user name and password.
    User(&'static str, &'static str),
    /// A token.
    Token(&'static str),
    /// An nkey user: the public key (`U...`) the server admits.
    Nkey(String),
    /// TLS with this certificate and key (PEM files), no credentials.
    Tls { cert: PathBuf, key: PathBuf },
    /// Operator mode (decentralised JWT auth): the operator's JWT, the
    /// system account's public key, and the accounts the server knows
    /// (public key, JWT; the system account among them), preloaded into a
    /// memory resolver. Users log in with a `.creds` file.
    Operator {
        operator_jwt: String,
        system_account: String,
        accounts: Vec<(String, String)>,
    },
}

/// A running nats-server.
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    child: Option<Child>,
    port: u16,
    store: PathBuf,
    auth: Auth,
}

/// Tells apart the stores of the servers one test process starts.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The nats-server binary, if there is one.
fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NIMSYNC_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let installed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/nats-server/bin/nats-server");
    if installed.is_file() {
        return Some(installed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nats-server"))
            .find(|p| p.is_file())
    })
}

impl Server {
    /// Starts a server without authentication, or returns `None` (after
    /// saying so) when there is no nats-server here.
    pub fn start(test: &str) -> Option<Server> {
        Self::start_with(test, Auth::None)
    }

    /// Starts a server that requires `auth`.
    pub fn start_with(test: &str, auth: Auth) -> Option<Server> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var_os("NIMSYNC_REQUIRE_NATS").is_none(),
                "NIMSYNC_REQUIRE_NATS is set but no nats-server was found: run `cargo xtask \
                 nats-server` or set NIMSYNC_NATS_SERVER"
            );
            eprintln!(
                "\n*** SKIPPED {test}: no nats-server found (run `cargo xtask nats-server`, or set \
                 NIMSYNC_NATS_SERVER); this broker test did NOT run ***\n"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port on 127.0.0.1")
            .port();
        let store = std::env::temp_dir().join(format!(
            "nimsync-nats-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut server = Server {
            bin,
            child: None,
            port,
            store,
            auth,
        };
        server.spawn();
        Some(server)
    }

    /// Starts the process and waits until it accepts connections.
    fn spawn(&mut self) {
        let mut cmd = Command::new(&self.bin);
        cmd.args([
            "-a",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-js",
            "-sd",
        ])
        .arg(&self.store)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        match &self.auth {
            Auth::None => {}
            Auth::User(u, p) => {
                cmd.args(["--user", u, "--pass", p]);
            }
            Auth::Token(t) => {
                cmd.args(["--auth", t]);
            }
            Auth::Nkey(public) => {
                std::fs::create_dir_all(&self.store).expect("the store directory");
                let conf = self.store.join("nkey.conf");
                let text = format!("authorization {{ users = [ {{ nkey: {public} }} ] }}\n");
                std::fs::write(&conf, text).expect("the server's configuration");
                cmd.arg("-c").arg(conf);
            }
            Auth::Operator {
                operator_jwt,
                system_account,
                accounts,
            } => {
                std::fs::create_dir_all(&self.store).expect("the store directory");
                let conf = self.store.join("operator.conf");
                let preload: String = accounts
                    .iter()
                    .map(|(public, jwt)| format!("  {public}: \"{jwt}\"\n"))
                    .collect();
                let text = format!(
                    "operator: \"{operator_jwt}\"\nsystem_account: {system_account}\n\
                     resolver: MEMORY\nresolver_preload: {{\n{preload}}}\n"
                );
                std::fs::write(&conf, text).expect("the server's configuration");
                cmd.arg("-c").arg(conf);
            }
            Auth::Tls { cert, key } => {
                cmd.arg("--tls")
                    .arg("--tlscert")
                    .arg(cert)
                    .arg("--tlskey")
                    .arg(key);
            }
        }
        self.child = Some(cmd.spawn().expect("nats-server starts"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("nats-server exited at start ({status}); port {}", self.port);
            }
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {} within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (no clean shutdown), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

/// Runs `f` on a plain thread's `block_on` with a bound: a hang fails the
/// test with its name instead of stalling the suite.
pub fn run<T: Send + 'static>(
    name: &str,
    limit: Duration,
    f: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(futures_lite::future::block_on(f));
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            worker.join().expect("test thread");
            v
        }
        Err(_) => {
            if worker.is_finished() {
                // The future panicked: raise its panic.
                std::panic::resume_unwind(worker.join().expect_err("panicked"));
            }
            panic!("{name}: did not finish within {limit:?} (a hang)")
        }
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with the
/// `openssl` command in `dir`: (CA certificate, server certificate, server
/// key).
pub fn test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("the certificate directory");
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command (Debian package openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=nimsync test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("the extensions file");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}
