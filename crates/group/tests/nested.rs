//! Groups inside groups, and what their errors read like.

mod common;

use std::error::Error;
use std::fmt;

use common::{gate, runtime, within};
use nimsync_group::{CancelToken, GroupError, Policy, TaskGroup};

/// The innermost error of the nesting tests.
#[derive(Debug, PartialEq)]
struct DiskOnFire;

impl fmt::Display for DiskOnFire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("disk on fire")
    }
}

impl Error for DiskOnFire {}

/// A child's error with a source of its own.
#[derive(Debug)]
struct WriteFailed(DiskOnFire);

impl fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not write the index")
    }
}

impl Error for WriteFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

/// `err` and its sources, outermost first.
fn chain<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut chain = Vec::new();
    let mut link = Some(err);
    while let Some(e) = link {
        chain.push(e);
        link = e.source();
    }
    chain
}

/// The report an error reporter prints: every link of the chain, joined
/// by `": "`.
fn report(err: &(dyn Error + 'static)) -> String {
    chain(err)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[test]
fn cancelling_the_top_group_reaches_the_bottom_one() {
    let rt = runtime();
    rt.block_on(async {
        let outer = TaskGroup::<&'static str>::builder().name("outer").build();
        let outer_token = outer.token().clone();
        let leaf_waiting = gate();
        let leaf_gate = leaf_waiting.clone();
        outer
            .spawn_ok(async move {
                let middle = TaskGroup::<&'static str>::builder()
                    .name("middle")
                    .parent(&outer_token)
                    .build();
                let middle_token = middle.token().clone();
                middle
                    .spawn_ok(async move {
                        let inner = TaskGroup::<&'static str>::builder()
                            .name("inner")
                            .parent(&middle_token)
                            .build();
                        let inner_token = inner.token().clone();
                        inner
                            .spawn_ok(async move {
                                leaf_gate.cancel();
                                inner_token.cancelled().await;
                                "the leaf saw the cancellation"
                            })
                            .unwrap();
                        inner.join_all().await.unwrap()[0]
                    })
                    .unwrap();
                middle.join_all().await.unwrap()[0]
            })
            .unwrap();
        // Cancel only once the bottom group exists and its child waits.
        within("the leaf to start waiting", leaf_waiting.cancelled()).await;
        assert!(!outer.token().is_cancelled());
        outer.token().cancel();
        let values = within("the nested join", outer.join_all()).await.unwrap();
        assert_eq!(values, ["the leaf saw the cancellation"]);
    });
}

#[test]
fn cancelling_a_middle_group_reaches_down_but_not_up() {
    let rt = runtime();
    rt.block_on(async {
        let outer = TaskGroup::<bool>::builder().name("outer").build();
        let middle = TaskGroup::<bool>::builder()
            .name("middle")
            .parent(outer.token())
            .build();
        let inner = TaskGroup::<bool>::builder()
            .name("inner")
            .parent(middle.token())
            .build();
        let token = inner.token().clone();
        inner
            .spawn_ok(async move {
                token.cancelled().await;
                true
            })
            .unwrap();
        middle.token().cancel();
        assert_eq!(within("inner", inner.join_all()).await.unwrap(), [true]);
        assert!(!outer.token().is_cancelled());
        outer.spawn_ok(async { true }).unwrap();
        assert_eq!(within("outer", outer.join_all()).await.unwrap(), [true]);
        drop(middle);
    });
}

#[test]
fn a_group_under_a_temporary_child_token_still_hears_the_top() {
    // `parent(&token.child())` hands the group a token derived from a
    // temporary: dropping the temporary must not detach the group from
    // `token`.
    let rt = runtime();
    rt.block_on(async {
        let top = CancelToken::new();
        let group = TaskGroup::<()>::builder().parent(&top.child()).build();
        top.cancel();
        assert!(
            group.token().is_cancelled(),
            "the group's token was cut off from the top token"
        );
    });
}

type Inner = GroupError<DiskOnFire>;
type Middle = GroupError<Inner>;

#[test]
fn an_error_at_the_bottom_propagates_up_with_every_name() {
    let rt = runtime();
    rt.block_on(async {
        let outer = TaskGroup::<(), Middle>::builder().name("outer").build();
        let outer_token = outer.token().clone();
        outer
            .spawn_named("mid-task", async move {
                let middle = TaskGroup::<(), Inner>::builder()
                    .name("middle")
                    .parent(&outer_token)
                    .build();
                let middle_token = middle.token().clone();
                middle
                    .spawn_named("inner-task", async move {
                        let inner = TaskGroup::<(), DiskOnFire>::builder()
                            .name("inner")
                            .parent(&middle_token)
                            .build();
                        inner
                            .spawn_named("leaf", async { Err(DiskOnFire) })
                            .unwrap();
                        inner.join_all().await.map(drop)
                    })
                    .unwrap();
                middle.join_all().await.map(drop)
            })
            .unwrap();
        let token = outer.token().clone();
        let err = within("the nested join", outer.join_all())
            .await
            .unwrap_err();
        assert!(token.is_cancelled(), "fail-fast at every level");

        let text = err.to_string();
        let mut from = 0;
        for part in [
            "task group `outer` failed: task `mid-task` (id ",
            ", #0 in its group) failed: task group `middle` failed: task `inner-task` (id ",
            ", #0 in its group) failed: task group `inner` failed: task `leaf` (id ",
            ", #0 in its group) failed: disk on fire",
        ] {
            let at = text[from..]
                .find(part)
                .unwrap_or_else(|| panic!("`{part}` missing, in order, from: {text}"));
            from += at + part.len();
        }
        assert_eq!(
            from,
            text.len(),
            "nothing after the innermost error: {text}"
        );

        // Each level printed the one below, so the source chain goes on
        // with the innermost error's own source: DiskOnFire has none.
        assert_eq!(chain(&err).len(), 1);
        assert_eq!(report(&err), text);
        assert_eq!(text.matches("disk on fire").count(), 1, "{text}");

        // The typed errors are reached through the failures.
        let middle: Middle = err.into_failures().remove(0).into_error().unwrap();
        assert_eq!(middle.group(), Some("middle"));
        let inner: Inner = middle.into_failures().remove(0).into_error().unwrap();
        assert_eq!(inner.group(), Some("inner"));
        let leaf = inner.into_failures().remove(0);
        assert_eq!(leaf.task.name.as_deref(), Some("leaf"));
        assert_eq!(leaf.into_error(), Some(DiskOnFire));
    });
}

#[test]
fn group_error_display_reads_well() {
    let rt = runtime();
    rt.block_on(async {
        // A named group and a named child.
        let group = TaskGroup::<(), String>::builder().name("fetch").build();
        let id = group
            .spawn_named("loader", async { Err(String::from("disk full")) })
            .unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("task group `fetch` failed: task `loader` (id {id}, #0 in its group) failed: disk full")
        );
        assert_eq!(
            err.failures()[0].to_string(),
            format!("task `loader` (id {id}, #0 in its group) failed: disk full")
        );
        assert_eq!(err.failures()[0].task.to_string(), format!("task `loader` (id {id}, #0 in its group)"));

        // No names. The first child is joined before the second is
        // spawned: under fail-fast, the failure would abort it if it had
        // not run yet.
        let mut group = TaskGroup::<(), String>::new();
        group.spawn(async { Ok(()) }).unwrap();
        assert!(within("join_next", group.join_next()).await.unwrap().is_ok());
        let id = group.spawn(async { Err(String::from("nope")) }).unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("task group failed: task id {id} (#1 in its group) failed: nope")
        );

        // A panic.
        let group = TaskGroup::<(), DiskOnFire>::new();
        let id = group.spawn_named("p", async { panic!("kaboom") }).unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("task group failed: task `p` (id {id}, #0 in its group) panicked: kaboom")
        );
        assert!(
            err.source().is_none(),
            "the panic message is printed, and a panic has no error below it"
        );

        // Fail-fast with cancelled siblings and a second failure that came
        // after the first (it reacts to the cancellation). The failing
        // child is spawned last: its failure refuses later spawns.
        let group = TaskGroup::<(), String>::builder().name("g").build();
        let token = group.token().clone();
        let stopped = gate();
        let s = stopped.clone();
        let follower = group
            .spawn_named("follower", async move {
                token.cancelled().await;
                s.cancel();
                Err(String::from("stopped"))
            })
            .unwrap();
        let stuck = group.spawn_named("stuck", std::future::pending()).unwrap();
        let bad = group
            .spawn_named("bad", async { Err(String::from("boom")) })
            .unwrap();
        within("the follower", stopped.cancelled()).await;
        let err = within("join_all", group.join_all()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("task group `g` failed: task `bad` (id {bad}, #2 in its group) failed: boom; 1 more failed; 1 cancelled")
        );
        assert_eq!(
            err.failures()[1].to_string(),
            format!("task `follower` (id {follower}, #0 in its group) failed: stopped")
        );
        assert_eq!(
            err.failures()[2].to_string(),
            format!("task `stuck` (id {stuck}, #1 in its group) was cancelled")
        );

        // Collect-errors counts the other failures. Which of the two leads
        // depends on which failed first, which is not ordered here.
        let group = TaskGroup::<(), String>::builder()
            .name("c")
            .policy(Policy::CollectErrors)
            .build();
        let a = group.spawn(async { Err(String::from("a")) }).unwrap();
        let b = group.spawn(async { Err(String::from("b")) }).unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text == format!("task group `c` failed: task id {a} (#0 in its group) failed: a; 1 more failed")
                || text == format!("task group `c` failed: task id {b} (#1 in its group) failed: b; 1 more failed"),
            "{text}"
        );
    });
}

