// SPDX-License-Identifier: GPL-2.0

//! Cancelling work items, which `kernel::workqueue` cannot do in 6.12.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h).

use kernel::sync::Arc;
use kernel::workqueue::{HasWork, Work, WorkItem};

/// Cancels the work item of `this` and waits for a running instance to finish
/// (`cancel_work_sync`); releases the reference the queue held if it was pending.
///
/// After this returns the item is neither pending nor running (until queued again), so a driver
/// calls it on teardown before its code or data goes away.
pub(crate) fn cancel_arc_work_sync<T, const ID: u64>(this: &Arc<T>)
where
    T: HasWork<T, ID> + WorkItem<ID, Pointer = Arc<T>>,
{
    let ptr: *mut T = (&**this as *const T).cast_mut();
    // SAFETY: `ptr` points to a live `T` (we hold `this`), whose `Work` field `raw_get_work`
    // locates; `cancel_work_sync` accepts any initialised work item.
    let was_pending = unsafe {
        let work = T::raw_get_work(ptr);
        kernel::bindings::cancel_work_sync(Work::raw_get(work))
    };
    if was_pending {
        // SAFETY: Queuing an `Arc<T>` item converts one reference into the raw pointer `ptr`
        // (`Arc::into_raw`), which the work function would have turned back; the item was
        // pending and is now cancelled, so that reference is released here instead.
        drop(unsafe { Arc::from_raw(ptr) });
    }
}
