//! Where the NATS connection's I/O runs.
//!
//! async-nats needs a tokio runtime for its connection task, its timers and
//! its reconnects. A [`Client`](crate::Client) made inside a multi-thread
//! tokio runtime uses that runtime (and must not outlive it); one made
//! anywhere else (a nimsync-scheduler task, a plain thread under any
//! `block_on`, smol, a current-thread tokio runtime) uses a runtime this
//! crate starts once per process: one worker thread named `nimsync-nats`,
//! with I/O and timers, that lives as long as the process.
//!
//! Every future this crate returns polls its async-nats work with that
//! runtime entered ([`Hosted`]), so it can be awaited from any executor:
//! only the socket and the timers run on the host.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use tokio::runtime::{Builder, Handle, Runtime};

/// The process-wide host runtime, started on first use.
static HOST: OnceLock<Runtime> = OnceLock::new();

/// The runtime a new client runs on: the caller's multi-thread tokio
/// runtime if there is one, else the process-wide host (a current-thread
/// runtime runs its tasks only while its owner drives it, so a client on it
/// would stall when used from anywhere else).
pub(crate) fn handle() -> Handle {
    Handle::try_current()
        .ok()
        .filter(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
        .unwrap_or_else(|| {
            HOST.get_or_init(|| {
                Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("nimsync-nats")
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| {
                        panic!(
                            "nimsync-nats could not start its I/O thread ({e}); \
                         the process may be out of threads or file descriptors"
                        )
                    })
            })
            .handle()
            .clone()
        })
}

pin_project_lite::pin_project! {
    /// A future polled with a tokio runtime entered, so that async-nats code
    /// inside it finds its timers and spawner whatever executor polls it.
    #[derive(Debug)]
    pub(crate) struct Hosted<F> {
        handle: Handle,
        #[pin]
        inner: F,
    }
}

impl<F> Hosted<F> {
    /// `inner`, polled inside `handle`'s runtime.
    pub(crate) fn new(handle: &Handle, inner: F) -> Self {
        Self {
            handle: handle.clone(),
            inner,
        }
    }
}

impl<F: Future> Future for Hosted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.handle.enter();
        this.inner.poll(cx)
    }
}