/// A group built inside a child, without naming a parent, hears the
/// enclosing group's cancellation; a group built inside a shield does not.
#[test]
fn groups_built_in_children_inherit_the_enclosing_token() {
    let rt = common::runtime();
    rt.block_on(async {
        let outer = TaskGroup::<bool>::new();
        let inner_ready = common::gate();
        let ready = inner_ready.clone();
        outer
            .spawn_ok(async move {
                let inner = TaskGroup::<bool>::new();
                let token = inner.token().clone();
                inner
                    .spawn_ok(async move {
                        token.cancelled().await;
                        true
                    })
                    .unwrap();
                ready.cancel();
                inner.join_all().await.unwrap()[0]
            })
            .unwrap();
        let shield_built = common::gate();
        let after_cancel = common::gate();
        let (built, after) = (shield_built.clone(), after_cancel.clone());
        outer
            .spawn_shielded(async move {
                let inner = TaskGroup::<bool>::new();
                built.cancel();
                after.cancelled().await;
                Ok(inner.token().is_cancelled())
            })
            .unwrap();
        common::within("the inner group to be built", inner_ready.cancelled()).await;
        common::within("the shield's group to be built", shield_built.cancelled()).await;
        outer.token().cancel();
        after_cancel.cancel();
        let results = common::within("the outer join", outer.join_all())
            .await
            .unwrap();
        assert_eq!(results, vec![true, false]);
    });
}

