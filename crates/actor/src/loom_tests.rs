//! loom models of the actor's protocols: the system lane's wake-up, the
//! mailbox's final stop against a concurrent tell, and an ask's reply slot
//! withdrawn while the actor stops. Run with `cargo xtask loom`.

use core::future::poll_fn;
use core::task::Poll;
use std::sync::atomic::{AtomicU32, Ordering};

use loom::sync::Arc;
use loom::thread;

use crate::core::{Drain, Signal, SystemLane};
use crate::envelope::Ask;
use crate::error::{ExitReason, TellError};
use crate::{Actor, Context, Handler, Spawn};

struct Probe;
impl Actor for Probe {}

/// A message that counts its drops.
struct Msg(Arc<AtomicU32>);
impl Drop for Msg {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
impl Handler<Msg> for Probe {
    type Reply = ();
    async fn handle(&mut self, _: Msg, _: &mut Context<Self>) {}
}

/// A stop request posted from another thread reaches an actor that
/// registers its waker and checks the lane: no lost wake-up.
#[test]
fn loom_system_signal_wakes_the_waiting_actor() {
    loom::model(|| {
        let lane = Arc::new(SystemLane::<Probe>::new());
        let poster = {
            let lane = lane.clone();
            thread::spawn(move || lane.post(Signal::Stop(Drain::Drop)))
        };
        let got = loom::future::block_on(poll_fn(|cx| {
            lane.register(cx.waker());
            match lane.take() {
                Some(signal) => Poll::Ready(signal),
                None => Poll::Pending,
            }
        }));
        assert!(matches!(got, Signal::Stop(Drain::Drop)));
        assert!(lane.take().is_none());
        poster.join().unwrap();
    });
}

/// A tell races the actor's final stop: the message is either handed back
/// to the sender or dead-lettered by the stop, exactly once.
#[test]
fn loom_final_stop_races_a_tell() {
    loom::model(|| {
        let drops = Arc::new(AtomicU32::new(0));
        let dead = Arc::new(AtomicU32::new(0));
        let actor = {
            let dead = dead.clone();
            Spawn::new()
                .mailbox(crate::Mailbox::bounded(1, crate::Overflow::Block))
                .on_dead_letter(move |_| {
                    dead.fetch_add(1, Ordering::Relaxed);
                })
                .prepare::<Probe>()
        };
        let core = actor.core.clone();
        let teller = {
            let drops = drops.clone();
            thread::spawn(move || match actor.try_tell(Msg(drops)) {
                Ok(()) => 0,
                Err(TellError::Stopped(m)) => {
                    drop(m);
                    1
                }
                Err(TellError::Full(_)) => unreachable!("the mailbox is empty"),
            })
        };
        core.finish(ExitReason::Stopped);
        let handed_back = teller.join().unwrap();
        assert_eq!(handed_back + dead.load(Ordering::Relaxed), 1);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert!(core.rx.is_empty());
    });
}

/// An asker withdraws its reply slot while the actor's final stop moves
/// the ask to the dead letters: the message is dropped once, and the slot
/// is answered or gone.
#[test]
fn loom_withdrawn_ask_against_a_final_stop() {
    loom::model(|| {
        let drops = Arc::new(AtomicU32::new(0));
        let actor = Spawn::new().prepare::<Probe>();
        let (reply, slot) = nimsync_channel::oneshot::channel::<crate::envelope::Reply<()>>();
        let env: crate::mailbox::Env<Probe> = Box::new(Ask {
            message: Msg(drops.clone()),
            reply,
        });
        assert!(actor.tx.try_send(env).is_ok());
        let core = actor.core.clone();
        let stopper = thread::spawn(move || core.finish(ExitReason::Stopped));
        drop(slot);
        stopper.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert_eq!(actor.metrics().dead_letters, 1);
    });
}
