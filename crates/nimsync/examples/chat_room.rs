//! A small chat room: a room actor that members join and leave, members
//! that are actors themselves, and a monitor that removes a member from
//! the room when it stops, however it stops.
//!
//! Every member checks that it received exactly the lines said while it
//! was in the room, in the order each speaker said them.
//!
//! ```text
//! cargo run -p nimsync --example chat_room -- --members 8 --lines 500
//! ```

use std::collections::HashMap;
use std::time::Instant;

use nimsync::actor::{Actor, ActorId, ActorRef, Context, Down, Handler, Registry, Spawn};
use nimsync::scheduler::Runtime;

/// The room: who is in it, by actor id.
#[derive(Default)]
struct Room {
    members: HashMap<ActorId, ActorRef<Member>>,
    said: u64,
}

impl Actor for Room {}

struct Join(ActorRef<Member>);
struct Say {
    from: usize,
    seq: u64,
}
struct Said;

impl Handler<Join> for Room {
    type Reply = ();
    async fn handle(&mut self, Join(member): Join, ctx: &mut Context<Self>) {
        // When the member stops, for whatever reason, the room hears of it.
        ctx.monitor(&member);
        self.members.insert(member.id(), member);
    }
}

impl Handler<Down> for Room {
    type Reply = ();
    async fn handle(&mut self, down: Down, _: &mut Context<Self>) {
        self.members.remove(&down.id());
    }
}

impl Handler<Say> for Room {
    type Reply = ();
    async fn handle(&mut self, say: Say, _: &mut Context<Self>) {
        self.said += 1;
        for member in self.members.values() {
            // Backpressure: a slow member slows the room down, it does not
            // lose lines.
            member
                .tell(Line {
                    from: say.from,
                    seq: say.seq,
                })
                .await
                .expect("a member in the room is running");
        }
    }
}

impl Handler<Said> for Room {
    type Reply = (u64, usize);
    async fn handle(&mut self, _: Said, _: &mut Context<Self>) -> (u64, usize) {
        (self.said, self.members.len())
    }
}

/// A member: the next line it expects from each speaker.
#[derive(Default)]
struct Member {
    next: HashMap<usize, u64>,
    received: u64,
}

impl Actor for Member {}

struct Line {
    from: usize,
    seq: u64,
}

impl Handler<Line> for Member {
    type Reply = ();
    async fn handle(&mut self, line: Line, _: &mut Context<Self>) {
        let next = self.next.entry(line.from).or_insert(line.seq);
        assert_eq!(line.seq, *next, "lines from {} arrive in order", line.from);
        *next += 1;
        self.received += 1;
    }
}

struct Received;
impl Handler<Received> for Member {
    type Reply = u64;
    async fn handle(&mut self, _: Received, _: &mut Context<Self>) -> u64 {
        self.received
    }
}

fn main() {
    let members = arg("--members", 8);
    let lines = arg("--lines", 200) as u64;
    let rt = Runtime::new().expect("a runtime");
    let started = Instant::now();
    rt.block_on(async {
        let registry = Registry::new();
        let room = Spawn::new().name("lobby").spawn(Room::default());
        registry.register("lobby", &room).expect("a fresh name");

        let people: Vec<_> = (0..members)
            .map(|i| {
                Spawn::new()
                    .name(format!("member-{i}"))
                    .spawn(Member::default())
            })
            .collect();
        let lobby = registry.lookup::<Room>("lobby").expect("registered above");
        for p in &people {
            lobby.ask(Join(p.clone())).await.unwrap();
        }

        // Every member speaks `lines` lines, from its own task.
        let speakers: Vec<_> = (0..members)
            .map(|from| {
                let lobby = lobby.clone();
                nimsync::scheduler::spawn(async move {
                    for seq in 0..lines {
                        lobby.tell(Say { from, seq }).await.unwrap();
                    }
                })
            })
            .collect();
        for s in speakers {
            s.await.unwrap();
        }
        let (said, present) = lobby.ask(Said).await.unwrap();
        assert_eq!((said, present), (members as u64 * lines, members));
        for p in &people {
            assert_eq!(
                p.ask(Received).await.unwrap(),
                said,
                "{} heard every line",
                p.name()
            );
        }

        // The first member leaves by stopping; the monitor removes it.
        people[0].stop();
        people[0].stopped().await;
        let (_, present) = lobby.ask(Said).await.unwrap();
        assert_eq!(present, members - 1);
        println!(
            "{members} members, {said} lines, each heard by every member, in {:.1?}",
            started.elapsed()
        );
    });
}

/// The value of `--name N` on the command line, or `default`.
fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number, got {v}"))
        })
        .unwrap_or(default)
}
