//! [`yield_now`].

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// Lets other tasks run: the task is queued behind the tasks already
/// waiting on its worker, then resumes.
///
/// Works under any executor (it wakes itself and returns `Pending` once);
/// on a nimsync runtime the task goes to the back of its worker's queue.
///
/// # Examples
/// ```
/// let rt = nimsync_scheduler::Runtime::new().unwrap();
/// rt.block_on(async {
///     nimsync_scheduler::yield_now().await;
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await;
}

/// Pending once, then ready.
struct YieldNow {
    /// Whether it returned `Pending` already.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
