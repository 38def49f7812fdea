//! Fault injection: wakers that panic while a channel notifies or closes,
//! panics and early returns between a select and the completion of its
//! operation, values whose `Drop` panics in a receiver's drain, runtimes
//! dropped from inside their own tasks and blocking closures, and long
//! polls beside timers awaited on plain threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use nimsync_channel::{SendError, TrySendError, mpmc, oneshot, spsc};
use nimsync_scheduler::{JoinHandle, Runtime};
use nimsync_select::{Select, SelectedOperation, select};

use super::inject::{inject_panic, message, quietly};
use super::rng::Rng;
use super::rounds::{Counts, Ending, Mode, Round, get, maybe_bomb};
use super::runtime::Tally;
use super::{Ledger, Size, Test, Tracked, join_all, rate};

/// The fault-injection tests.
pub(super) fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t("fault-waker-panics", 300, waker_panics),
        t("fault-select-commit", 300, select_commit),
        t("fault-drop-panics-in-drain", 300, drop_panics_in_drain),
        t("fault-rt-dropped-inside", 120, runtime_dropped_inside),
        t(
            "fault-long-polls-beside-timers",
            120,
            long_polls_beside_timers,
        ),
    ]
}

/// Rounds of an MPMC channel with a blocking and an async producer and a
/// blocking and two async consumers, the async ones on wakers that panic
/// after 5% of their wake-ups and giving up 10% of their waits. A waker's
/// panic is raised to the code that notified (a send, a receive passing a
/// wake-up on, a cancel, the last sender's drop that closes the channel),
/// never stops the other waiters from being woken: every round ends (the
/// close reaches every consumer) and every message is received exactly
/// once, except those a receive dropped while raising a panic, which are
/// counted one by one (a receive that raises a panic while passing on a
/// wake-up it did not use drops nothing).
fn waker_panics(size: Size) -> String {
    let rounds = size.pick(30, 400);
    let plan = Round {
        mpmc: true,
        cap: 1,
        producers: vec![Mode::Blocking, Mode::Async],
        consumers: vec![Mode::Blocking, Mode::Async, Mode::Async],
        per: 12_500,
        waker_panics: 50,
        cancels: 100,
        bombs: 0,
        ending: Ending::Drain,
        cut: 0,
    };
    let per_round = plan.producers.len() * plan.per;
    let total = rounds * per_round;
    let ledger = Ledger::new(total);
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    for round in 0..rounds {
        let mut rng = Rng::new(0x3A4E_0000 + round as u64);
        let plan = Round {
            cap: rng.pick(&[1, 2, 4, 16]),
            ..plan.clone()
        };
        plan.run(&ledger, round * per_round, &counts, &mut rng);
    }
    let elapsed = start.elapsed();
    let (received, returned, unreceived) = Round::check(&ledger, total, &counts, true);
    let raised = get(&counts.at_send)
        + get(&counts.at_recv)
        + get(&counts.lost_at_cancel)
        + get(&counts.at_drop)
        + get(&counts.at_close);
    assert!(get(&counts.waker) > 0, "no waker panicked");
    assert!(
        raised <= get(&counts.waker),
        "more panics raised ({raised}) than wakers panicked: {counts:?}"
    );
    format!(
        "{total} msgs: {received} received exactly once, {unreceived} dropped by receives that \
         raised a waker's panic, {returned} dropped unsent by panicking cancels; {} waker panics \
         raised at {} sends, {} receives, {} closes, {} future drops; {} waits given up; every consumer saw \
         the close; {}",
        get(&counts.waker),
        get(&counts.at_send),
        get(&counts.at_recv),
        get(&counts.at_close),
        get(&counts.at_drop),
        get(&counts.cancelled),
        rate(total, elapsed)
    )
}

/// Channels of the select-fault test.
const WAYS: usize = 4;

/// Why a completion was skipped: the `?` of an early return.
#[derive(Debug)]
pub(super) struct Bail;

/// Completes a selected send with the value `value()` makes, unless it
/// fails: then the `?` returns early and drops the operation uncompleted,
/// as in `op.send(&tx, value()?)`.
pub(super) fn send_unless(
    op: SelectedOperation,
    tx: &mpmc::Sender<Tracked>,
    value: impl FnOnce() -> Result<Tracked, Bail>,
) -> Result<(), Bail> {
    op.send(tx, value()?).expect("receivers alive");
    Ok(())
}

