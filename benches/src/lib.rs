//! nimsync's measurement and proof harness: the throughput benchmarks that
//! compare nimsync with its peers, and the stress suite that checks
//! exactly-once delivery under load. Not published.

pub mod bench;
pub mod nats_server;
pub mod stress;
