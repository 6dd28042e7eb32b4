// SPDX-License-Identifier: GPL-2.0

//! Network devices (`struct net_device`): what a driver may do with one.

use crate::rust_bindings::raw;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::Opaque;

/// A network device.
///
/// # Invariants
///
/// References only exist while the device is allocated: inside its operations, or borrowed from
/// the [`Registration`] that owns it.
#[repr(transparent)]
pub(crate) struct NetDevice(Opaque<raw::net_device>);

// SAFETY: `net_device` is used from any thread; every method calls thread-safe kernel functions
// or reads fields that the kernel itself reads without locks.
unsafe impl Sync for NetDevice {}
// SAFETY: As above.
unsafe impl Send for NetDevice {}

impl NetDevice {
    /// Creates a reference from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an allocated `net_device` that stays allocated for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut raw::net_device) -> &'a Self {
        // SAFETY: `repr(transparent)`; validity is the caller's promise.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw pointer.
    pub(crate) fn as_raw(&self) -> *mut raw::net_device {
        self.0.get()
    }

    /// Returns the interface name.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array inside the device (renames rewrite it in place
        // under RTNL; a racing reader may see a torn name, as C readers do).
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Returns the interface index (0 before registration).
    pub(crate) fn ifindex(&self) -> i32 {
        // SAFETY: The device is valid; `ifindex` is an `int` set once at registration.
        unsafe { (*self.as_raw()).ifindex }
    }

    /// Returns the current MTU.
    pub(crate) fn mtu(&self) -> u32 {
        // SAFETY: The device is valid; `READ_ONCE(dev->mtu)` semantics, as in C readers.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).mtu) }
    }

    /// Changes the MTU through the core (`dev_set_mtu`: validation, `ndo_change_mtu`,
    /// notifications); RTNL must be held, which `_rtnl` proves.
    pub(crate) fn set_mtu(&self, _rtnl: &super::Rtnl, mtu: u32) -> Result {
        let mtu = c_int::try_from(mtu).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid and RTNL is held.
        to_result(unsafe { raw::dev_set_mtu(self.as_raw(), mtu) })
    }

    /// The active `NETIF_F_*` features (`dev->features`, changed under RTNL; a lockless read,
    /// as in C's data paths).
    pub(crate) fn features(&self) -> u64 {
        // SAFETY: The device is valid; a racy read of a word-sized field, as C's readers do.
        unsafe { core::ptr::read_volatile(&raw const (*self.as_raw()).features) }
    }

    /// Recomputes the features (`netdev_update_features`: `ndo_fix_features`, then the
    /// notifications); RTNL must be held, which `_rtnl` proves.
    pub(crate) fn update_features(&self, _rtnl: &super::Rtnl) {
        // SAFETY: The device is valid and RTNL is held.
        unsafe { raw::netdev_update_features(self.as_raw()) }
    }

    /// Returns whether this is the same device as `other`.
    pub(crate) fn is(&self, other: &NetDevice) -> bool {
        core::ptr::eq(self.as_raw(), other.as_raw())
    }

    /// Stores a new MTU that the caller validated, from `ndo_change_mtu` (whose RTNL the
    /// witness proves: every other writer of `dev->mtu` holds it too).
    pub(crate) fn set_mtu_field(&self, _rtnl: &super::Rtnl, mtu: u32) {
        // SAFETY: The device is valid; RTNL is held (the witness), so this is the only writer;
        // `WRITE_ONCE(dev->mtu, ...)`, as `dev_set_mtu` does, for the lockless readers.
        unsafe { core::ptr::write_volatile(&raw mut (*self.as_raw()).mtu, mtu) }
    }

    /// Returns a copy of the hardware address (`dev_addr`) if it is `N` bytes long.
    ///
    /// A copy, not a borrow: `set_dev_addr` rewrites these bytes under RTNL.
    pub(crate) fn dev_addr<const N: usize>(&self) -> Option<[u8; N]> {
        let dev = self.as_raw();
        // SAFETY: `dev_addr` points to `addr_len` bytes owned by the device for its lifetime;
        // they are copied out at once, byte by byte as `memcpy` would (a concurrent
        // `dev_addr_mod` can only make the copy a mix of two addresses, as in C).
        unsafe {
            if usize::from((*dev).addr_len) != N {
                return None;
            }
            let mut out = [0u8; N];
            core::ptr::copy_nonoverlapping((*dev).dev_addr, out.as_mut_ptr(), N);
            Some(out)
        }
    }

    /// Returns the broadcast address (`addr_len` bytes).
    pub(crate) fn broadcast(&self) -> &[u8] {
        let dev = self.as_raw();
        // SAFETY: `broadcast` is an array inside the device; `addr_len` never exceeds it
        // (`MAX_ADDR_LEN`).
        unsafe {
            let len = usize::from((*dev).addr_len).min((*dev).broadcast.len());
            core::slice::from_raw_parts((*dev).broadcast.as_ptr(), len)
        }
    }

