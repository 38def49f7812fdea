//! The scenario table: adding a contender or a scenario is a line here.

use super::contenders::*;
use super::executors::*;
use super::http::{AsyncNet, Net, TokioNet, flood};
use super::select::{
    self as sel, CrossbeamSelect, CrossbeamSelectMacro, NimSelect, NimSelectMacro, NimSpscSelect,
    SelectPeer,
};
use super::workloads::*;
use super::{Contender, Outcome, Scenario};

fn c(name: &'static str, nimsync: bool, run: impl Fn() -> Outcome + 'static) -> Contender {
    Contender {
        name,
        nimsync,
        run: Box::new(run),
    }
}

fn spin<Q: SpinQueue>(n: u64) -> Contender {
    c(Q::NAME, Q::NAME.starts_with("nimsync"), move || {
        Outcome::Run(spin_spsc::<Q>(n, 1024))
    })
}

fn single<Q: SpinQueue>(n: u64) -> Contender {
    c(Q::NAME, Q::NAME.starts_with("nimsync"), move || {
        Outcome::Run(single_thread::<Q>(n, 1024))
    })
}

fn batch<Q: BatchQueue>(n: u64) -> Contender {
    c(Q::NAME, Q::NAME.starts_with("nimsync"), move || {
        Outcome::Run(batch_spsc::<Q>(n, 1024, 64))
    })
}

fn block_spsc<C: BlockingChannel>(n: u64) -> Contender {
    c(C::NAME, C::NAME.starts_with("nimsync"), move || {
        Outcome::Run(blocking_spsc::<C>(n, 1024))
    })
}

fn block<C: BlockingChannel>(n: u64, p: usize, k: usize) -> Contender {
    c(C::NAME, C::NAME.starts_with("nimsync"), move || {
        Outcome::Run(blocking::<C>(n, 1024, p, k))
    })
}

fn force<C: ForceChannel>(n: u64) -> Contender {
    c(C::NAME, C::NAME.starts_with("nimsync"), move || {
        Outcome::Run(force_send_overload::<C>(n, 16, 4))
    })
}

fn tokio_rt() -> std::rc::Rc<tokio::runtime::Runtime> {
    std::rc::Rc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("a 2-worker tokio runtime"),
    )
}

fn async_c<C: AsyncChannel>(
    rt: &std::rc::Rc<tokio::runtime::Runtime>,
    n: u64,
    p: usize,
    k: usize,
) -> Contender {
    let rt = rt.clone();
    c(C::NAME, C::NAME.starts_with("nimsync"), move || {
        Outcome::Run(async_tokio::<C>(&rt, n, 1024, p, k))
    })
}

fn ping<C: BlockingChannel>(n: u64) -> Contender {
    c(C::NAME, C::NAME.starts_with("nimsync"), move || {
        Outcome::Latencies(pingpong_blocking::<C>(n as usize))
    })
}

fn ping_rendezvous<C: BlockingChannel>(n: u64) -> Contender {
    c(C::NAME, C::NAME.starts_with("nimsync"), move || {
        Outcome::Latencies(pingpong_blocking_with::<C>(n as usize, 0))
    })
}

fn ping_spin<Q: SpinQueue>(n: u64) -> Contender {
    c(Q::NAME, Q::NAME.starts_with("nimsync"), move || {
        Outcome::Latencies(pingpong_spin::<Q>(n as usize))
    })
}

/// Ids of every scenario.
pub fn ids(quick: bool) -> Vec<&'static str> {
    all(quick).iter().map(|s| s.id).collect()
}