#[test]
fn an_error_report_prints_each_message_once() {
    let rt = runtime();
    rt.block_on(async {
        // A child's error with a source of its own: the group prints the
        // child's error, and its source chain goes on below it.
        let group = TaskGroup::<(), WriteFailed>::builder()
            .name("index")
            .build();
        let id = group
            .spawn_named("writer", async { Err(WriteFailed(DiskOnFire)) })
            .unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        let text = report(&err);
        assert_eq!(
            text,
            format!(
                "task group `index` failed: task `writer` (id {id}, #0 in its group) failed: \
                 could not write the index: disk on fire"
            )
        );
        for message in ["could not write the index", "disk on fire", "task `writer`"] {
            assert_eq!(text.matches(message).count(), 1, "`{message}` in: {text}");
        }
        assert_eq!(
            chain(&err)[1].downcast_ref::<DiskOnFire>(),
            Some(&DiskOnFire)
        );
        let failure = &err.failures()[0];
        let text = report(failure);
        assert_eq!(
            text.matches("could not write the index").count(),
            1,
            "{text}"
        );
        assert_eq!(text.matches("disk on fire").count(), 1, "{text}");

        // A retry prints its last error the same way.
        let err = nimsync_group::Retry::new()
            .max_attempts(1)
            .run(|_| async { Err::<(), _>(WriteFailed(DiskOnFire)) })
            .await
            .unwrap_err();
        assert_eq!(
            report(&err),
            "gave up after 1 attempt: could not write the index: disk on fire"
        );

        // A start the group refused prints the refusal once.
        let group = TaskGroup::<(), ()>::new();
        group.token().cancel();
        let err = group
            .start(|_started: nimsync_group::Started<()>| async { Ok(()) })
            .await
            .unwrap_err();
        assert_eq!(
            report(&err),
            "could not start the child: spawning into a cancelled task group"
        );

        // A group ended by its deadline prints the deadline, and the chain
        // goes on with nimsync-time's Elapsed, once.
        let group = TaskGroup::<(), WriteFailed>::builder()
            .name("slow")
            .timeout(std::time::Duration::ZERO)
            .build();
        group.spawn(std::future::pending()).unwrap();
        let err = within("join_all", group.join_all()).await.unwrap_err();
        let text = report(&err);
        assert_eq!(chain(&err).len(), 2, "{text}");
        assert_eq!(text.matches("reached its deadline").count(), 1, "{text}");
        assert_eq!(text.matches("deadline has elapsed").count(), 1, "{text}");
    });
}