    /// Sets the hardware address (`dev_addr_mod`) under RTNL (the witness).
    pub(crate) fn set_dev_addr(&self, _rtnl: &super::Rtnl, addr: &[u8]) {
        let dev = self.as_raw();
        // SAFETY: The device is valid; `addr` is readable for its length, clamped to `addr_len`;
        // RTNL serialises this with every other writer of the address.
        unsafe {
            let len = addr.len().min(usize::from((*dev).addr_len));
            raw::dev_addr_mod(dev, 0, addr.as_ptr().cast(), len)
        }
    }

    /// Tells the stack the hardware address changed (`NETDEV_CHANGEADDR`, as
    /// `dev_set_mac_address` does after a change).
    pub(crate) fn notify_addr_changed(&self, _rtnl: &super::Rtnl) {
        // SAFETY: The device is valid and registered; RTNL is held (the proof argument).
        unsafe {
            raw::call_netdevice_notifiers(raw::netdev_cmd_NETDEV_CHANGEADDR as _, self.as_raw())
        };
    }

    /// Has the stack announce the device's addresses to its peers (gratuitous ARP,
    /// unsolicited neighbour advertisements, IGMP reports: `__netdev_notify_peers`).
    pub(crate) fn notify_peers(&self, _rtnl: &super::Rtnl) {
        // SAFETY: The device is valid and registered; RTNL is held (the proof argument).
        unsafe { raw::__netdev_notify_peers(self.as_raw()) };
    }

    /// Turns the carrier on.
    pub(crate) fn carrier_on(&self) {
        // SAFETY: The device is valid; `netif_carrier_on` may be called in any context.
        unsafe { raw::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off.
    pub(crate) fn carrier_off(&self) {
        // SAFETY: As in `carrier_on`.
        unsafe { raw::netif_carrier_off(self.as_raw()) }
    }

    /// Returns whether the carrier is on.
    pub(crate) fn carrier_ok(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_carrier_ok(self.as_raw()) }
    }

    /// Returns whether the interface is operationally up (`netif_oper_up`): the link watch
    /// has seen its carrier and started its queueing discipline.
    pub(crate) fn oper_up(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_oper_up(self.as_raw()) }
    }

    /// Returns whether the interface is up (`netif_running`).
    pub(crate) fn is_running(&self) -> bool {
        // SAFETY: The device is valid.
        unsafe { raw::netif_running(self.as_raw()) }
    }

    /// Allows the stack to transmit.
    pub(crate) fn start_queue(&self) {
        // SAFETY: The device is valid and has one TX queue.
        unsafe { raw::netif_start_queue(self.as_raw()) }
    }

    /// Stops the stack from transmitting.
    pub(crate) fn stop_queue(&self) {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_stop_queue(self.as_raw()) }
    }

    /// Restarts a stopped queue and reschedules it.
    pub(crate) fn wake_queue(&self) {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_wake_queue(self.as_raw()) }
    }

    /// Returns whether the queue is stopped.
    pub(crate) fn queue_stopped(&self) -> bool {
        // SAFETY: As in `start_queue`.
        unsafe { raw::netif_queue_stopped(self.as_raw()) }
    }

    /// Stops the queue, waiting for a running `ndo_start_xmit` to finish (`netif_tx_disable`).
    pub(crate) fn tx_disable(&self) {
        // SAFETY: As in `start_queue`; process or BH context.
        unsafe { raw::netif_tx_disable(self.as_raw()) }
    }
}

// SAFETY: `dev_hold`/`dev_put` manage the netdev reference count, which is non-zero while a
// `&NetDevice` exists (the device is allocated). Holders must drop their references before the
// device is unregistered, or `unregister_netdevice` waits for them.
unsafe impl kernel::types::AlwaysRefCounted for NetDevice {
    fn inc_ref(&self) {
        // SAFETY: The device is valid.
        unsafe { raw::dev_hold(self.as_raw()) }
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: The caller owns one reference.
        unsafe { raw::dev_put(obj.as_ptr().cast()) }
    }
}

impl NetDevice {
    /// Joins the IPv6 multicast group `group` on this device (`ipv6_dev_mc_inc`), so that its
    /// IPv6 stack accepts datagrams sent to it; may sleep.
    pub(crate) fn ipv6_mc_inc(&self, group: &[u8; 16]) -> Result {
        let addr = raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: *group },
        };
        // SAFETY: The device is valid; `addr` is valid for the call.
        to_result(unsafe { raw::ipv6_dev_mc_inc(self.as_raw(), &addr) })
    }

    /// Leaves a group joined with [`NetDevice::ipv6_mc_inc`].
    pub(crate) fn ipv6_mc_dec(&self, group: &[u8; 16]) -> Result {
        let addr = raw::in6_addr {
            in6_u: raw::in6_addr__bindgen_ty_1 { u6_addr8: *group },
        };
        // SAFETY: As in `ipv6_mc_inc`.
        to_result(unsafe { raw::ipv6_dev_mc_dec(self.as_raw(), &addr) })
    }
}
