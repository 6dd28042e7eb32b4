// SPDX-License-Identifier: GPL-2.0

//! Cancelling work items and delayed work items, which `kernel::workqueue` lacks in 6.12.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h).

use crate::rust_bindings::raw;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;
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

/// A work item that runs on the system workqueue after a delay (`struct delayed_work`),
/// embedded in an `Arc`-owned `T`; while it is queued, the queue holds a reference to `T`.
///
/// `kernel::workqueue` has no delayed work in 6.12.
#[pin_data]
#[repr(C)]
pub(crate) struct DelayedWork<T: ?Sized, const ID: u64> {
    #[pin]
    work: Opaque<raw::delayed_work>,
    _t: PhantomData<T>,
}

// SAFETY: The kernel may run and cancel a `delayed_work` from any thread.
unsafe impl<T: ?Sized, const ID: u64> Send for DelayedWork<T, ID> {}
// SAFETY: Every operation on a `&DelayedWork` goes through workqueue functions, which lock.
unsafe impl<T: ?Sized, const ID: u64> Sync for DelayedWork<T, ID> {}

/// A type holding a [`DelayedWork`] and what it runs.
///
/// # Safety
///
/// `OFFSET` is the offset of a `DelayedWork<Self, ID>` field of `Self`; use
/// [`impl_delayed_work`].
pub(crate) unsafe trait DelayedWorkItem<const ID: u64>:
    Sized + Send + Sync + 'static
{
    /// Where the work item is in `Self`.
    const OFFSET: usize;

    /// Runs the item (process context, the system workqueue).
    fn run(this: Arc<Self>);
}

/// Implements [`DelayedWorkItem`] for `$ty`, whose field `$field` is the work item `$id`, to
/// run `$ty::$run`.
macro_rules! impl_delayed_work {
    ($ty:ty, $field:ident, $id:expr, $run:ident) => {
        // The field must be this item's work: this fails to compile otherwise.
        const _: fn(&$ty) -> &$crate::rust_bindings::workqueue::DelayedWork<$ty, { $id }> =
            |t| &t.$field;
        // The unsafe code is this macro's, not the invoking driver's.
        #[allow(unsafe_code)]
        // SAFETY: The offset is that of the `DelayedWork<$ty, $id>` field `$field` (checked
        // above).
        unsafe impl $crate::rust_bindings::workqueue::DelayedWorkItem<{ $id }> for $ty {
            const OFFSET: usize = core::mem::offset_of!($ty, $field);

            fn run(this: kernel::sync::Arc<Self>) {
                this.$run();
            }
        }
    };
}
pub(crate) use impl_delayed_work;

impl<T: DelayedWorkItem<ID>, const ID: u64> DelayedWork<T, ID> {
    /// Initialises the work item.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            work <- Opaque::ffi_init(|slot: *mut raw::delayed_work| {
                // SAFETY: `INIT_DELAYED_WORK` initialises every field of the slot, which is
                // pinned in place by the caller.
                unsafe { raw::init_delayed_work(slot, Some(Self::run_callback)) }
            }),
            _t: PhantomData,
        })
    }

    fn raw_of(this: *const T) -> *mut raw::delayed_work {
        // `OFFSET` is within `T` (the trait's safety contract); `Opaque` wraps it unchanged.
        this.cast::<u8>().wrapping_add(T::OFFSET).cast_mut().cast()
    }

    /// Queues `this` to run in `delay` jiffies, unless it is already queued; returns whether
    /// it was queued now.
    pub(crate) fn queue(this: &Arc<T>, delay: u64) -> bool {
        let ptr = Arc::into_raw(this.clone());
        // SAFETY: `raw_of` locates the initialised work item of the live `*ptr`; the queue
        // keeps the reference `ptr` stands for until the item runs or is cancelled.
        let queued = unsafe { raw::queue_delayed_work(Self::raw_of(ptr), delay as _) };
        if !queued {
            // SAFETY: Already queued: the queue did not take this reference from `into_raw`.
            drop(unsafe { Arc::from_raw(ptr) });
        }
        queued
    }

    /// Cancels the item and waits for a running instance to finish
    /// (`cancel_delayed_work_sync`); releases the queue's reference if it was pending.
    pub(crate) fn cancel_sync(this: &Arc<T>) {
        let ptr: *const T = &**this;
        // SAFETY: `raw_of` locates the initialised work item of the live `*ptr`.
        let was_pending = unsafe { raw::cancel_delayed_work_wait(Self::raw_of(ptr)) };
        if was_pending {
            // SAFETY: The pending item held a reference from `into_raw` in `queue`, which its
            // run would have taken back; it is cancelled, so it is released here.
            drop(unsafe { Arc::from_raw(ptr) });
        }
    }

    /// # Safety
    ///
    /// Called by the workqueue only, for an item queued by [`DelayedWork::queue`].
    unsafe extern "C" fn run_callback(work: *mut raw::work_struct) {
        // `work` is the first field of the `delayed_work` at `OFFSET` in a `T`.
        let ptr = work.cast::<u8>().wrapping_sub(T::OFFSET).cast::<T>();
        // SAFETY: `queue` turned a reference into this pointer; the run takes it back.
        let this = unsafe { Arc::from_raw(ptr) };
        T::run(this);
    }
}

/// Converts milliseconds to jiffies (`msecs_to_jiffies`), rounding up.
pub(crate) fn msecs_to_jiffies(ms: u32) -> u64 {
    // SAFETY: Pure arithmetic on `HZ`.
    (unsafe { raw::msecs_to_jiffies(ms) }) as u64
}

/// Converts seconds to jiffies.
pub(crate) fn secs_to_jiffies(secs: u32) -> u64 {
    // SAFETY: Pure arithmetic on `HZ`.
    (unsafe { raw::secs_to_jiffies(secs) }) as u64
}