/// Every scenario, with message counts for a full or a quick run.
pub fn all(quick: bool) -> Vec<Scenario> {
    let n = |full: u64| if quick { full / 500 } else { full };
    let rt = tokio_rt();
    let mut v = vec![
        Scenario {
            id: "spsc-spin",
            title: "SPSC 1P1C u64, capacity 1024, try ops in a spin loop",
            kind: "spinning",
            shape: "2 threads on 2 cores",
            messages: n(20_000_000),
            contenders: vec![
                spin::<NimSpsc>(n(20_000_000)),
                spin::<Rtrb>(n(20_000_000)),
                spin::<Ringbuf>(n(20_000_000)),
                spin::<ArrayQueue>(n(20_000_000)),
            ],
        },
        Scenario {
            id: "spsc-block",
            title: "SPSC 1P1C u64, capacity 1024, blocking send/recv",
            kind: "blocking",
            shape: "2 threads on 2 cores",
            messages: n(10_000_000),
            contenders: vec![
                block_spsc::<NimSpsc>(n(10_000_000)),
                block_spsc::<StdSync>(n(10_000_000)),
                block_spsc::<Crossbeam>(n(10_000_000)),
                block_spsc::<Flume>(n(10_000_000)),
                block_spsc::<Kanal>(n(10_000_000)),
            ],
        },
        Scenario {
            id: "spsc-batch",
            title: "SPSC 1P1C u64, capacity 1024, batches of 64",
            kind: "spinning",
            shape: "2 threads on 2 cores",
            messages: n(50_000_000),
            contenders: vec![
                batch::<NimSpsc>(n(50_000_000)),
                batch::<Rtrb>(n(50_000_000)),
                batch::<Ringbuf>(n(50_000_000)),
            ],
        },
        Scenario {
            id: "spsc-single-thread",
            title: "SPSC push-then-pop loop on one thread (the report's 213M measure)",
            kind: "spinning",
            shape: "1 thread",
            messages: n(50_000_000),
            contenders: vec![
                single::<NimSpsc>(n(50_000_000)),
                single::<Rtrb>(n(50_000_000)),
                single::<Ringbuf>(n(50_000_000)),
                single::<ArrayQueue>(n(50_000_000)),
            ],
        },
    ];
    for (id, title, shape, p, k) in [
        (
            "mpmc-1p1c",
            "MPMC 1P1C u64, capacity 1024, blocking",
            "2 threads on 2 cores",
            1,
            1,
        ),
        (
            "mpmc-4p1c",
            "MPMC 4P1C u64, capacity 1024, blocking",
            "5 threads on 2 cores (oversubscribed)",
            4,
            1,
        ),
        (
            "mpmc-4p4c",
            "MPMC 4P4C u64, capacity 1024, blocking",
            "8 threads on 2 cores (oversubscribed)",
            4,
            4,
        ),
        (
            "mpmc-5p3c",
            "MPMC 5P3C u64, capacity 1024, blocking (multi-producer thrash)",
            "8 threads on 2 cores (oversubscribed)",
            5,
            3,
        ),
    ] {
        let m = n(4_000_000);
        let mut cs = vec![
            block::<NimMpmc>(m, p, k),
            block::<Crossbeam>(m, p, k),
            block::<Flume>(m, p, k),
            block::<Kanal>(m, p, k),
        ];
        if k == 1 {
            cs.push(block::<StdSync>(m, p, k));
        }
        v.push(Scenario {
            id,
            title,
            kind: "blocking",
            shape,
            messages: m,
            contenders: cs,
        });
    }
    let m = n(4_000_000);
    v.push(Scenario {
        id: "force-send-overload",
        title: "MPMC 4P1C u64, capacity 16, drop-oldest sends faster than one blocking consumer drains",
        kind: "blocking",
        shape: "5 threads on 2 cores (oversubscribed)",
        messages: m,
        contenders: vec![
            force::<NimMpmc>(m),
            force::<NimStream>(m),
            force::<AsyncChan>(m),
        ],
    });
    let m = n(2_000_000);
    v.push(Scenario {
        id: "async-spsc",
        title: "async 1P1C u64, capacity 1024, on a 2-worker tokio runtime",
        kind: "async",
        shape: "2 tasks on 2 workers",
        messages: m,
        contenders: vec![
            async_c::<NimSpsc>(&rt, m, 1, 1),
            async_c::<TokioMpsc>(&rt, m, 1, 1),
            async_c::<AsyncChan>(&rt, m, 1, 1),
            async_c::<Flume>(&rt, m, 1, 1),
            async_c::<Kanal>(&rt, m, 1, 1),
        ],
    });
    v.push(Scenario {
        id: "async-mpmc-4p1c",
        title: "async MPMC 4P1C u64, capacity 1024, on a 2-worker tokio runtime",
        kind: "async",
        shape: "5 tasks on 2 workers",
        messages: m,
        contenders: vec![
            async_c::<NimMpmc>(&rt, m, 4, 1),
            async_c::<TokioMpsc>(&rt, m, 4, 1),
            async_c::<AsyncChan>(&rt, m, 4, 1),
            async_c::<Flume>(&rt, m, 4, 1),
            async_c::<Kanal>(&rt, m, 4, 1),
        ],
    });
    for (id, title, shape, p) in [
        (
            "stream-1p1c",
            "async stream channel 1P1C u64, capacity 1024, backpressure, on a 2-worker tokio runtime",
            "2 tasks on 2 workers",
            1,
        ),
        (
            "stream-4p1c",
            "async stream channel 4P1C u64, capacity 1024, backpressure, on a 2-worker tokio runtime",
            "5 tasks on 2 workers",
            4,
        ),
    ] {
        v.push(Scenario {
            id,
            title,
            kind: "async",
            shape,
            messages: m,
            contenders: vec![
                async_c::<NimStream>(&rt, m, p, 1),
                async_c::<TokioMpsc>(&rt, m, p, 1),
                async_c::<AsyncChan>(&rt, m, p, 1),
                async_c::<Flume>(&rt, m, p, 1),
                async_c::<Kanal>(&rt, m, p, 1),
            ],
        });
    }
    v.push(Scenario {
        id: "async-mpmc-4p4c",
        title: "async MPMC 4P4C u64, capacity 1024, on a 2-worker tokio runtime",
        kind: "async",
        shape: "8 tasks on 2 workers",
        messages: m,
        contenders: vec![
            async_c::<NimMpmc>(&rt, m, 4, 4),
            async_c::<AsyncChan>(&rt, m, 4, 4),
            async_c::<Flume>(&rt, m, 4, 4),
            async_c::<Kanal>(&rt, m, 4, 4),
        ],
    });
    for (id, title, shape, p) in [
        (
            "unbounded-1p1c",
            "unbounded MPMC 1P1C u64, blocking",
            "2 threads on 2 cores",
            1,
        ),
        (
            "unbounded-4p1c",
            "unbounded MPMC 4P1C u64, blocking",
            "5 threads on 2 cores (oversubscribed)",
            4,
        ),
    ] {
        let m = n(4_000_000);
        v.push(Scenario {
            id,
            title,
            kind: "blocking",
            shape,
            messages: m,
            contenders: vec![
                block::<NimUnbounded>(m, p, 1),
                block::<CrossbeamUnbounded>(m, p, 1),
                block::<FlumeUnbounded>(m, p, 1),
                block::<KanalUnbounded>(m, p, 1),
            ],
        });
    }
    v.push(Scenario {
        id: "async-unbounded-4p1c",
        title: "async unbounded MPMC 4P1C u64, on a 2-worker tokio runtime",
        kind: "async",
        shape: "5 tasks on 2 workers",
        messages: m,
        contenders: vec![
            async_c::<NimUnbounded>(&rt, m, 4, 1),
            async_c::<TokioUnbounded>(&rt, m, 4, 1),
            async_c::<AsyncChanUnbounded>(&rt, m, 4, 1),
            async_c::<FlumeUnbounded>(&rt, m, 4, 1),
            async_c::<KanalUnbounded>(&rt, m, 4, 1),
        ],
    });
    let r = if quick { 500 } else { 20_000 };
    v.push(Scenario {
        id: "pingpong",
        title: "blocking ping-pong round trip over two capacity-1 channels",
        kind: "latency",
        shape: "2 threads on 2 cores",
        messages: r,
        contenders: vec![
            ping::<NimSpsc>(r),
            ping::<NimMpmc>(r),
            ping::<StdSync>(r),
            ping::<Crossbeam>(r),
            ping::<Flume>(r),
            ping::<Kanal>(r),
        ],
    });
    v.push(Scenario {
        id: "pingpong-spin",
        title: "spinning ping-pong round trip over two capacity-1 queues (reference)",
        kind: "latency-spinning",
        shape: "2 threads on 2 cores",
        messages: r,
        contenders: vec![
            ping_spin::<NimSpsc>(r),
            ping_spin::<Rtrb>(r),
            ping_spin::<Ringbuf>(r),
        ],
    });
    v.push(Scenario {
        id: "rendezvous-pingpong",
        title: "blocking ping-pong round trip over two rendezvous (capacity-0) channels",
        kind: "latency",
        shape: "2 threads on 2 cores",
        messages: r,
        contenders: vec![
            ping_rendezvous::<NimMpmc>(r),
            ping_rendezvous::<Crossbeam>(r),
            ping_rendezvous::<Kanal>(r),
        ],
    });
    v.extend(runtime(quick));
    v.extend(select(quick));
    v.extend(group(quick));
    v.extend(streams(quick));
    v.extend(actors(quick));
    v.extend(nats(quick));
    v
}

