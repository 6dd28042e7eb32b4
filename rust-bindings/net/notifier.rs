// SPDX-License-Identifier: GPL-2.0

//! Network device notifiers (`register_netdevice_notifier`).

use super::NetDevice;
use crate::rust_bindings::raw;
use core::pin::Pin;
use kernel::error::{to_result, Result};
use kernel::ffi::{c_int, c_ulong, c_void};
use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};
use kernel::types::Opaque;

/// A netdevice event this driver reacts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NetdevEvent {
    /// `NETDEV_CHANGEMTU`.
    ChangeMtu,
    /// `NETDEV_UP`.
    Up,
    /// `NETDEV_DOWN`.
    Down,
    /// `NETDEV_REGISTER`: the device was registered (or moved into a namespace).
    Register,
    /// `NETDEV_UNREGISTER`: the device is being unregistered (or moved out of a namespace).
    Unregister,
    /// `NETDEV_CHANGENAME`: the device was renamed.
    ChangeName,
}

/// What netdevice events are reported to.
pub(crate) trait NetdevEvents: Send + Sync + Sized + 'static {
    /// `event` happened to `dev`; only the events above are reported, all with RTNL held
    /// (defer work that takes it).
    fn netdev_event(
        this: ArcBorrow<'_, Self>,
        rtnl: &super::Rtnl,
        dev: &NetDevice,
        event: NetdevEvent,
    );
}

#[repr(C)]
struct Inner<T: NetdevEvents> {
    nb: Opaque<raw::notifier_block>,
    ctx: Arc<T>,
}

/// A registered netdevice notifier; dropping it unregisters it (takes RTNL).
pub(crate) struct NetdevNotifier<T: NetdevEvents> {
    inner: Pin<KBox<Inner<T>>>,
}

// SAFETY: Owns the notifier storage and a reference to a `Send + Sync` context.
unsafe impl<T: NetdevEvents> Send for NetdevNotifier<T> {}
// SAFETY: `&NetdevNotifier` gives access to nothing.
unsafe impl<T: NetdevEvents> Sync for NetdevNotifier<T> {}

impl<T: NetdevEvents> NetdevNotifier<T> {
    /// Registers `ctx` for the events of every network device; must not be called under RTNL.
    pub(crate) fn new(ctx: Arc<T>) -> Result<Self> {
        let inner = KBox::pin(
            Inner {
                // SAFETY: An all-zero `notifier_block` is valid before registration.
                nb: Opaque::new(unsafe { core::mem::zeroed() }),
                ctx,
            },
            GFP_KERNEL,
        )?;
        let nb = inner.nb.get();
        // SAFETY: `nb` points to pinned storage that lives until `drop` unregisters it.
        unsafe {
            (*nb).notifier_call = Some(Self::callback);
            to_result(raw::register_netdevice_notifier(nb))?;
        }
        Ok(Self { inner })
    }

    /// # Safety
    ///
    /// Called by the notifier chain only, for a block registered by [`NetdevNotifier::new`].
    unsafe extern "C" fn callback(
        nb: *mut raw::notifier_block,
        event: c_ulong,
        ptr: *mut c_void,
    ) -> c_int {
        // SAFETY: `nb` is the first field of the `repr(C)` `Inner<T>`, alive while registered;
        // netdevice notifiers pass a `netdev_notifier_info` whose device is valid for the call.
        let (inner, dev) = unsafe {
            (
                &*nb.cast::<Inner<T>>(),
                NetDevice::from_raw(raw::netdev_notifier_info_to_dev(ptr)),
            )
        };
        let ev = match u32::try_from(event).unwrap_or(u32::MAX) {
            raw::netdev_cmd_NETDEV_CHANGEMTU => NetdevEvent::ChangeMtu,
            raw::netdev_cmd_NETDEV_UP => NetdevEvent::Up,
            raw::netdev_cmd_NETDEV_DOWN => NetdevEvent::Down,
            raw::netdev_cmd_NETDEV_REGISTER => NetdevEvent::Register,
            raw::netdev_cmd_NETDEV_UNREGISTER => NetdevEvent::Unregister,
            raw::netdev_cmd_NETDEV_CHANGENAME => NetdevEvent::ChangeName,
            _ => return raw::NOTIFY_DONE as c_int,
        };
        // SAFETY: The core sends these events with RTNL held.
        let rtnl = unsafe { super::Rtnl::assume_held() };
        T::netdev_event(inner.ctx.as_arc_borrow(), &rtnl, dev, ev);
        raw::NOTIFY_DONE as c_int
    }
}

impl<T: NetdevEvents> Drop for NetdevNotifier<T> {
    fn drop(&mut self) {
        // SAFETY: The block was registered by `new`; unregistering takes RTNL and, once it
        // returns, no callback runs.
        let _ = unsafe { raw::unregister_netdevice_notifier(self.inner.nb.get()) };
    }
}
