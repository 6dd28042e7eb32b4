// SPDX-License-Identifier: GPL-2.0

//! Asynchronous events of an RDMA device (`struct ib_event_handler`).

use super::Device;
use crate::rust_bindings::raw;
use core::pin::Pin;
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// An asynchronous device event that concerns a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortEvent {
    /// `IB_EVENT_PORT_ACTIVE`: the port came up.
    Active,
    /// `IB_EVENT_PORT_ERR`: the port went down.
    Err,
    /// `IB_EVENT_LID_CHANGE`.
    LidChange,
    /// `IB_EVENT_PKEY_CHANGE`: the P_Key table changed.
    PkeyChange,
    /// `IB_EVENT_GID_CHANGE`: the GID table changed.
    GidChange,
    /// `IB_EVENT_CLIENT_REREGISTER`: the SM asks clients to register again.
    ClientReregister,
    /// Any other port event (`IB_EVENT_SM_CHANGE`, ...).
    Other,
}

/// What device events are reported to.
pub(crate) trait EventHandler: Send + Sync + Sized + 'static {
    /// `event` happened on `port` (possibly in atomic context: defer real work).
    fn port_event(this: ArcBorrow<'_, Self>, port: u32, event: PortEvent);
}

#[repr(C)]
struct Inner<T: EventHandler> {
    handler: Opaque<raw::ib_event_handler>,
    ctx: Arc<T>,
}

/// A registered event handler; dropping it unregisters it and waits for running callbacks.
pub(crate) struct EventRegistration<T: EventHandler> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: The registration only owns the handler storage and a reference to a `Send + Sync`
// context.
unsafe impl<T: EventHandler> Send for EventRegistration<T> {}
// SAFETY: As above; `&EventRegistration` gives no access to anything.
unsafe impl<T: EventHandler> Sync for EventRegistration<T> {}

impl<T: EventHandler> EventRegistration<T> {
    /// Registers `ctx` for the events of `dev` (`ib_register_event_handler`).
    pub(crate) fn new(dev: &Device, ctx: Arc<T>) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                handler: Opaque::uninit(),
                ctx,
            },
            GFP_KERNEL,
        )?;
        let h = inner.handler.get();
        // SAFETY: `h` points to pinned storage that lives until `drop` unregisters it; `dev` is
        // valid and outlives the registration (its owner drops it in the client's `remove`).
        unsafe {
            raw::ib_event_handler_init(h, dev.as_raw(), Some(Self::callback));
            raw::ib_register_event_handler(h);
        }
        Ok(Self { inner })
    }

    /// # Safety
    ///
    /// Called by ib_core only, for a handler registered by [`EventRegistration::new`].
    unsafe extern "C" fn callback(h: *mut raw::ib_event_handler, ev: *mut raw::ib_event) {
        // SAFETY: `handler` is the first field of the `repr(C)` `Inner<T>`, alive while
        // registered; `ev` is valid for the call.
        let (inner, ev) = unsafe { (&*h.cast::<Inner<T>>(), &*ev) };
        let kind = match ev.event {
            raw::ib_event_type_IB_EVENT_PORT_ACTIVE => PortEvent::Active,
            raw::ib_event_type_IB_EVENT_PORT_ERR => PortEvent::Err,
            raw::ib_event_type_IB_EVENT_LID_CHANGE => PortEvent::LidChange,
            raw::ib_event_type_IB_EVENT_PKEY_CHANGE => PortEvent::PkeyChange,
            raw::ib_event_type_IB_EVENT_GID_CHANGE => PortEvent::GidChange,
            raw::ib_event_type_IB_EVENT_CLIENT_REREGISTER => PortEvent::ClientReregister,
            raw::ib_event_type_IB_EVENT_SM_CHANGE => PortEvent::Other,
            // CQ, QP, SRQ and device-fatal events carry no port.
            _ => return,
        };
        // SAFETY: For the port events matched above `element` holds `port_num`.
        let port = unsafe { ev.element.port_num };
        T::port_event(inner.ctx.as_arc_borrow(), port, kind);
    }
}

impl<T: EventHandler> Drop for EventRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: The handler was registered by `new`; unregistering waits for callbacks.
        unsafe { raw::ib_unregister_event_handler(self.inner.handler.get()) };
    }
}