fn storm<E: Exec>(n: u64) -> Contender {
    c(E::NAME, E::NAME.starts_with("nimsync"), move || {
        Outcome::Run(spawn_storm::<E>(n, 2))
    })
}

fn storm_fanout<E: Exec>(n: u64) -> Contender {
    c(E::NAME, E::NAME.starts_with("nimsync"), move || {
        Outcome::Run(spawn_storm_fanout::<E>(n, 100, 2))
    })
}

fn chan_storm<E: Exec, C: AsyncChannel>(name: &'static str, per: u64) -> Contender {
    let nimsync = E::NAME == "nimsync" && C::NAME.starts_with("nimsync");
    c(name, nimsync, move || {
        Outcome::Run(channel_storm::<E, C>(10, per, 1024, 2))
    })
}

fn wake<E: Exec>(iters: u64, split: bool) -> Contender {
    c(E::NAME, E::NAME.starts_with("nimsync"), move || {
        Outcome::Latencies(wake_pingpong::<E>(iters as usize, split))
    })
}

fn tree<E: Exec>(depth: u32, workers: usize) -> Contender {
    c(E::NAME, E::NAME == "nimsync", move || {
        Outcome::Run(steal_tree::<E>(depth, workers))
    })
}

fn http_flood<E: Exec, N: Net>(name: &'static str, clients: usize, requests: u64) -> Contender {
    c(name, E::NAME.starts_with("nimsync"), move || {
        flood::<E, N>(clients, requests)
    })
}

