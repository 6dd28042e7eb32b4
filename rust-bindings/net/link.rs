// SPDX-License-Identifier: GPL-2.0

//! Link kinds for `ip link add ... type KIND` (`struct rtnl_link_ops`).
//!
//! A driver implements [`LinkOps`] for its [`Ops`] type, declares one static
//! [`LinkOpsReg`] with [`link_ops!`] and registers it at module init; devices it creates itself
//! report the kind through [`super::Config::link_ops`].
//!
//! C headers: [`include/net/rtnetlink.h`](srctree/include/net/rtnetlink.h),
//! [`include/net/netlink.h`](srctree/include/net/netlink.h).

use super::registration::{driver_data, setup_nothing, NewLink, PRIV_SIZE};
use super::{NetDevice, Ops};
use crate::rust_bindings::raw;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use kernel::error::{from_result, to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::ForeignOwnable;

/// The largest attribute type a kind may define.
pub(crate) const MAX_ATTR: usize = 7;

/// The type of a kind-specific attribute (`nla_policy.type`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrType {
    /// `NLA_U16`.
    U16,
}

/// The kind-specific attributes of a request (`IFLA_INFO_DATA`), validated against
/// [`LinkOps::ATTRS`] by the core.
pub(crate) struct LinkData<'a> {
    data: *mut *mut raw::nlattr,
    maxtype: usize,
    _p: PhantomData<&'a raw::nlattr>,
}

impl LinkData<'_> {
    fn get(&self, t: u16) -> Option<*mut raw::nlattr> {
        if self.data.is_null() || usize::from(t) > self.maxtype {
            return None;
        }
        // SAFETY: A non-null `data` is the core's array of `maxtype + 1` parsed attributes.
        let a = unsafe { *self.data.add(usize::from(t)) };
        (!a.is_null()).then_some(a)
    }

    /// Returns attribute `t` if present; the policy guarantees a `NLA_U16` attribute has two
    /// bytes of payload.
    pub(crate) fn u16(&self, t: u16) -> Option<u16> {
        // SAFETY: The core validated the attribute as `NLA_U16`.
        self.get(t).map(|a| unsafe { raw::nla_get_u16(a) })
    }

    /// Whether the request carried kind-specific attributes at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_null()
    }
}

/// The message `fill_info` writes to.
pub(crate) struct InfoWriter<'a> {
    skb: *mut raw::sk_buff,
    _p: PhantomData<&'a mut raw::sk_buff>,
}

impl InfoWriter<'_> {
    /// Appends a `u16` attribute (`nla_put_u16`); `EMSGSIZE` when the message is full.
    pub(crate) fn put_u16(&mut self, t: u16, v: u16) -> Result {
        // SAFETY: `skb` is the message being built, valid for the call.
        to_result(unsafe { raw::nla_put_u16(self.skb, c_int::from(t), v) })
    }
}

/// The size of an attribute with `payload` bytes, padding included (`nla_total_size`).
pub(crate) const fn nla_total_size(payload: usize) -> usize {
    const NLA_ALIGNTO: usize = 4;
    const NLA_HDRLEN: usize = 4;
    (NLA_HDRLEN + payload + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1)
}

/// Where `newlink` finds the device named by `IFLA_LINK`.
pub(crate) enum LinkTarget<'a> {
    /// No `IFLA_LINK`.
    Missing,
    /// `IFLA_LINK` names no device of the requesting namespace.
    NotFound,
    /// The device.
    Device(&'a NetDevice),
}

/// A link kind; every callback runs with RTNL held.
pub(crate) trait LinkOps: Ops {
    /// The kind's name (`ip link add ... type NAME`).
    const KIND: &'static CStr;
    /// The kind-specific attributes; entry `i` is attribute type `i + 1`.
    const ATTRS: &'static [AttrType];
    /// Whether devices of this kind return to the initial namespace when theirs is destroyed,
    /// rather than being deleted.
    const NETNS_REFUND: bool = false;

    /// Creates a device: configure and register `dev` with [`NewLink::register`].
    fn newlink(
        rtnl: &super::Rtnl,
        dev: NewLink<'_>,
        link: LinkTarget<'_>,
        data: &LinkData<'_>,
    ) -> Result;

