// SPDX-License-Identifier: GPL-2.0

//! Read-copy update: readers that take no lock and no reference.
//!
//! C header: [`include/linux/rcupdate.h`](srctree/include/linux/rcupdate.h).
//!
//! [`RcuArc`] publishes an `Arc` that the data path reads in a read-side critical section
//! ([`ReadGuard`]), as C drivers publish a pointer with `rcu_assign_pointer` and read it with
//! `rcu_dereference`. Replacing it waits for a grace period (`synchronize_rcu`) before the old
//! value is handed back, so no reader still sees it when it is dropped.

use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::sync::{Arc, ArcBorrow};

/// An RCU read-side critical section (`rcu_read_lock` until dropped). Not `Send`: it ends on
/// the CPU and task it began in.
pub(crate) struct ReadGuard(PhantomData<*mut ()>);

impl ReadGuard {
    /// Enters a read-side critical section. The holder must not sleep until it drops the guard.
    pub(crate) fn new() -> Self {
        // SAFETY: Always callable; balanced by `drop`.
        unsafe { raw::rcu_read_lock() };
        Self(PhantomData)
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        // SAFETY: `new` entered the critical section this ends.
        unsafe { raw::rcu_read_unlock() };
    }
}

/// An optional `Arc<T>` that readers borrow under a [`ReadGuard`], without a lock or a
/// reference count of their own, and writers replace with [`RcuArc::replace`].
///
/// # Invariants
///
/// `ptr` is null or comes from `Arc::into_raw`, whose reference this value owns. A pointer
/// that was replaced stays valid until a grace period has passed since it was unpublished.
pub(crate) struct RcuArc<T: Send + Sync> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<Arc<T>>,
}

// SAFETY: The value is an `Arc<T>`, which may be sent and shared when `T: Send + Sync`; the
// pointer is only changed atomically.
unsafe impl<T: Send + Sync> Send for RcuArc<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync> Sync for RcuArc<T> {}

impl<T: Send + Sync> RcuArc<T> {
    /// Holds `value`.
    pub(crate) fn new(value: Option<Arc<T>>) -> Self {
        // INVARIANT: Null, or from `Arc::into_raw`.
        Self {
            ptr: AtomicPtr::new(value.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut())),
            _owns: PhantomData,
        }
    }

    /// Borrows the value for as long as the read-side critical section `_guard` lasts.
    pub(crate) fn get<'a>(&'a self, _guard: &'a ReadGuard) -> Option<ArcBorrow<'a, T>> {
        // Acquire: what was written to the value before it was published is seen (as
        // `rcu_dereference`, more strongly).
        let p = self.ptr.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` came from `Arc::into_raw` (type invariant), and this value's reference is
        // not dropped before a grace period passes, which waits for the critical section of
        // `_guard`, which outlives `'a`; being shared, the `Arc` has no `UniqueArc`.
        Some(unsafe { ArcBorrow::from_raw(p) })
    }

    /// Returns a reference on the value.
    pub(crate) fn get_arc(&self) -> Option<Arc<T>> {
        let guard = ReadGuard::new();
        self.get(&guard).map(Arc::from)
    }

    /// Publishes `value` and returns the one it replaces, once no reader can see that any
    /// more (`synchronize_rcu`). Sleeps: process context only, outside any [`ReadGuard`].
    pub(crate) fn replace(&self, value: Option<Arc<T>>) -> Option<Arc<T>> {
        let new = value.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut());
        // Release: the new value's contents are written before readers can see it (as
        // `rcu_assign_pointer`).
        let old = self.ptr.swap(new, Ordering::AcqRel);
        if old.is_null() {
            return None;
        }
        // SAFETY: Process context, outside a read-side critical section (the caller's
        // contract); waits for the readers that may still see `old`.
        unsafe { raw::synchronize_rcu() };
        // SAFETY: `old` came from `Arc::into_raw`; it is unpublished and no reader sees it any
        // more, so this value's reference passes to the caller.
        Some(unsafe { Arc::from_raw(old) })
    }
}

impl<T: Send + Sync> Drop for RcuArc<T> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: `&mut self`: no reader borrows the value; it came from `Arc::into_raw`.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}