/// Completes a selected receive unless `check` fails (then the `?`
/// returns early and drops the operation uncompleted).
pub(super) fn recv_unless(
    op: SelectedOperation,
    rx: &mpmc::Receiver<Tracked>,
    check: Result<(), Bail>,
) -> Result<Option<Tracked>, Bail> {
    check?;
    Ok(op.recv(rx).ok())
}

/// Panics (and catches it) while holding `op`, which the unwinding drops
/// uncompleted: it must give its reservation up without a second panic.
fn panic_holding(op: SelectedOperation) {
    let res = quietly(|| {
        let _op = op;
        inject_panic();
    });
    assert!(res.is_err());
}

/// What happens between a select and the completion of its operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commit {
    /// Completed with the endpoint added to the select.
    Same,
    /// Completed with a clone of that endpoint.
    Clone,
    /// An early return (`?`) drops the operation uncompleted.
    EarlyReturn,
    /// A panic drops the operation uncompleted.
    Panic,
    /// A non-blocking call on the same channel (`try_send`, `try_recv`),
    /// then the completion; the call must return, not spin.
    TryFirst,
    /// A receive with a timeout on the same channel, then the completion.
    TimeoutFirst,
}

impl Commit {
    /// Draws a commit: `per_mille` of the time a faulty one.
    pub(super) fn draw(rng: &mut Rng, per_mille: u32) -> Self {
        if !rng.chance(per_mille) {
            return rng.pick(&[Commit::Same, Commit::Clone]);
        }
        rng.pick(&[
            Commit::EarlyReturn,
            Commit::Panic,
            Commit::TryFirst,
            Commit::TimeoutFirst,
        ])
    }
}

/// The shared state of a select-fault run: every message is accounted for
/// (received or reported discarded) before the channels close, so a
/// selected receive dropped before the close always held a message.
#[derive(Debug)]
pub(super) struct Accounts {
    /// Messages to account for.
    total: usize,
    /// Received plus discarded so far.
    accounted: AtomicUsize,
    /// Received.
    pub received: AtomicUsize,
    /// Discarded with a selected receive dropped uncompleted.
    pub discarded: AtomicUsize,
    /// Send reservations given up (by an early return or a panic).
    pub given_up: AtomicUsize,
    /// Faulty commits played, by kind (early return, panic, try, timeout).
    pub faults: [AtomicUsize; 4],
    /// Set before the channels are closed, once all is accounted for.
    pub closing: AtomicBool,
    /// Told when all is accounted for.
    done: Mutex<Option<mpsc::Sender<()>>>,
}

impl Accounts {
    /// Accounts for `total` messages; `done` hears when they all are.
    pub(super) fn new(total: usize, done: mpsc::Sender<()>) -> Arc<Self> {
        Arc::new(Self {
            total,
            accounted: AtomicUsize::new(0),
            received: AtomicUsize::new(0),
            discarded: AtomicUsize::new(0),
            given_up: AtomicUsize::new(0),
            faults: Default::default(),
            closing: AtomicBool::new(false),
            done: Mutex::new(Some(done)),
        })
    }

