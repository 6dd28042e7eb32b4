// SPDX-License-Identifier: GPL-2.0

//! Network device abstractions: `struct net_device` with its operations, socket buffers, NAPI.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

mod device;
mod ethtool;
mod link;
mod napi;
mod notifier;
mod ops;
mod registration;
mod skb;
mod sysfs;

pub(crate) use device::NetDevice;
pub(crate) use ethtool::{fill_cstr, Coalesce, DrvInfo, EthtoolOps, LinkSettings, RingParam};
pub(crate) use link::{
    link_ops, nla_total_size, AttrType, InfoWriter, LinkData, LinkOps, LinkOpsHandle, LinkOpsReg,
    LinkRegistration, LinkTarget,
};
pub(crate) use napi::{HasNapi, Napi, NapiPoll};
pub(crate) use notifier::{NetdevEvent, NetdevEvents, NetdevNotifier};
pub(crate) use ops::{DeviceOps, HeaderOps, LinkStats, McList, Ops};
pub(crate) use registration::{Config, NewLink, Registration};
pub(crate) use skb::{MappedPage, MappedSkBuff, PacketType, SkBuff, SkBuffRef, TxBuf, TX_SGE};
pub(crate) use sysfs::{attr_group, Attr, AttrGroup, Attributes, ShowBuf, SysfsGroup};

pub(crate) use napi::impl_has_napi;

use crate::rust_bindings::raw;
use core::marker::PhantomData;

/// `ARPHRD_INFINIBAND`: the link type of IPoIB interfaces.
pub(crate) const ARPHRD_INFINIBAND: u16 = raw::ARPHRD_INFINIBAND as u16;
/// Waits until every transmit and NAPI poll running now has finished (`synchronize_net`);
/// process context.
pub(crate) fn synchronize_net() {
    // SAFETY: Callable from any sleepable context.
    unsafe { raw::synchronize_net() }
}

/// `NETIF_F_SG`: sends may be scattered over page fragments.
pub(crate) const NETIF_F_SG: u64 = raw::NETIF_F_SG;
/// `NETIF_F_HIGHDMA`: fragments may be in high memory.
pub(crate) const NETIF_F_HIGHDMA: u64 = raw::NETIF_F_HIGHDMA;
/// `NETIF_F_VLAN_CHALLENGED`: no VLAN devices on top.
pub(crate) const NETIF_F_VLAN_CHALLENGED: u64 = raw::NETIF_F_VLAN_CHALLENGED;
/// `NETIF_F_IP_CSUM`: the device computes IPv4 TCP/UDP checksums on send.
pub(crate) const NETIF_F_IP_CSUM: u64 = raw::NETIF_F_IP_CSUM;
/// `NETIF_F_RXCSUM`: the device verifies checksums on receive.
pub(crate) const NETIF_F_RXCSUM: u64 = raw::NETIF_F_RXCSUM;
/// `NETIF_F_TSO`: the device segments TCP over IPv4 large sends.
pub(crate) const NETIF_F_TSO: u64 = raw::NETIF_F_TSO;
/// `IFF_BROADCAST`.
pub(crate) const IFF_BROADCAST: u32 = raw::net_device_flags_IFF_BROADCAST;
/// `IFF_UP`.
pub(crate) const IFF_UP: u32 = raw::net_device_flags_IFF_UP;
/// `IFF_MULTICAST`.
pub(crate) const IFF_MULTICAST: u32 = raw::net_device_flags_IFF_MULTICAST;

/// Holds the RTNL lock (`rtnl_lock`) until dropped.
///
/// # Invariants
///
/// The current task holds RTNL while this value exists. It is neither `Send` nor `Sync`: a
/// mutex must be released by the task that took it.
pub(crate) struct Rtnl {
    _not_send: PhantomData<*mut ()>,
}

impl Rtnl {
    /// Takes RTNL; may sleep. Callers must not hold locks RTNL holders wait for.
    pub(crate) fn lock() -> Self {
        // SAFETY: `rtnl_lock` may be called from any sleepable context.
        unsafe { raw::rtnl_lock() };
        // INVARIANT: RTNL was just taken by this task.
        Self {
            _not_send: PhantomData,
        }
    }
}

impl Rtnl {
    /// Takes RTNL if it is free (`rtnl_trylock`).
    pub(crate) fn try_lock() -> Option<Self> {
        // SAFETY: `rtnl_trylock` may be called from any sleepable context.
        let locked = unsafe { raw::rtnl_trylock() } != 0;
        // Not `then_some`: its argument is built (and, unused, dropped: an unlock) either way.
        if locked {
            // INVARIANT: `rtnl_trylock` took RTNL for this task.
            Some(Self {
                _not_send: PhantomData,
            })
        } else {
            None
        }
    }

    /// Returns a guard for RTNL that the caller's caller holds; dropping it does nothing.
    ///
    /// # Safety
    ///
    /// RTNL must be held by this thread for the guard's lifetime.
    pub(super) unsafe fn assume_held() -> core::mem::ManuallyDrop<Self> {
        // INVARIANT: The caller promises that this task holds RTNL.
        core::mem::ManuallyDrop::new(Self {
            _not_send: PhantomData,
        })
    }
}

/// Calls `f` with each device of the initial network namespace (`for_each_netdev(&init_net)`).
pub(crate) fn for_each_init_net_device(_rtnl: &Rtnl, mut f: impl FnMut(&NetDevice)) {
    // SAFETY: RTNL is held, so the namespace's device list does not change during the walk and
    // every device on it stays allocated.
    let mut d = unsafe { raw::first_init_net_device() };
    while !d.is_null() {
        // SAFETY: As above.
        f(unsafe { NetDevice::from_raw(d) });
        // SAFETY: As above.
        d = unsafe { raw::next_net_device(d) };
    }
}

/// The error a sysfs or ioctl handler returns to have the system call restarted
/// (`restart_syscall`), e.g. when it cannot take RTNL without risking a deadlock.
pub(crate) fn restart_syscall() -> kernel::error::Error {
    // SAFETY: Sets a flag of the current task and returns `-ERESTARTNOINTR`.
    kernel::error::Error::from_errno(unsafe { raw::restart_syscall() })
}

/// Whether the current task has `CAP_NET_ADMIN` in the initial user namespace (`capable`).
pub(crate) fn capable_net_admin() -> bool {
    // SAFETY: `capable` may be called from process context.
    unsafe { raw::capable(raw::CAP_NET_ADMIN) }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: `self` proves RTNL is held by this thread.
        unsafe { raw::rtnl_unlock() };
    }
}