/// The runtime scenarios (nimsync-scheduler against tokio and
/// async-executor, 2 workers each unless said otherwise).
pub fn runtime(quick: bool) -> Vec<Scenario> {
    let n = |full: u64| if quick { full / 500 } else { full };
    let tasks = n(1_000_000);
    let per = n(1_000_000);
    let iters = if quick { 500 } else { 20_000 };
    let depth = if quick { 8 } else { 16 };
    let mut v = vec![
        Scenario {
            id: "rt-spawn-storm",
            title: "spawn 1M trivial tasks from a task and join them all (a message = one task)",
            kind: "runtime",
            shape: "2 workers on 2 cores",
            messages: tasks,
            contenders: vec![
                storm::<NimRt>(tasks),
                storm::<TokioRt>(tasks),
                storm::<SmolRt>(tasks),
            ],
        },
        Scenario {
            id: "rt-spawn-storm-100",
            title: "spawn 1M trivial tasks from 100 tasks spawned from outside the runtime, each joining its own (a message = one task)",
            kind: "runtime",
            shape: "2 workers on 2 cores",
            messages: tasks,
            contenders: vec![
                storm_fanout::<NimRt>(tasks),
                storm_fanout::<TokioRt>(tasks),
                storm_fanout::<SmolRt>(tasks),
            ],
        },
        Scenario {
            id: "rt-channel-storm",
            title: "10 channels x 1M messages, a producer and a consumer task per channel, capacity 1024",
            kind: "runtime",
            shape: "20 tasks on 2 workers",
            messages: 10 * per,
            contenders: vec![
                chan_storm::<NimRt, NimSpsc>("nimsync spsc on nimsync", per),
                chan_storm::<TokioRt, Kanal>("kanal on tokio", per),
                chan_storm::<TokioRt, Flume>("flume on tokio", per),
                chan_storm::<TokioRt, AsyncChan>("async-channel on tokio", per),
                chan_storm::<TokioRt, TokioMpsc>("tokio mpsc on tokio", per),
            ],
        },
        Scenario {
            id: "rt-wake-same-worker",
            title: "two tasks ping-pong through wakers on one 1-worker runtime (round trip)",
            kind: "latency-wake",
            shape: "both tasks on the same worker",
            messages: iters,
            contenders: vec![
                wake::<NimRt>(iters, false),
                wake::<TokioRt>(iters, false),
                wake::<SmolRt>(iters, false),
            ],
        },
        Scenario {
            id: "rt-wake-cross-worker",
            title: "two tasks ping-pong through wakers, each on its own 1-worker runtime (round trip)",
            kind: "latency-wake",
            shape: "tasks on different worker threads (2 threads on 2 cores)",
            messages: iters,
            contenders: vec![
                wake::<NimRt>(iters, true),
                wake::<TokioRt>(iters, true),
                wake::<SmolRt>(iters, true),
            ],
        },
    ];
    for (id, title, clients, requests) in [
        (
            "http-flood",
            "HTTP/1.1 keep-alive GETs over loopback from 64 clients to a minimal server (a message = one request; p50/p99 per request)",
            64,
            if quick { 20 } else { 2_000 },
        ),
        (
            "http-one-client",
            "HTTP/1.1 keep-alive GETs over loopback from 1 client, one at a time: the latency of an idle server (a message = one request)",
            1,
            if quick { 200 } else { 20_000 },
        ),
    ] {
        v.push(Scenario {
            id,
            title,
            kind: "io",
            shape: "server on 2 workers, clients on 1 thread, 2 cores",
            messages: clients as u64 * requests,
            contenders: vec![
                http_flood::<NimIoRt, AsyncNet>("nimsync drive_io + async-net", clients, requests),
                http_flood::<NimRt, AsyncNet>("nimsync + async-net", clients, requests),
                http_flood::<TokioAllRt, TokioNet>("tokio + tokio::net", clients, requests),
                http_flood::<SmolRt, AsyncNet>("async-executor + async-net", clients, requests),
            ],
        });
    }
    for (id, workers, shape) in [
        (
            "rt-steal-ablation-4w",
            4,
            "4 workers on 2 cores (oversubscribed)",
        ),
        (
            "rt-steal-ablation-8w",
            8,
            "8 workers on 2 cores (oversubscribed)",
        ),
    ] {
        v.push(Scenario {
            id,
            title: "binary task tree, 2^16 leaves: adaptive vs uniformly random victim selection",
            kind: "ablation",
            shape,
            messages: (2u64 << depth) - 1,
            contenders: vec![
                tree::<NimRt>(depth, workers),
                tree::<NimRandomRt>(depth, workers),
            ],
        });
    }
    v
}

