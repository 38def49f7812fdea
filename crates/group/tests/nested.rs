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

        // outer GroupError -> TaskFailure -> middle GroupError -> TaskFailure
        // -> inner GroupError -> TaskFailure -> DiskOnFire.
        let mut chain: Vec<&(dyn Error + 'static)> = Vec::new();
        let mut link: Option<&(dyn Error + 'static)> = Some(&err);
        while let Some(e) = link {
            chain.push(e);
            link = e.source();
        }
        assert_eq!(chain.len(), 7, "{chain:?}");
        assert!(chain[2].is::<Middle>());
        assert!(chain[4].is::<Inner>());
        assert_eq!(chain[6].downcast_ref::<DiskOnFire>(), Some(&DiskOnFire));
        assert_eq!(chain[6].to_string(), "disk on fire");
        assert_eq!(
            chain[2].downcast_ref::<Middle>().unwrap().group(),
            Some("middle")
        );
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

        // No names.
        let group = TaskGroup::<(), String>::new();
        group.spawn(async { Ok(()) }).unwrap();
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
        assert!(err.source().is_some(), "the failure itself is the source");
        assert!(
            err.source().unwrap().source().is_none(),
            "a panic has no error below it"
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