    /// Changes a device of this kind (`ip link set DEV type KIND ...`).
    fn changelink(
        rtnl: &super::Rtnl,
        dev: &NetDevice,
        data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        attrs: &LinkData<'_>,
    ) -> Result;

    /// Returns whether `ip link del` may delete the device.
    fn may_delete(dev: &NetDevice, data: <Self::Data as ForeignOwnable>::Borrowed<'_>) -> bool;

    /// The size [`LinkOps::fill_info`] needs.
    fn info_size() -> usize;

    /// Writes the kind-specific attributes of `dev` (`ip -d link show`).
    fn fill_info(
        dev: &NetDevice,
        data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        out: &mut InfoWriter<'_>,
    ) -> Result;
}

/// A link kind's C operations, type-erased so that a device can name them in
/// [`super::Config::link_ops`].
#[repr(transparent)]
pub(crate) struct LinkOpsHandle(UnsafeCell<raw::rtnl_link_ops>);

// SAFETY: The core writes the `list` field under RTNL (registration), nothing else is written.
unsafe impl Sync for LinkOpsHandle {}

impl LinkOpsHandle {
    /// Returns the C operations.
    pub(crate) fn as_raw(&self) -> *mut raw::rtnl_link_ops {
        self.0.get()
    }
}

/// The static `rtnl_link_ops` of a kind; declare it with [`link_ops!`].
pub(crate) struct LinkOpsReg<T: LinkOps> {
    ops: LinkOpsHandle,
    _t: PhantomData<T>,
}

/// A registered link kind; dropping it unregisters the kind, which deletes the devices of the
/// kind that `dellink` agrees to delete.
pub(crate) struct LinkRegistration<T: LinkOps> {
    reg: &'static LinkOpsReg<T>,
}

impl<T: LinkOps> LinkOpsReg<T> {
    const POLICY: [raw::nla_policy; MAX_ATTR + 1] = {
        // SAFETY: All-zero is `NLA_UNSPEC` with no validation.
        let mut p: [raw::nla_policy; MAX_ATTR + 1] = unsafe { core::mem::zeroed() };
        assert!(T::ATTRS.len() <= MAX_ATTR);
        let mut i = 0;
        while i < T::ATTRS.len() {
            p[i + 1].type_ = match T::ATTRS[i] {
                AttrType::U16 => raw::NLA_U16 as u8,
            };
            i += 1;
        }
        p
    };

    /// Builds the operations.
    pub(crate) const fn new() -> Self {
        // SAFETY: All-zero is a valid `rtnl_link_ops` (no callbacks, empty list head).
        let mut o: raw::rtnl_link_ops = unsafe { core::mem::zeroed() };
        o.kind = T::KIND.as_char_ptr();
        o.priv_size = PRIV_SIZE;
        o.setup = Some(setup_nothing);
        o.netns_refund = T::NETNS_REFUND;
        o.maxtype = T::ATTRS.len() as u32;
        o.policy = &Self::POLICY as *const _ as *const raw::nla_policy;
        o.newlink = Some(Self::newlink_callback);
        o.changelink = Some(Self::changelink_callback);
        o.dellink = Some(Self::dellink_callback);
        o.get_size = Some(Self::get_size_callback);
        o.fill_info = Some(Self::fill_info_callback);
        Self {
            ops: LinkOpsHandle(UnsafeCell::new(o)),
            _t: PhantomData,
        }
    }

    /// Returns the handle devices name in [`super::Config::link_ops`].
    pub(crate) fn handle(&'static self) -> &'static LinkOpsHandle {
        &self.ops
    }

    /// Registers the kind (`rtnl_link_register`).
    pub(crate) fn register(&'static self) -> Result<LinkRegistration<T>> {
        // SAFETY: The operations are static and fully initialised.
        to_result(unsafe { raw::rtnl_link_register(self.ops.as_raw()) })?;
        Ok(LinkRegistration { reg: self })
    }

    /// # Safety
    ///
    /// `dev` is a device of this kind; RTNL is held.
    unsafe fn ours<'a>(
        dev: *const raw::net_device,
    ) -> Option<(&'a NetDevice, <T::Data as ForeignOwnable>::Borrowed<'a>)> {
        // SAFETY: The core passes a valid device.
        let ndev = unsafe { NetDevice::from_raw(dev.cast_mut()) };
        if !ndev.is_driver::<T>() {
            return None;
        }
        // SAFETY: A device of `T` the core works on under RTNL is registered (or being
        // unregistered under the same RTNL hold), so its data is set.
        Some((ndev, unsafe { driver_data::<T>(dev.cast_mut()) }))
    }