fn sel_single<S: SelectPeer>(n: u64) -> Contender {
    c(S::NAME, S::NAME.starts_with("nimsync"), move || {
        Outcome::Run(sel::single_thread::<S>(n, 4))
    })
}

fn sel_fed<S: SelectPeer>(n: u64) -> Contender {
    c(S::NAME, S::NAME.starts_with("nimsync"), move || {
        Outcome::Run(sel::fed::<S>(n, 4))
    })
}

/// The select scenarios (nimsync-select against crossbeam-channel's
/// `Select` and `select!`, and tokio's `select!`). A message is one
/// select. nimsync's `select!` is its headline row; the best peer is the
/// faster of crossbeam's two forms.
pub fn select(quick: bool) -> Vec<Scenario> {
    let n = |full: u64| if quick { full / 500 } else { full };
    let rt = tokio_rt();
    let rt2 = rt.clone();
    let async_n = n(2_000_000);
    vec![
        Scenario {
            id: "select-single-thread",
            title: "one thread: send into one of 4 channels, then select over all 4",
            kind: "select",
            shape: "1 thread",
            messages: n(10_000_000),
            contenders: vec![
                sel_single::<NimSelectMacro>(n(10_000_000)),
                sel_single::<NimSpscSelect>(n(10_000_000)),
                sel_single::<NimSelect>(n(10_000_000)),
                sel_single::<CrossbeamSelect>(n(10_000_000)),
                sel_single::<CrossbeamSelectMacro>(n(10_000_000)),
            ],
        },
        Scenario {
            id: "select-4p1c",
            title: "4 producer threads, one channel each, one thread selecting over the 4",
            kind: "select",
            shape: "5 threads on 2 cores (oversubscribed)",
            messages: n(4_000_000),
            contenders: vec![
                sel_fed::<NimSelectMacro>(n(4_000_000)),
                sel_fed::<NimSpscSelect>(n(4_000_000)),
                sel_fed::<NimSelect>(n(4_000_000)),
                sel_fed::<CrossbeamSelect>(n(4_000_000)),
                sel_fed::<CrossbeamSelectMacro>(n(4_000_000)),
            ],
        },
        Scenario {
            id: "async-select-4p1c",
            title: "4 producer tasks, one channel each, a task selecting over the 4 (2-worker tokio)",
            kind: "async-select",
            shape: "5 tasks on 2 workers",
            messages: async_n,
            contenders: vec![
                c("nimsync select_async!", true, move || {
                    Outcome::Run(sel::async_nimsync(&rt, async_n))
                }),
                c("tokio select! + mpsc", false, move || {
                    Outcome::Run(sel::async_tokio_select(&rt2, async_n))
                }),
            ],
        },
    ]
}