    fn account(&self) {
        if self.accounted.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
            if let Some(done) = self.done.lock().expect("done lock").take() {
                let _ = done.send(());
            }
        }
    }

    /// Records a message received.
    pub(super) fn receive(&self, ledger: &Ledger, msg: Tracked) {
        ledger.take(msg);
        self.received.fetch_add(1, Ordering::Relaxed);
        self.account();
    }

    /// Records a message discarded with a dropped receive reservation.
    fn discard(&self) {
        self.discarded.fetch_add(1, Ordering::Relaxed);
        self.account();
    }

    fn fault(&self, commit: Commit) {
        let k = match commit {
            Commit::Same | Commit::Clone => return,
            Commit::EarlyReturn => 0,
            Commit::Panic => 1,
            Commit::TryFirst => 2,
            Commit::TimeoutFirst => 3,
        };
        self.faults[k].fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the channels may be closing: then a selected receive holds
    /// no message (all were accounted for before the close).
    fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

/// Sends `ids`, each by a [`Select`] over a random non-empty subset of
/// `txs`, playing `commit` faults between the select and the completion
/// (`fault_rate` per mille): a send given up by an early return or a panic
/// is retried, and must neither panic nor lose anything. A tenth of the
/// sends use `select!` whose value expression panics half of the time
/// (the macro gives its reservation up). `rxs` lets a `TryFirst` fault
/// call `try_recv` on the channel it holds a send reservation on.
pub(super) fn select_sends(
    txs: &[mpmc::Sender<Tracked>],
    rxs: &[mpmc::Receiver<Tracked>],
    ids: std::ops::Range<usize>,
    ledger: &Arc<Ledger>,
    acc: &Accounts,
    rng: &mut Rng,
    fault_rate: u32,
) {
    for id in ids {
        loop {
            if rng.chance(fault_rate / 10) && txs.len() >= 2 {
                let (a, b) = (rng.below(txs.len() as u64) as usize, rng.below(2) == 0);
                let (x, y) = (&txs[a], &txs[(a + 1) % txs.len()]);
                let boom = b;
                let sent = quietly(|| {
                    let make = || {
                        if boom {
                            inject_panic()
                        }
                        ledger.make(id)
                    };
                    select! {
                        send(x, make()) -> r => r.expect("receivers alive"),
                        send(y, make()) -> r => r.expect("receivers alive"),
                    }
                });
                if sent.is_ok() {
                    break;
                }
                acc.given_up.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let mut sel = Select::new();
            let mut chans = Vec::new();
            for (i, tx) in txs.iter().enumerate() {
                if chans.is_empty() && i + 1 == txs.len() || rng.below(2) == 0 {
                    sel.send(tx);
                    chans.push(i);
                }
            }
            let commit = Commit::draw(rng, fault_rate);
            acc.fault(commit);
            let op = sel.select();
            let i = chans[op.index()];
            let tx = &txs[i];
            match commit {
                Commit::Same => op.send(tx, ledger.make(id)).expect("receivers alive"),
                Commit::Clone => op
                    .send(&tx.clone(), ledger.make(id))
                    .expect("receivers alive"),
                Commit::EarlyReturn => {
                    let res = quietly(|| send_unless(op, tx, || Err(Bail)));
                    assert!(
                        matches!(res, Ok(Err(Bail))),
                        "a send reservation given up by an early return panicked"
                    );
                    acc.given_up.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Commit::Panic => {
                    panic_holding(op);
                    acc.given_up.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Commit::TryFirst => {
                    if let Ok(v) = rxs[i].try_recv() {
                        acc.receive(ledger, v);
                    }
                    match tx.try_send(ledger.make(id)) {
                        Ok(()) => {
                            // Sent beside the reservation, which is given
                            // up silently.
                            let res = quietly(move || drop(op));
                            assert!(res.is_ok(), "a dropped send reservation panicked");
                            acc.given_up.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Full(v)) => {
                            op.send(tx, v).expect("receivers alive");
                        }
                        Err(TrySendError::Closed(_)) => panic!("closed while sending"),
                    }
                }
                Commit::TimeoutFirst => {
                    if let Ok(v) = rxs[i].recv_timeout(Duration::from_micros(50)) {
                        acc.receive(ledger, v);
                    }
                    op.send(tx, ledger.make(id)).expect("receivers alive");
                }
            }
            break;
        }
    }
}

/// Receives by a [`Select`] over the open channels of `rxs` until all are
/// closed, playing `commit` faults between the select and the completion
/// (`fault_rate` per mille). A receive dropped uncompleted before the close
/// held a message: its drop must report it (a panic naming "dropped
/// without being completed", unless the thread was already panicking) and
/// it is counted as discarded.
pub(super) fn select_recvs(
    rxs: &[mpmc::Receiver<Tracked>],
    ledger: &Ledger,
    acc: &Accounts,
    rng: &mut Rng,
    fault_rate: u32,
) {
    let mut open = vec![true; rxs.len()];
    while open.iter().any(|&o| o) {
        let mut sel = Select::new();
        let chans: Vec<usize> = (0..rxs.len()).filter(|&i| open[i]).collect();
        for &i in &chans {
            sel.recv(&rxs[i]);
        }
        let commit = Commit::draw(rng, fault_rate);
        acc.fault(commit);
        let op = sel.select();
        let i = chans[op.index()];
        let rx = &rxs[i];
        let closing = acc.closing();
        let completed = match commit {
            Commit::Same => op.recv(rx),
            Commit::Clone => op.recv(&rx.clone()),
            Commit::EarlyReturn => {
                match quietly(|| recv_unless(op, rx, Err(Bail))) {
                    Ok(Err(Bail)) => assert!(
                        closing,
                        "a receive reservation holding a message was dropped without a report"
                    ),
                    Ok(Ok(_)) => unreachable!("the completion was skipped"),
                    Err(payload) => {
                        let m = message(payload.as_ref());
                        assert!(
                            m.contains("dropped without being completed"),
                            "unexpected panic from a dropped receive reservation: {m}"
                        );
                        assert!(!closing, "a reservation reported a message after the close");
                        acc.discard();
                    }
                }
                continue;
            }
            Commit::Panic => {
                panic_holding(op);
                if !closing {
                    acc.discard();
                }
                continue;
            }
            Commit::TryFirst => {
                if let Ok(v) = rx.try_recv() {
                    acc.receive(ledger, v);
                }
                op.recv(rx)
            }
            Commit::TimeoutFirst => {
                if let Ok(v) = rx.recv_timeout(Duration::from_micros(50)) {
                    acc.receive(ledger, v);
                }
                op.recv(rx)
            }
        };
        match completed {
            Ok(v) => acc.receive(ledger, v),
            Err(_) => open[i] = false,
        }
    }
}

/// Two producers selecting sends and two consumers selecting receives
/// over four MPMC channels of capacity 4, with a quarter of the commits
/// (a twentieth at full size) faulty: early returns and panics between the select and the
/// completion (on both sides), non-blocking calls and timeouts on the
/// channel a reservation is held on, completions through clones, and
/// `select!` sends whose value expression panics. The channels keep
/// working; nothing is lost except the messages of dropped receive
/// reservations, each of which reported its loss and is counted.
fn select_commit(size: Size) -> String {
    SelectRun {
        ways: WAYS,
        cap: 4,
        producers: 2,
        consumers: 2,
        total: size.pick(100_000, 10_000_000),
        // Faults make the channels wait out orphaned reservations: fewer
        // of them at full size keep it within minutes.
        fault_rate: size.pick(250, 50) as u32,
    }
    .run(0x5E1E_C700)
}

/// The parameters of a run of selecting producers and consumers with
/// faulty commits (see [`select_commit`]).
#[derive(Debug, Clone)]
pub(super) struct SelectRun {
    /// MPMC channels the selects span.
    pub ways: usize,
    /// Their capacity.
    pub cap: usize,
    /// Producer threads (selecting sends).
    pub producers: usize,
    /// Consumer threads (selecting receives).
    pub consumers: usize,
    /// Messages.
    pub total: usize,
    /// Per mille of faulty commits.
    pub fault_rate: u32,
}

impl SelectRun {
    /// Runs it with generators drawn from `seed`; returns the summary.
    /// Panics if a message is lost unreported, received twice, leaked or
    /// dropped twice, or if a fault did not behave as documented.
    pub(super) fn run(&self, seed: u64) -> String {
        let total = self.total;
        let ledger = Ledger::new(total);
        let (done_tx, done_rx) = mpsc::channel();
        let acc = Accounts::new(total, done_tx);
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..self.ways)
            .map(|_| mpmc::channel::<Tracked>(self.cap))
            .unzip();
        let mut rng = Rng::new(seed);
        let start = Instant::now();
        let fault_rate = self.fault_rate;
        let producers: Vec<_> = (0..self.producers)
            .map(|p| {
                let (txs, rxs, l, a) = (txs.clone(), rxs.clone(), ledger.clone(), acc.clone());
                let ids = p * total / self.producers..(p + 1) * total / self.producers;
                let mut rng = rng.fork();
                thread::spawn(move || select_sends(&txs, &rxs, ids, &l, &a, &mut rng, fault_rate))
            })
            .collect();
        let consumers: Vec<_> = (0..self.consumers)
            .map(|_| {
                let (rxs, l, a) = (rxs.clone(), ledger.clone(), acc.clone());
                let mut rng = rng.fork();
                thread::spawn(move || select_recvs(&rxs, &l, &a, &mut rng, fault_rate))
            })
            .collect();
        drop(rxs);
        // Close only once every message is accounted for (see `Accounts`).
        if total > 0 {
            done_rx
                .recv()
                .expect("the consumers account for every message");
        }
        acc.closing.store(true, Ordering::SeqCst);
        drop(txs);
        join_all(producers, "producer");
        join_all(consumers, "consumer");
        let elapsed = start.elapsed();
        let (received, returned, unreceived) = ledger.assert_conserved(total);
        assert_eq!(returned, 0);
        assert_eq!(received, get(&acc.received), "received vs counted");
        assert_eq!(
            unreceived,
            get(&acc.discarded),
            "messages lost vs discarded receive reservations reported"
        );
        let f: Vec<usize> = acc.faults.iter().map(get).collect();
        if total >= 10_000 && fault_rate >= 50 {
            assert!(f.iter().all(|&n| n > 0), "a kind of fault never ran: {f:?}");
        }
        format!(
            "{total} msgs: {received} received exactly once + {unreceived} discarded by dropped \
             receive reservations (each reported); {} send reservations given up (none lost); \
             faults: {} early returns, {} panics, {} try calls and {} timeouts under a \
             reservation; {}",
            get(&acc.given_up),
            f[0],
            f[1],
            f[2],
            f[3],
            rate(total, elapsed)
        )
    }
}

/// A tracked message that panics when dropped unreceived a third of the
/// time; `any` records whether one did.
fn bomb_or_not(ledger: &Arc<Ledger>, rng: &mut Rng, id: usize, any: &mut bool) -> Tracked {
    let v = maybe_bomb(ledger, rng, id, 333);
    *any |= v.is_bomb();
    v
}

/// Fills a channel (MPMC with two receivers, spsc, or one-shot channels)
/// with values a third of which panic when dropped, then drops its last
/// receiver while the sender lives: the drop raises the first panic and
/// still drops every value, once, at once. Then a producer thread sends
/// into a channel whose consumer drops its receiver mid-stream: the values
/// buffered are dropped with it, the rest come back to the producer.
fn drop_panics_in_drain(size: Size) -> String {
    let rounds = size.pick(1_000, 20_000);
    let per = 500; // ids per round
    let total = rounds * per;
    let ledger = Ledger::new(total);
    let (mut drains, mut raised, mut late_drops) = (0usize, 0usize, 0usize);
    let start = Instant::now();
    for round in 0..rounds {
        let mut rng = Rng::new(0xB0B0_0000 + round as u64);
        let base = round * per;
        let cap = rng.range(1, 64);
        let buffered = base..base + cap;
        let mut bombs = false;
        // The value sent after the drop comes back in an error.
        let late = ledger.make(base + cap);
        let (panicked, late) = match round % 3 {
            0 => {
                let (tx, rx) = mpmc::channel(cap);
                let rx2 = rx.clone();
                for id in buffered.clone() {
                    tx.try_send(bomb_or_not(&ledger, &mut rng, id, &mut bombs))
                        .expect("room");
                }
                drop(rx);
                assert!(
                    buffered.clone().all(|id| ledger.drops(id) == 0),
                    "a receiver other than the last dropped the buffer"
                );
                let panicked = quietly(move || drop(rx2)).is_err();
                (panicked, tx.send(late).map_err(|SendError(v)| v))
            }
            1 => {
                let (mut tx, rx) = spsc::channel(cap);
                for id in buffered.clone() {
                    tx.try_send(bomb_or_not(&ledger, &mut rng, id, &mut bombs))
                        .expect("room");
                }
                let panicked = quietly(move || drop(rx)).is_err();
                (panicked, tx.send(late).map_err(|SendError(v)| v))
            }
            _ => {
                let mut panicked = false;
                for id in buffered.clone() {
                    let (tx, rx) = oneshot::channel();
                    let mut bomb = false;
                    tx.send(bomb_or_not(&ledger, &mut rng, id, &mut bomb))
                        .map_err(|_| "open")
                        .expect("receiver alive");
                    let raised = quietly(move || drop(rx)).is_err();
                    assert_eq!(
                        raised, bomb,
                        "a one-shot receiver's drop and its value's panic"
                    );
                    panicked |= raised;
                    bombs |= bomb;
                }
                let (tx, rx) = oneshot::channel();
                drop(rx);
                (panicked, tx.send(late).map_err(|SendError(v)| v))
            }
        };
        ledger.give_back(late.expect_err("the receivers are gone"));
        assert_eq!(panicked, bombs, "the drain raises a value's panic");
        assert!(
            buffered.clone().all(|id| ledger.drops(id) == 1),
            "every buffered value was dropped once by the last receiver's drop"
        );
        drains += 1;
        raised += usize::from(panicked);
        // Streamed: a producer thread; the consumer leaves mid-stream.
        let streamed = base + cap + 1..base + per;
        let cut = rng.range(0, streamed.len());
        let (tx, rx) = mpmc::channel(rng.range(1, 16));
        let (l, mut r) = (ledger.clone(), rng.fork());
        let producer = thread::spawn(move || {
            let mut any = false;
            for id in streamed {
                if let Err(SendError(v)) = tx.send(bomb_or_not(&l, &mut r, id, &mut any)) {
                    l.give_back(v);
                }
            }
            // A send that raced with the receiver's drop may have written
            // its value after the drain: the last handle's drop drops it.
            quietly(move || drop(tx)).is_err()
        });
        for _ in 0..cut {
            ledger.take(rx.recv().expect("open"));
        }
        drains += 1;
        raised += usize::from(quietly(move || drop(rx)).is_err());
        late_drops += usize::from(producer.join().expect("producer"));
    }
    let elapsed = start.elapsed();
    let (received, returned, in_buffer) = ledger.assert_conserved(total);
    assert!(raised > 0, "no drain met a panicking drop");
    format!(
        "{rounds} rounds, {total} values (a third panicking when dropped unreceived): \
         {received} received, {returned} given back, {in_buffer} dropped by last receivers' \
         drops, each dropped once; {raised} of {drains} drains raised a value's panic, \
         {late_drops} last senders' drops raised the panic of a value sent during the drain; \
         {}",
        rate(total, elapsed)
    )
}

/// The handles of a round's tasks, with their ids.
type Handles = Vec<(usize, JoinHandle<usize>)>;

/// Rounds of a runtime dropped from inside: by one of its tasks or one of
/// its blocking closures, sometimes while that thread unwinds from a
/// panic, beside tasks that finish, yield, sleep, wait forever, run
/// blocking closures, or keep spawning. The drop returns at once, every
/// task's handle resolves (completed, or cancelled after its future was
/// dropped, exactly once), and a timer on a plain thread still fires.
fn runtime_dropped_inside(size: Size) -> String {
    let run_for = Duration::from_secs(size.pick(2, 30) as u64);
    let per_round = 200;
    let mut ids = 0usize;
    let mut tally = Tally::default();
    let (mut rounds, mut by_task, mut unwinding) = (0, 0, 0);
    let start = Instant::now();
    while start.elapsed() < run_for {
        let mut rng = Rng::new(0xD0_0000 + rounds as u64);
        let ledger = Ledger::new(per_round * 4);
        // Ids `0 .. per_round` for the tasks spawned here, the rest for
        // those the spawning tasks spawn.
        let next = Arc::new(AtomicUsize::new(per_round));
        let rt = Runtime::builder()
            .worker_threads(rng.range(1, 2))
            .build()
            .expect("runtime");
        let handle = rt.handle();
        let spawned: Arc<Mutex<Handles>> = Arc::default();
        for id in 0..per_round {
            let msg = ledger.make(id);
            let kind = rng.below(6);
            let wait = rng.below(3);
            let h = if kind == 5 {
                handle.spawn_blocking(move || msg.id)
            } else {
                let (handle, next, ledger, spawned) = (
                    handle.clone(),
                    next.clone(),
                    ledger.clone(),
                    spawned.clone(),
                );
                handle.clone().spawn(async move {
                    match kind {
                        0 => {}
                        1 => nimsync_scheduler::yield_now().await,
                        2 => nimsync_scheduler::time::sleep(Duration::from_millis(wait)).await,
                        3 => std::future::pending::<()>().await,
                        _ => loop {
                            // Keeps spawning until the shutdown cancels it.
                            let id = next.fetch_add(1, Ordering::Relaxed);
                            if id >= ledger.len() {
                                std::future::pending::<()>().await;
                            }
                            let child = ledger.make(id);
                            let h = handle.spawn(async move { child.id });
                            spawned.lock().expect("spawned").push((id, h));
                            nimsync_scheduler::yield_now().await;
                        },
                    }
                    msg.id
                })
            };
            spawned.lock().expect("spawned").push((id, h));
        }
        let (returned_tx, returned) = mpsc::channel();
        let panic_after = rng.below(3) == 0;
        let in_task = rng.below(2) == 0;
        // Drops the runtime, as a guard that also runs while unwinding.
        struct DropOnExit(Option<Runtime>, mpsc::Sender<()>);
        impl Drop for DropOnExit {
            fn drop(&mut self) {
                drop(self.0.take());
                let _ = self.1.send(());
            }
        }
        let guard = DropOnExit(Some(rt), returned_tx);
        let dropper = if in_task {
            by_task += 1;
            handle.spawn(async move {
                nimsync_scheduler::yield_now().await;
                let _guard = guard;
                if panic_after {
                    inject_panic();
                }
                usize::MAX
            })
        } else {
            handle.spawn_blocking(move || {
                let _guard = guard;
                if panic_after {
                    inject_panic();
                }
                usize::MAX
            })
        };
        unwinding += usize::from(panic_after);
        returned
            .recv()
            .expect("the drop inside the runtime returned");
        match futures_lite::future::block_on(dropper) {
            Ok(v) => assert_eq!(v, usize::MAX),
            Err(e) => assert!(
                e.is_panic() && panic_after || e.is_cancelled(),
                "the dropper ended with {e}"
            ),
        }
        // Once the spawning tasks' handles resolved, their futures are
        // gone and no handle is added: resolve batches until none is left.
        loop {
            let handles = std::mem::take(&mut *spawned.lock().expect("spawned"));
            if handles.is_empty() {
                break;
            }
            for (id, h) in handles {
                tally.resolved(&ledger, id, futures_lite::future::block_on(h));
            }
        }
        let made = next.load(Ordering::Relaxed).min(ledger.len());
        let (r, ret, dropped_unfinished) = ledger.assert_conserved(made);
        assert_eq!(ret, 0);
        ids += made;
        let _ = (r, dropped_unfinished);
        if rounds % 16 == 0 {
            let d = Duration::from_millis(1);
            let t0 = Instant::now();
            futures_lite::future::block_on(nimsync_time::sleep(d));
            assert!(t0.elapsed() >= d);
        }
        rounds += 1;
    }
    format!(
        "{rounds} runtimes dropped inside ({by_task} by a task, {} by a blocking closure, \
         {unwinding} while unwinding); {ids} tasks: {} completed, {} cancelled after their \
         future was dropped, each once; plain-thread timers still fire",
        rounds - by_task,
        tally.completed,
        tally.cancelled
    )
}

/// A two-worker runtime whose tasks each spin in one poll for a second
/// (both workers busy), while two plain threads await nimsync-time
/// sleeps and timeouts of 1-20 ms: every timer fires, never early and at
/// most 200 ms late.
fn long_polls_beside_timers(size: Size) -> String {
    let run_for = Duration::from_secs(size.pick(3, 30) as u64);
    let late_bound = Duration::from_millis(200);
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let spins = Arc::new(AtomicUsize::new(0));
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let (stop, spins) = (stop.clone(), spins.clone());
            rt.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    while t0.elapsed() < Duration::from_secs(1) {
                        std::hint::spin_loop();
                    }
                    spins.fetch_add(1, Ordering::Relaxed);
                    nimsync_scheduler::yield_now().await;
                }
            })
        })
        .collect();
    let start = Instant::now();
    let sleepers: Vec<_> = (0..2)
        .map(|t| {
            thread::spawn(move || {
                let mut rng = Rng::new(0x7153 + t);
                let (mut fired, mut worst) = (0usize, Duration::ZERO);
                while start.elapsed() < run_for {
                    let d = Duration::from_millis(rng.range(1, 20) as u64);
                    let t0 = Instant::now();
                    if rng.below(2) == 0 {
                        futures_lite::future::block_on(nimsync_time::sleep(d));
                    } else {
                        let never = std::future::pending::<()>();
                        let r = futures_lite::future::block_on(nimsync_time::timeout(d, never));
                        assert!(r.is_err(), "a pending future completed");
                    }
                    let took = t0.elapsed();
                    assert!(took >= d, "a {d:?} timer fired early, after {took:?}");
                    let late = took - d;
                    assert!(
                        late <= late_bound,
                        "a {d:?} timer on a plain thread fired {late:?} late beside long polls"
                    );
                    worst = worst.max(late);
                    fired += 1;
                }
                (fired, worst)
            })
        })
        .collect();
    let mut fired = 0;
    let mut worst = Duration::ZERO;
    for s in sleepers {
        let (n, w) = s.join().expect("sleeper thread");
        fired += n;
        worst = worst.max(w);
    }
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for s in spinners {
            s.await.expect("spinner task");
        }
    });
    let spins = spins.load(Ordering::Relaxed);
    assert!(spins >= 2, "the long polls did not run");
    format!(
        "{fired} plain-thread timers beside {spins} one-second polls: none early, worst {worst:?} \
         late (bound {late_bound:?})"
    )
}
