// SPDX-License-Identifier: GPL-2.0

//! HCA events: port state changes, management changes, catastrophic errors
//! (`mlx4_register_event_notifier`).
//!
//! C header: [`include/linux/mlx4/driver.h`](srctree/include/linux/mlx4/driver.h).
//!
//! mlx4_core calls its atomic notifier chain from the EQ interrupt handler (port and management
//! events) and from its error handling: handlers run in atomic context, possibly hard IRQ, and
//! must not sleep. Anything slow goes to a work item.

use super::Dev;
use crate::rust_bindings::raw;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// The size of an event queue entry (`struct mlx4_eqe`).
pub(crate) const EQE_SIZE: usize = 32;

kernel::static_assert!(core::mem::size_of::<raw::mlx4_eqe>() == EQE_SIZE);

/// An HCA event (`enum mlx4_dev_event` and its parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// `MLX4_DEV_EVENT_CATASTROPHIC_ERROR`: the HCA is in internal error; every command fails.
    CatastrophicError,
    /// `MLX4_DEV_EVENT_PORT_UP` of a port.
    PortUp(u32),
    /// `MLX4_DEV_EVENT_PORT_DOWN` of a port.
    PortDown(u32),
    /// `MLX4_DEV_EVENT_PORT_MGMT_CHANGE`: a copy of the EQE (`struct mlx4_eqe`, big-endian) whose
    /// `event.port_mgmt_change` says what changed.
    PortMgmtChange([u8; EQE_SIZE]),
    /// Any other event (`PORT_REINIT`, `SLAVE_INIT`, `SLAVE_SHUTDOWN`, ...), by number.
    Other(u32),
}

impl Event {
    /// Decodes `event` with its parameter.
    ///
    /// # Safety
    ///
    /// `param` must be what mlx4_core passes with `event`: null for a catastrophic error, an
    /// `int *` for port events, a `struct mlx4_eqe *` for a management change, each valid for
    /// the call.
    unsafe fn decode(event: c_ulong, param: *const c_void) -> Self {
        let Ok(event) = u32::try_from(event) else {
            return Self::Other(u32::MAX);
        };
        let port = || {
            if param.is_null() {
                return 0;
            }
            // SAFETY: Port events carry an `int *` (the caller's contract).
            u32::try_from(unsafe { param.cast::<c_int>().read() }).unwrap_or(0)
        };
        match event {
            raw::mlx4_dev_event_MLX4_DEV_EVENT_CATASTROPHIC_ERROR => Self::CatastrophicError,
            raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_UP => Self::PortUp(port()),
            raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_DOWN => Self::PortDown(port()),
            raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_MGMT_CHANGE if !param.is_null() => {
                // SAFETY: The parameter is a `struct mlx4_eqe`, `EQE_SIZE` readable bytes (the
                // caller's contract; size asserted above).
                Self::PortMgmtChange(unsafe { param.cast::<[u8; EQE_SIZE]>().read_unaligned() })
            }
            e => Self::Other(e),
        }
    }
}

/// What HCA events are reported to.
pub(crate) trait EventHandler: Send + Sync + Sized + 'static {
    /// `event` happened. Called in atomic context (the EQ interrupt, so possibly hard IRQ),
    /// possibly on several CPUs at once: must not sleep, allocate with `GFP_ATOMIC`, and defer
    /// anything slow to a work item.
    fn event(this: ArcBorrow<'_, Self>, event: Event);
}

#[repr(C)]
struct Inner<T: EventHandler> {
    nb: Opaque<raw::notifier_block>,
    ctx: Arc<T>,
}

/// A registered event notifier of one HCA; dropping it unregisters it (after which no call runs).
///
/// # Invariants
///
/// `inner.nb` is registered on `dev`'s event chain until `drop`. `dev` follows the resource
/// lifetime rule of the module documentation.
pub(crate) struct EventNotifier<T: EventHandler> {
    dev: NonNull<raw::mlx4_dev>,
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: Owns the notifier storage and a reference to a `Send + Sync` context; it can be
// unregistered from any thread.
unsafe impl<T: EventHandler> Send for EventNotifier<T> {}
// SAFETY: `&EventNotifier` only gives the `Sync` context.
unsafe impl<T: EventHandler> Sync for EventNotifier<T> {}

impl<T: EventHandler> EventNotifier<T> {
    /// Registers `ctx` for the events of `dev`.
    pub(crate) fn new(dev: &Dev, ctx: Arc<T>) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                // SAFETY: An all-zero `notifier_block` is valid before registration.
                nb: Opaque::new(unsafe { core::mem::zeroed() }),
                ctx,
            },
            GFP_KERNEL,
        )?;
        let nb = inner.nb.get();
        // SAFETY: `nb` points to pinned storage that lives until `drop` unregisters it; the
        // callback is set before the block is published.
        unsafe {
            (*nb).notifier_call = Some(Self::callback);
            to_result(raw::mlx4_register_event_notifier(dev.as_raw(), nb))?;
        }
        // INVARIANT: Registered on `dev` above.
        Ok(Self {
            dev: dev.as_non_null(),
            inner,
        })
    }

    /// Returns the handler.
    pub(crate) fn handler(&self) -> &Arc<T> {
        &self.inner.ctx
    }

    /// # Safety
    ///
    /// Called by mlx4_core's event chain only, for a block registered by
    /// [`EventNotifier::new`].
    unsafe extern "C" fn callback(
        nb: *mut raw::notifier_block,
        event: c_ulong,
        param: *mut c_void,
    ) -> c_int {
        // SAFETY: `nb` is the first field of the `repr(C)` `Inner<T>`, alive while registered.
        let inner = unsafe { &*nb.cast::<Inner<T>>() };
        // SAFETY: mlx4_core passes each event with its documented parameter.
        let ev = unsafe { Event::decode(event, param) };
        T::event(inner.ctx.as_arc_borrow(), ev);
        raw::NOTIFY_DONE as c_int
    }
}

impl<T: EventHandler> Drop for EventNotifier<T> {
    fn drop(&mut self) {
        // SAFETY: The block was registered on `dev` by `new`, which is still bound (type
        // invariant); unregistering waits for running callbacks (RCU), so none runs after this.
        let _ =
            unsafe { raw::mlx4_unregister_event_notifier(self.dev.as_ptr(), self.inner.nb.get()) };
    }
}