/// The structured-concurrency scenarios (nimsync-group).
pub fn group(quick: bool) -> Vec<Scenario> {
    use super::group as g;
    let n = |full: u64| if quick { full / 500 } else { full };
    let tasks = n(100_000);
    let checks = n(200_000_000);
    vec![
        Scenario {
            id: "group-spawn-join",
            title: "spawn 100K tiny tasks from a task into a group and join them all (a message = one task)",
            kind: "group",
            shape: "2 workers on 2 cores",
            messages: tasks,
            contenders: vec![
                c("nimsync TaskGroup", true, move || {
                    Outcome::Run(g::nimsync_group(tasks))
                }),
                c("nimsync spawn + join (no group)", true, move || {
                    Outcome::Run(spawn_storm::<NimRt>(tasks, 2))
                }),
                c("tokio JoinSet", false, move || {
                    Outcome::Run(g::tokio_join_set(tasks))
                }),
            ],
        },
        Scenario {
            id: "token-check",
            title: "check a CancelToken that is not cancelled (a message = one check)",
            kind: "token",
            shape: "1 thread",
            messages: checks,
            contenders: vec![
                c("nimsync CancelToken::is_cancelled", true, move || {
                    Outcome::Run(g::token_checks(checks))
                }),
                c("AtomicBool acquire load (floor)", false, move || {
                    Outcome::Run(g::atomic_bool_checks(checks))
                }),
            ],
        },
    ]
}

