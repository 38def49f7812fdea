//! The I/O-bound HTTP flood: HTTP/1.1 keep-alive requests over loopback from
//! 64 clients to a minimal HTTP server, the server on each runtime in turn
//! (nimsync-scheduler and async-executor with async-net, tokio with
//! tokio::net), the clients on one load-generating thread that is the same
//! for every contender.
//!
//! A run reports its wall time (requests per second) and every request's
//! latency (from the request's first byte written to the response's last
//! byte read), so one interleaved run gives both throughput and p99.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::executors::{Exec, Spawner};
use super::workloads::process_cpu;
use super::{Outcome, Sample};

/// The one request the clients send (a keep-alive GET, as a browser or a
/// load tester would).
pub const REQUEST: &[u8] =
    b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: nimsync-bench\r\nAccept: */*\r\n\r\n";

/// The one response the server sends.
pub const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

/// A connected socket, as each runtime's networking types offer it.
pub trait Conn: Send + 'static {
    /// Reads what is available into `buf`; 0 at the end of the stream.
    fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
    /// Writes all of `buf`.
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
}

/// A runtime's listening socket.
pub trait Net: 'static {
    /// Name of the networking stack in the tables.
    const NAME: &'static str;
    /// An accepted connection.
    type Conn: Conn;
    /// The listening socket.
    type Listener: Send + Sync + 'static;
    /// Registers a bound, non-blocking listener with the runtime's reactor
    /// (called from a task of that runtime).
    fn listen(l: std::net::TcpListener) -> Self::Listener;
    /// Waits for the next connection.
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Conn>> + Send + '_;
}

/// async-net, on async-io's reactor (nimsync-scheduler and async-executor).
#[derive(Debug)]
pub struct AsyncNet;

impl Conn for async_net::TcpStream {
    fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        futures_lite::AsyncReadExt::read(self, buf)
    }
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        futures_lite::AsyncWriteExt::write_all(self, buf)
    }
}

impl Net for AsyncNet {
    const NAME: &'static str = "async-net";
    type Conn = async_net::TcpStream;
    type Listener = async_net::TcpListener;
    fn listen(l: std::net::TcpListener) -> Self::Listener {
        async_net::TcpListener::try_from(l).expect("register the listener with async-io")
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Conn> {
        let (s, _) = l.accept().await?;
        s.set_nodelay(true)?;
        Ok(s)
    }
}

/// tokio::net, on the tokio runtime's own I/O driver.
#[derive(Debug)]
pub struct TokioNet;

impl Conn for tokio::net::TcpStream {
    fn read<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        tokio::io::AsyncReadExt::read(self, buf)
    }
    fn write_all<'a>(
        &'a mut self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(self, buf)
    }
}

impl Net for TokioNet {
    const NAME: &'static str = "tokio::net";
    type Conn = tokio::net::TcpStream;
    type Listener = tokio::net::TcpListener;
    fn listen(l: std::net::TcpListener) -> Self::Listener {
        tokio::net::TcpListener::from_std(l).expect("register the listener with tokio")
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Conn> {
        let (s, _) = l.accept().await?;
        s.set_nodelay(true)?;
        Ok(s)
    }
}

/// Where the blank line that ends a request's head is, if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Serves one keep-alive connection until the client closes it; returns
/// the number of requests answered. Pipelined requests are answered in
/// one write.
async fn serve_conn<C: Conn>(mut conn: C) -> u64 {
    let mut buf = vec![0u8; 4096];
    let mut out = Vec::with_capacity(RESPONSE.len() * 4);
    let mut filled = 0;
    let mut served = 0;
    loop {
        let n = conn.read(&mut buf[filled..]).await.expect("server read");
        if n == 0 {
            assert_eq!(filled, 0, "the client closed in the middle of a request");
            return served;
        }
        filled += n;
        let mut start = 0;
        while let Some(end) = head_end(&buf[start..filled]) {
            let head = &buf[start..start + end];
            assert!(
                head.starts_with(b"GET ") && head.windows(8).any(|w| w == b"HTTP/1.1"),
                "not an HTTP/1.1 GET: {:?}",
                String::from_utf8_lossy(head)
            );
            out.extend_from_slice(RESPONSE);
            start += end;
            served += 1;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        assert!(filled < buf.len(), "a request head over 4 KiB");
        if !out.is_empty() {
            conn.write_all(&out).await.expect("server write");
            out.clear();
        }
    }
}

/// Accepts `clients` connections, serves each in its own task, and returns
/// the requests answered once every client has closed.
async fn accept_all<S: Spawner, N: Net>(
    spawner: S,
    listener: std::net::TcpListener,
    clients: usize,
) -> u64 {
    let listener = N::listen(listener);
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        let conn = N::accept(&listener).await.expect("accept a client");
        conns.push(spawner.spawn(serve_conn(conn)));
    }
    let mut served = 0;
    for c in conns {
        served += c.await;
    }
    served
}

/// One client: connects, then sends `requests` requests one after another
/// on the same connection, each after the previous response; returns each
/// request's latency.
async fn client(addr: SocketAddr, requests: u64) -> Vec<Duration> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    s.set_nodelay(true).expect("TCP_NODELAY");
    let mut latencies = Vec::with_capacity(requests as usize);
    let mut buf = vec![0u8; RESPONSE.len() * 2];
    for _ in 0..requests {
        let t0 = Instant::now();
        Conn::write_all(&mut s, REQUEST)
            .await
            .expect("client write");
        let mut got = 0;
        while got < RESPONSE.len() {
            let n = Conn::read(&mut s, &mut buf[got..])
                .await
                .expect("client read");
            assert!(n > 0, "the server closed the connection");
            got += n;
        }
        latencies.push(t0.elapsed());
        assert_eq!(&buf[..got], RESPONSE, "a wrong or extra response");
    }
    latencies
}

/// The load generator: `clients` connections on one current-thread tokio
/// runtime on the calling thread, the same for every server under test.
fn load(addr: SocketAddr, clients: usize, requests: u64) -> (Sample, Vec<Duration>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("the load generator's runtime");
    let (c0, w0) = (process_cpu(), Instant::now());
    let latencies = rt.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::task::spawn(client(addr, requests)))
            .collect();
        let mut all = Vec::with_capacity(clients * requests as usize);
        for t in tasks {
            all.extend(t.await.expect("a client failed"));
        }
        all
    });
    let sample = Sample {
        wall: w0.elapsed(),
        cpu: process_cpu() - c0,
    };
    (sample, latencies)
}

/// One run: a fresh 2-worker runtime `E` serving with `N`, flooded by
/// `clients` clients of `requests` requests each.
pub fn flood<E: Exec, N: Net>(clients: usize, requests: u64) -> Outcome {
    let rt = E::start(2);
    let spawner = rt.spawner();
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let addr = listener.local_addr().expect("the listener's address");
    let server = spawner.spawn(accept_all::<E::Spawner, N>(
        spawner.clone(),
        listener,
        clients,
    ));
    let (sample, latencies) = load(addr, clients, requests);
    let served = rt.block_on(server);
    assert_eq!(
        served,
        clients as u64 * requests,
        "{} with {}: requests answered",
        E::NAME,
        N::NAME
    );
    Outcome::Served(sample, latencies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::executors::{NimRt, SmolRt, TokioAllRt};

    fn served(o: &Outcome) -> usize {
        match o {
            Outcome::Served(_, l) => l.len(),
            _ => panic!("a flood reports a sample and latencies"),
        }
    }

    #[test]
    fn every_server_answers_every_request() {
        assert_eq!(served(&flood::<NimRt, AsyncNet>(8, 50)), 400);
        assert_eq!(served(&flood::<TokioAllRt, TokioNet>(8, 50)), 400);
        assert_eq!(served(&flood::<SmolRt, AsyncNet>(8, 50)), 400);
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async {
            use tokio::io::AsyncReadExt;
            let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                .await
                .unwrap();
            let addr = l.local_addr().unwrap();
            let server = tokio::spawn(async move { serve_conn(l.accept().await.unwrap().0).await });
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            // Three requests, the second split across two writes.
            let mut three = REQUEST.repeat(3);
            let tail = three.split_off(REQUEST.len() + 7);
            tokio::io::AsyncWriteExt::write_all(&mut c, &three)
                .await
                .unwrap();
            tokio::task::yield_now().await;
            tokio::io::AsyncWriteExt::write_all(&mut c, &tail)
                .await
                .unwrap();
            let mut got = vec![0u8; RESPONSE.len() * 3];
            c.read_exact(&mut got).await.unwrap();
            assert_eq!(got, RESPONSE.repeat(3));
            drop(c);
            assert_eq!(server.await.unwrap(), 3);
        });
    }

    #[test]
    fn head_end_finds_the_blank_line() {
        assert_eq!(head_end(REQUEST), Some(REQUEST.len()));
        assert_eq!(head_end(&REQUEST[..REQUEST.len() - 1]), None);
    }
}
