// SPDX-License-Identifier: GPL-2.0

//! Network device abstractions: `struct net_device` with its operations, socket buffers, NAPI.
//!
//! C headers: [`include/linux/netdevice.h`](srctree/include/linux/netdevice.h),
//! [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h).

mod device;
mod napi;
mod notifier;
mod skb;

pub(crate) use device::{
    fill_cstr, Config, DrvInfo, LinkSettings, LinkStats, NetDevice, Ops, Registration,
};
pub(crate) use napi::{HasNapi, Napi, NapiPoll};
pub(crate) use notifier::{NetdevEvent, NetdevEvents, NetdevNotifier};
pub(crate) use skb::{MappedSkBuff, PacketType, SkBuff, SkBuffRef};

pub(crate) use napi::impl_has_napi;

use crate::rust_bindings::raw;

/// `ARPHRD_INFINIBAND`: the link type of IPoIB interfaces.
pub(crate) const ARPHRD_INFINIBAND: u16 = raw::ARPHRD_INFINIBAND as u16;
/// `IFF_BROADCAST`.
pub(crate) const IFF_BROADCAST: u32 = raw::net_device_flags_IFF_BROADCAST;
/// `IFF_MULTICAST`.
pub(crate) const IFF_MULTICAST: u32 = raw::net_device_flags_IFF_MULTICAST;

/// Holds the RTNL lock (`rtnl_lock`) until dropped.
pub(crate) struct Rtnl(());

impl Rtnl {
    /// Takes RTNL; may sleep. Callers must not hold locks RTNL holders wait for.
    pub(crate) fn lock() -> Self {
        // SAFETY: `rtnl_lock` may be called from any sleepable context.
        unsafe { raw::rtnl_lock() };
        Self(())
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        // SAFETY: `self` proves RTNL is held by this thread.
        unsafe { raw::rtnl_unlock() };
    }
}