/// The stream scenarios beyond the stream channel's own: merging,
/// broadcasting, chunking and the avalanche's producer waits.
pub fn streams(quick: bool) -> Vec<Scenario> {
    use super::streams::{self as st, BroadcastKind, MergeKind};
    let n = |full: u64| if quick { full / 500 } else { full };
    let m = n(2_000_000);
    let b = n(1_000_000);
    let w = n(1_000_000);
    vec![
        Scenario {
            id: "stream-merge-8",
            title: "merge 8 tokio mpsc streams fed by 8 producer tasks, one consumer counting (only the merge differs)",
            kind: "async",
            shape: "9 tasks on 2 workers",
            messages: m,
            contenders: vec![
                c("nimsync merge", true, move || {
                    Outcome::Run(st::merge8(MergeKind::Nimsync, m))
                }),
                c("tokio-stream StreamMap", false, move || {
                    Outcome::Run(st::merge8(MergeKind::StreamMap, m))
                }),
                c("futures-util select_all", false, move || {
                    Outcome::Run(st::merge8(MergeKind::SelectAll, m))
                }),
            ],
        },
        Scenario {
            id: "stream-broadcast-4",
            title: "one publisher task, 4 subscriber tasks, capacity 256 (a message = one value sent to all 4)",
            kind: "async",
            shape: "5 tasks on 2 workers",
            messages: b,
            contenders: vec![
                c("nimsync broadcast (Block)", true, move || {
                    Outcome::Run(st::broadcast4(BroadcastKind::Nimsync, b))
                }),
                c("async-broadcast", false, move || {
                    Outcome::Run(st::broadcast4(BroadcastKind::AsyncBroadcast, b))
                }),
                c("tokio broadcast (lossy)", false, move || {
                    Outcome::Run(st::broadcast4(BroadcastKind::Tokio, b))
                }),
            ],
        },
        Scenario {
            id: "stream-chunks-timeout",
            title: "chunks_timeout(64, 10 ms) over a tokio mpsc stream fed by one producer task (only the stage differs)",
            kind: "async",
            shape: "2 tasks on 2 workers",
            messages: m,
            contenders: vec![
                c("nimsync chunks_timeout", true, move || {
                    Outcome::Run(st::chunks(true, m))
                }),
                c("tokio-stream chunks_timeout", false, move || {
                    Outcome::Run(st::chunks(false, m))
                }),
            ],
        },
        Scenario {
            id: "stream-avalanche-wait",
            title: "backpressure avalanche: 4 producer threads into 16 slots (Block), one consumer; each sampled send's wait",
            kind: "latency",
            shape: "5 threads on 2 cores (oversubscribed)",
            messages: w,
            contenders: vec![
                c("nimsync stream (Block)", true, move || {
                    Outcome::Latencies(st::avalanche_waits(true, w))
                }),
                c("kanal", false, move || {
                    Outcome::Latencies(st::avalanche_waits(false, w))
                }),
            ],
        },
    ]
}

/// The actor systems the actor scenarios compare.
const ACTOR_SYSTEMS: [(&str, super::actors::System); 3] = [
    ("nimsync-actor", super::actors::System::Nimsync),
    ("ractor", super::actors::System::Ractor),
    ("kameo", super::actors::System::Kameo),
];

/// One contender per actor system, each running `f`.
fn per_system(f: impl Fn(super::actors::System) -> Outcome + Clone + 'static) -> Vec<Contender> {
    ACTOR_SYSTEMS
        .iter()
        .map(|&(name, sys)| {
            let f = f.clone();
            c(name, sys == super::actors::System::Nimsync, move || f(sys))
        })
        .collect()
}

