// SPDX-License-Identifier: GPL-2.0

//! A spinlock that also disables bottom halves (`spin_lock_bh`).
//!
//! C header: [`include/linux/spinlock.h`](srctree/include/linux/spinlock.h).
//!
//! `kernel::sync::SpinLock` takes a plain `spin_lock`, which lockdep rightly reports when the
//! same lock is also taken in softirq context (NAPI, `ndo_start_xmit`). Data shared between
//! process context and the data path uses this lock instead.

use crate::rust_bindings::raw;
use kernel::sync::lock::{Backend, Lock};

/// A spinlock taken with bottom halves disabled.
pub(crate) type SpinLockBh<T> = Lock<T, SpinLockBhBackend>;

/// Creates a [`SpinLockBh`] initialiser with a lockdep class of its own.
macro_rules! new_spinlock_bh {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::rust_bindings::sync::SpinLockBh::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_spinlock_bh;

/// The backend of [`SpinLockBh`].
pub(crate) struct SpinLockBhBackend;

// SAFETY: The kernel's `spinlock_t` ensures mutual exclusion; `relock` uses the default
// implementation, which takes the lock the same way.
unsafe impl Backend for SpinLockBhBackend {
    type State = raw::spinlock_t;
    type GuardState = ();

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: The caller guarantees `ptr` is valid for writes and `name`/`key` for reads
        // forever. The kernel crate's `spinlock_t` and ours come from the same C type.
        unsafe { kernel::bindings::__spin_lock_init(ptr.cast(), name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` is an initialised lock.
        unsafe { raw::spin_lock_bh(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, _guard_state: &Self::GuardState) {
        // SAFETY: The caller owns the lock.
        unsafe { raw::spin_unlock_bh(ptr) }
    }
}

/// A spinlock taken with interrupts disabled (`spin_lock_irqsave`).
///
/// For data that code running with interrupts disabled reaches, such as the software HCA's
/// tables, which mlx4_ib updates under its own IRQ-safe CQ locks.
pub(crate) type SpinLockIrq<T> = Lock<T, SpinLockIrqBackend>;

/// Creates a [`SpinLockIrq`] initialiser with a lockdep class of its own.
macro_rules! new_spinlock_irq {
    ($inner:expr, $name:literal $(,)?) => {
        $crate::rust_bindings::sync::SpinLockIrq::new(
            $inner,
            ::kernel::c_str!($name),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_spinlock_irq;

/// The backend of [`SpinLockIrq`].
pub(crate) struct SpinLockIrqBackend;

// SAFETY: The kernel's `spinlock_t` ensures mutual exclusion; the guard keeps the saved
// interrupt state and `relock` uses the default implementation, which takes the lock the same
// way.
unsafe impl Backend for SpinLockIrqBackend {
    type State = raw::spinlock_t;
    type GuardState = kernel::ffi::c_ulong;

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: As for `SpinLockBhBackend::init`.
        unsafe { kernel::bindings::__spin_lock_init(ptr.cast(), name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller guarantees `ptr` is an initialised lock.
        unsafe { raw::spin_lock_irqsave_flags(ptr) }
    }

    unsafe fn unlock(ptr: *mut Self::State, flags: &Self::GuardState) {
        // SAFETY: The caller owns the lock, taken by `lock` which returned `flags`.
        unsafe { raw::spin_unlock_irqrestore_flags(ptr, *flags) }
    }
}
