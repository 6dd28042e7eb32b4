// SPDX-License-Identifier: GPL-2.0

//! NAPI polling contexts (`struct napi_struct`).

use super::{NetDevice, SkBuff};
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a NAPI context polls.
pub(crate) trait NapiPoll: Sync + Sized {
    /// Processes up to `budget` units of work; returns how many were done. Returning less than
    /// `budget` requires having called [`Napi::complete_done`].
    fn poll(&self, napi: &Napi<Self>, budget: i32) -> i32
    where
        Self: HasNapi;
}

/// Declares where a [`Napi`] lives inside its owner `T`.
///
/// # Safety
///
/// `OFFSET` must be the offset of a field of type `Napi<Self>` in `Self`.
pub(crate) unsafe trait HasNapi: NapiPoll {
    /// Offset of the `Napi<Self>` field.
    const OFFSET: usize;
}

/// Implements [`HasNapi`] for `$type` whose field `$field` is its `Napi`.
macro_rules! impl_has_napi {
    ($type:ty, $field:ident) => {
        // The unsafe code is this macro's, not the invoking driver's.
        #[allow(unsafe_code)]
        // SAFETY: `offset_of!` gives the offset of the named field, whose type the
        // `Napi<Self>` annotation checks.
        unsafe impl $crate::rust_bindings::net::HasNapi for $type {
            const OFFSET: usize = {
                fn _check(t: &$type) -> &$crate::rust_bindings::net::Napi<$type> {
                    &t.$field
                }
                ::core::mem::offset_of!($type, $field)
            };
        }
    };
}
pub(crate) use impl_has_napi;

/// A NAPI context embedded in `T`.
///
/// # Invariants
///
/// While `added` is set, `napi` is registered with its device and `self` is the `Napi` field of
/// a live `T` (guaranteed by [`HasNapi`] and by `Drop` unregistering it). `enabled` is set only
/// while `added` is, between `napi_enable` and `napi_disable`.
#[repr(C)]
pub(crate) struct Napi<T: HasNapi> {
    napi: Opaque<raw::napi_struct>,
    added: AtomicBool,
    enabled: AtomicBool,
    _t: PhantomData<T>,
}

// SAFETY: The NAPI core serialises polls; the methods are safe to call from any thread.
unsafe impl<T: HasNapi> Sync for Napi<T> {}
// SAFETY: As above.
unsafe impl<T: HasNapi> Send for Napi<T> {}

impl<T: HasNapi> Napi<T> {
    /// Creates an unregistered context (zeroed, as C embeds it in zeroed memory).
    pub(crate) fn new() -> Self {
        Self {
            // SAFETY: An all-zero `napi_struct` is its unregistered state.
            napi: Opaque::new(unsafe { core::mem::zeroed() }),
            added: AtomicBool::new(false),
            enabled: AtomicBool::new(false),
            _t: PhantomData,
        }
    }

    fn as_raw(&self) -> *mut raw::napi_struct {
        self.napi.get()
    }

    /// Registers the context with `dev` (`netif_napi_add_weight`); it starts disabled.
    ///
    /// `self` must not move afterwards: callers keep `T` in an `Arc` or pinned box.
    pub(crate) fn add(&self, dev: &NetDevice, weight: i32) -> Result {
        if self.added.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: `self` is the `Napi` field of a `T` (`HasNapi`) that does not move (the owner
        // is shared through an `Arc`); `dev` is valid.
        unsafe {
            raw::netif_napi_add_weight(
                dev.as_raw(),
                self.as_raw(),
                Some(Self::poll_callback),
                weight,
            )
        };
        Ok(())
    }

    /// Returns whether the context is registered.
    pub(crate) fn is_added(&self) -> bool {
        self.added.load(Ordering::Acquire)
    }

    /// Unregisters the context (`netif_napi_del`), disabling it first if needed.
    pub(crate) fn del(&self) {
        self.disable();
        if self.added.swap(false, Ordering::AcqRel) {
            // SAFETY: The context was added and is disabled.
            unsafe { raw::netif_napi_del(self.as_raw()) };
        }
    }

    /// Returns the device the context polls for; valid while the context is added.
    pub(crate) fn dev(&self) -> &NetDevice {
        // SAFETY: `netif_napi_add_weight` set `dev` to the device, which outlives the context
        // registration (contexts are deleted before their device is freed).
        unsafe { NetDevice::from_raw((*self.as_raw()).dev) }
    }

    /// Allows polling (`napi_enable`); does nothing unless the context is added and disabled.
    /// Callers serialise enabling and disabling (RTNL).
    pub(crate) fn enable(&self) {
        if self.is_added() && !self.enabled.swap(true, Ordering::AcqRel) {
            // SAFETY: The context is added and was disabled.
            unsafe { raw::napi_enable(self.as_raw()) }
        }
    }

    /// Stops polling and waits for a running poll to end (`napi_disable`); may sleep. Returns
    /// whether the context was enabled (and so is disabled now).
    pub(crate) fn disable(&self) -> bool {
        if self.is_added() && self.enabled.swap(false, Ordering::AcqRel) {
            // SAFETY: The context is added and was enabled.
            unsafe { raw::napi_disable(self.as_raw()) };
            true
        } else {
            false
        }
    }

    /// Schedules a poll (`napi_schedule`); returns whether this call scheduled it. Any context.
    pub(crate) fn schedule(&self) -> bool {
        if !self.added.load(Ordering::Acquire) {
            return false;
        }
        // SAFETY: The context is added.
        unsafe { raw::napi_schedule(self.as_raw()) }
    }

    /// Ends a poll that did less than its budget (`napi_complete_done`); returns false if the
    /// context must keep polling (it was rescheduled meanwhile).
    pub(crate) fn complete_done(&self, work_done: i32) -> bool {
        // SAFETY: Called from this context's poll function.
        unsafe { raw::napi_complete_done(self.as_raw(), work_done) }
    }

    /// Hands a received packet to the stack (`napi_gro_receive`); called from the poll.
    pub(crate) fn gro_receive(&self, skb: SkBuff) {
        // SAFETY: Called from this context's poll function; the skb is handed over.
        unsafe { raw::napi_gro_receive(self.as_raw(), skb.into_raw()) };
    }

    /// # Safety
    ///
    /// Called by the NAPI core only, for a context added by [`Napi::add`].
    unsafe extern "C" fn poll_callback(napi: *mut raw::napi_struct, budget: c_int) -> c_int {
        // `napi_struct` is the first field of the `repr(C)` `Napi`.
        let this = napi.cast::<Self>();
        // SAFETY: By `HasNapi`, `this` is at `T::OFFSET` inside a live `T` (the type
        // invariant: it is unregistered before `T` goes away).
        let owner = unsafe { &*this.cast::<u8>().sub(T::OFFSET).cast::<T>() };
        // SAFETY: `this` is valid as shown above.
        owner.poll(unsafe { &*this }, budget)
    }
}

impl<T: HasNapi> Drop for Napi<T> {
    fn drop(&mut self) {
        self.del();
    }
}