/// The actor scenarios: nimsync-actor against ractor and kameo.
pub fn actors(quick: bool) -> Vec<Scenario> {
    use super::actors as ac;
    let n = |full: u64| if quick { full / 500 } else { full };
    let tells = n(4_000_000);
    let asks = n(200_000) as usize;
    let spawns = n(100_000);
    let restarts = if quick { 200 } else { 20_000 };
    vec![
        Scenario {
            id: "actor-tell-4to1",
            title: "4 sender tasks tell one actor (a message = one tell, handled)",
            kind: "async",
            shape: "5 tasks on 2 workers",
            messages: tells,
            contenders: per_system(move |s| Outcome::Run(ac::tells(s, 1, tells))),
        },
        Scenario {
            id: "actor-tell-100",
            title: "4 sender tasks tell 100 actors round-robin",
            kind: "async",
            shape: "104 tasks on 2 workers",
            messages: tells,
            contenders: per_system(move |s| Outcome::Run(ac::tells(s, 100, tells))),
        },
        Scenario {
            id: "actor-ask",
            title: "ask round trip from one task to one actor",
            kind: "latency",
            shape: "2 tasks on 2 workers",
            messages: asks as u64,
            contenders: per_system(move |s| Outcome::Latencies(ac::asks(s, asks))),
        },
        Scenario {
            id: "actor-spawn-stop",
            title: "spawn 100K actors from a task, stop them all, wait for each (a message = one actor)",
            kind: "actor-lifecycle",
            shape: "2 workers on 2 cores",
            messages: spawns,
            contenders: per_system(move |s| Outcome::Run(ac::spawn_stop(s, spawns))),
        },
        Scenario {
            id: "actor-restart",
            title: "restart after a panic: panicking tell to the next incarnation's answer (nimsync only: the peers restart by hand)",
            kind: "latency",
            shape: "3 tasks on 2 workers",
            messages: restarts as u64,
            contenders: vec![c("nimsync-actor", true, move || {
                Outcome::Latencies(ac::restarts(restarts))
            })],
        },
    ]
}

/// The NATS bridge scenarios: nimsync-nats against plain async-nats code on
/// tokio, each run against a server it starts; none where there is no
/// nats-server (`cargo xtask nats-server` installs one).
pub fn nats(quick: bool) -> Vec<Scenario> {
    use super::nats::{self as na, Client};
    if na::server_binary().is_none() {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            eprintln!(
                "bench: no nats-server here (cargo xtask nats-server installs it): the nats-* \
             scenarios are left out"
            );
        });
        return Vec::new();
    }
    let n = |full: u64| if quick { full / 500 } else { full };
    let (core, js, reqs) = (n(1_000_000), n(200_000), n(20_000) as usize);
    vec![
        Scenario {
            id: "nats-publish",
            title: "core NATS publishes of 128 bytes, then a flush",
            kind: "nats",
            shape: "client + its I/O thread, server in another process",
            messages: core,
            contenders: vec![
                c("nimsync-nats", true, move || {
                    Outcome::Run(na::publish(Client::Bridge, core))
                }),
                c("async-nats (tokio)", false, move || {
                    Outcome::Run(na::publish(Client::Plain, core))
                }),
            ],
        },
        Scenario {
            id: "nats-js-publish",
            title: "JetStream publishes with ids, 256 unacknowledged at most, until all are acknowledged",
            kind: "nats",
            shape: "client + its I/O thread, server in another process",
            messages: js,
            contenders: vec![
                c("nimsync-nats", true, move || {
                    Outcome::Run(na::js_publish(Client::Bridge, js))
                }),
                c("async-nats (tokio)", false, move || {
                    Outcome::Run(na::js_publish(Client::Plain, js))
                }),
            ],
        },
        Scenario {
            id: "nats-js-consume",
            title: "a durable pull consumer reads a stream, acknowledging each message",
            kind: "nats",
            shape: "client + its I/O thread, server in another process",
            messages: js,
            contenders: vec![
                c("nimsync-nats", true, move || {
                    Outcome::Run(na::js_consume(Client::Bridge, js))
                }),
                c("async-nats (tokio)", false, move || {
                    Outcome::Run(na::js_consume(Client::Plain, js))
                }),
            ],
        },
        Scenario {
            id: "nats-request",
            title: "request-reply round trip to an echo responder",
            kind: "latency",
            shape: "client + its I/O thread, server in another process",
            messages: reqs as u64,
            contenders: vec![
                c("nimsync-nats", true, move || {
                    Outcome::Latencies(na::requests(Client::Bridge, reqs))
                }),
                c("async-nats (tokio)", false, move || {
                    Outcome::Latencies(na::requests(Client::Plain, reqs))
                }),
            ],
        },
    ]
}