    /// # Safety
    ///
    /// Called by the rtnetlink core only, for this kind.
    unsafe extern "C" fn newlink_callback(
        src_net: *mut raw::net,
        dev: *mut raw::net_device,
        tb: *mut *mut raw::nlattr,
        data: *mut *mut raw::nlattr,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls `newlink` under RTNL.
            let rtnl = unsafe { super::Rtnl::assume_held() };
            // SAFETY: `tb` is the core's array of `IFLA_MAX + 1` attributes.
            let link = unsafe { *tb.add(raw::IFLA_LINK as usize) };
            let target = if link.is_null() {
                LinkTarget::Missing
            } else {
                // SAFETY: `IFLA_LINK` is validated as a `u32` by the core's policy; RTNL is held,
                // so a device found stays registered for the call.
                let d =
                    unsafe { raw::__dev_get_by_index(src_net, raw::nla_get_u32(link) as c_int) };
                if d.is_null() {
                    LinkTarget::NotFound
                } else {
                    // SAFETY: As above.
                    LinkTarget::Device(unsafe { NetDevice::from_raw(d) })
                }
            };
            let data = LinkData {
                data,
                maxtype: T::ATTRS.len(),
                _p: PhantomData,
            };
            // SAFETY: The core allocated `dev` for these operations and has not registered it.
            let new = unsafe { NewLink::from_raw(dev) };
            T::newlink(&rtnl, new, target, &data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the rtnetlink core only, for this kind.
    unsafe extern "C" fn changelink_callback(
        dev: *mut raw::net_device,
        _tb: *mut *mut raw::nlattr,
        data: *mut *mut raw::nlattr,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls `changelink` under RTNL, on a device of this kind.
            let (rtnl, (ndev, d)) =
                unsafe { (super::Rtnl::assume_held(), Self::ours(dev).ok_or(EINVAL)?) };
            let attrs = LinkData {
                data,
                maxtype: T::ATTRS.len(),
                _p: PhantomData,
            };
            T::changelink(&rtnl, ndev, d, &attrs)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the rtnetlink core only, for this kind.
    unsafe extern "C" fn dellink_callback(dev: *mut raw::net_device, head: *mut raw::list_head) {
        // SAFETY: The core calls `dellink` under RTNL, on a device of this kind.
        if let Some((ndev, d)) = unsafe { Self::ours(dev) } {
            if T::may_delete(ndev, d) {
                // SAFETY: The device is registered and RTNL is held; `head` is the core's list.
                unsafe { raw::unregister_netdevice_queue(dev, head) };
            }
        }
    }

    /// # Safety
    ///
    /// Called by the rtnetlink core only, for this kind.
    unsafe extern "C" fn get_size_callback(_dev: *const raw::net_device) -> usize {
        T::info_size()
    }

    /// # Safety
    ///
    /// Called by the rtnetlink core only, for this kind.
    unsafe extern "C" fn fill_info_callback(
        skb: *mut raw::sk_buff,
        dev: *const raw::net_device,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The core calls `fill_info` under RTNL (or RCU with the device alive), on
            // a device of this kind.
            let (ndev, d) = unsafe { Self::ours(dev).ok_or(EINVAL)? };
            let mut w = InfoWriter {
                skb,
                _p: PhantomData,
            };
            T::fill_info(ndev, d, &mut w)?;
            Ok(0)
        })
    }
}

impl<T: LinkOps> Drop for LinkRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: Registered by `LinkOpsReg::register`.
        unsafe { raw::rtnl_link_unregister(self.reg.ops.as_raw()) };
    }
}

/// Declares the static link kind `$name` of the [`LinkOps`] implementation `$t`.
macro_rules! link_ops {
    ($vis:vis static $name:ident: $t:ty) => {
        $vis static $name: $crate::rust_bindings::net::LinkOpsReg<$t> =
            $crate::rust_bindings::net::LinkOpsReg::new();
    };
}

pub(crate) use link_ops;
