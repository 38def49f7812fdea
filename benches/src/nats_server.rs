//! A nats-server child process for the NATS bench scenarios and stress
//! tests: started on 127.0.0.1 on a free port with JetStream and a fresh
//! store, killed and restarted on demand, stopped (and its store removed)
//! on drop.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The nats-server binary, if there is one: `$NIMSYNC_NATS_SERVER`, the
/// one `cargo xtask nats-server` installs, or `nats-server` on the `PATH`.
pub fn binary() -> Option<PathBuf> {
    let installed =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/nats-server/bin/nats-server");
    std::env::var_os("NIMSYNC_NATS_SERVER")
        .map(PathBuf::from)
        .or_else(|| installed.is_file().then_some(installed))
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("nats-server"))
                .find(|p| p.is_file())
        })
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    bin: PathBuf,
    child: Option<Child>,
    port: u16,
    store: PathBuf,
}

/// Tells apart the stores of the servers this process starts.
static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Server {
    /// Starts a server.
    ///
    /// # Panics
    /// When there is no server binary or it does not start listening.
    pub fn start() -> Server {
        let bin = binary().expect("a nats-server binary (cargo xtask nats-server)");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let store = std::env::temp_dir().join(format!(
            "nimsync-benches-nats-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut s = Server {
            bin,
            child: None,
            port,
            store,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start listening"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The URL clients connect to.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once, as a crash would, and starts it again on
    /// the same port and store.
    pub fn crash_and_restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}
