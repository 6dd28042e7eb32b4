// SPDX-License-Identifier: GPL-2.0

//! The operations of a network device driver: `net_device_ops` ([`DeviceOps`]) and
//! `header_ops` ([`HeaderOps`]), and [`Ops`], everything a driver's device type provides
//! (with [`EthtoolOps`]).
//!
//! C: `include/linux/netdevice.h`.

use super::ethtool::EthtoolOps;
use super::registration::{driver_data, take_data};
use super::{NetDevice, SkBuff, SkBuffRef};
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use kernel::error::{from_result, Result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::{c_int, c_uint, c_ushort, c_void};
use kernel::prelude::*;
use kernel::types::ForeignOwnable;

/// The multicast address list of a device, as `ndo_set_rx_mode` sees it.
///
/// # Invariants
///
/// `dev` is valid and its address lock (`netif_addr_lock_bh`) is held for `'a`: the core calls
/// `ndo_set_rx_mode` under it, and only `Adapter::set_rx_mode_callback` creates this type.
pub(crate) struct McList<'a> {
    dev: &'a NetDevice,
}

impl McList<'_> {
    /// Calls `f` with every address of the list, in the list's order.
    ///
    /// # Errors
    ///
    /// `EINVAL` if the device's addresses are not 20 bytes long (not an IPoIB device).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8; 20])) -> Result {
        let dev = self.dev.as_raw();
        // SAFETY: `dev` is valid (type invariant).
        if unsafe { (*dev).addr_len } != 20 {
            return Err(EINVAL);
        }
        // SAFETY: The address lock is held (type invariant), so the list and its entries stay
        // as they are during the walk.
        let mut ha = unsafe { raw::netdev_mc_first(dev) };
        while !ha.is_null() {
            // SAFETY: `ha` is an entry of the list (as above); its `addr` holds `addr_len`
            // (checked: 20) valid bytes.
            let addr = unsafe { &*(*ha).addr.as_ptr().cast::<[u8; 20]>() };
            f(addr);
            // SAFETY: As above.
            ha = unsafe { raw::netdev_mc_next(dev, ha) };
        }
        Ok(())
    }
}

/// Link statistics reported through `ndo_get_stats64`.
#[derive(Default, Clone, Copy)]
pub(crate) struct LinkStats {
    pub(crate) rx_packets: u64,
    pub(crate) rx_bytes: u64,
    pub(crate) rx_dropped: u64,
    pub(crate) rx_errors: u64,
    pub(crate) multicast: u64,
    pub(crate) tx_packets: u64,
    pub(crate) tx_bytes: u64,
    pub(crate) tx_dropped: u64,
    pub(crate) tx_errors: u64,
}

/// Operations of a network device driver (`net_device_ops`).
#[vtable]
pub(crate) trait DeviceOps: Sized + 'static {
    /// The driver's per-device data, kept in the device's private area.
    type Data: ForeignOwnable + Send + Sync;

    /// `ndo_open`: the interface is brought up (RTNL held).
    fn open(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_stop`: the interface is brought down (RTNL held).
    fn stop(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_start_xmit`: send `skb` (which starts with the hard header `create` pushed); the
    /// packet is always consumed.
    fn start_xmit(
        _skb: SkBuff,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_get_stats64`.
    fn get_stats64(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> LinkStats {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_change_mtu`: validate and apply `new_mtu` (RTNL held).
    fn change_mtu(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _new_mtu: i32,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_set_rx_mode`: the multicast list or flags changed (atomic context, the address
    /// lock held: `mc` may be read only here).
    fn set_rx_mode(
        _dev: &NetDevice,
        _mc: &McList<'_>,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_tx_timeout`: the queue has been stopped for longer than the watchdog timeout.
    fn tx_timeout(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_uninit`: the device is being unregistered (RTNL held, after `stop`); the data
    /// stays until [`DeviceOps::release`].
    fn uninit(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_get_iflink`: the ifindex of the device this one is stacked on.
    fn get_iflink(_dev: &NetDevice, _data: <Self::Data as ForeignOwnable>::Borrowed<'_>) -> i32 {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ndo_fix_features`: the `NETIF_F_*` features the device can have now out of `features`
    /// (RTNL held).
    fn fix_features(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _features: u64,
    ) -> u64 {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// Called with the data when the device is freed (unregistered and unreferenced, process
    /// context, RTNL not held), or when its configuration or registration failed (then maybe
    /// under RTNL).
    fn release(data: Self::Data) {
        drop(data);
    }
}

/// The link-level header operations of a device (`header_ops`).
#[vtable]
pub(crate) trait HeaderOps: DeviceOps {
    /// `header_ops.create`: push the link-level header for a packet of `proto` (host order) to
    /// `daddr` (`None`: the broadcast address); returns the header length.
    fn create_header(
        _skb: &mut SkBuffRef,
        _dev: &NetDevice,
        _proto: u16,
        _daddr: Option<&[u8]>,
    ) -> Result<i32> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

/// Everything the device type of a driver provides: its `net_device_ops`, `header_ops` and
/// `ethtool_ops`, each a `#[vtable]` trait of its own.
pub(crate) trait Ops: DeviceOps + HeaderOps + EthtoolOps {}

impl<T: DeviceOps + HeaderOps + EthtoolOps> Ops for T {}

/// The C callbacks of `net_device_ops` and `header_ops` for `T`.
pub(super) struct Adapter<T: Ops>(PhantomData<T>);

impl<T: Ops> Adapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of `T`, inside one of its operations.
    unsafe fn data<'a>(dev: *mut raw::net_device) -> <T::Data as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: Per the function's contract.
        unsafe { driver_data::<T>(dev) }
    }

    /// `priv_destructor`: drops the driver data once the device is unregistered and
    /// unreferenced (or its registration failed).
    ///
    /// # Safety
    ///
    /// Called by the networking core only.
    pub(super) unsafe extern "C" fn destructor_callback(dev: *mut raw::net_device) {
        // SAFETY: No operation uses the device any more.
        if let Some(data) = unsafe { take_data::<T>(dev) } {
            T::release(data);
        }
    }

    /// # Safety
    ///
    /// Called by the networking core only, under RTNL.
    unsafe extern "C" fn uninit_callback(dev: *mut raw::net_device) {
        // SAFETY: As in `open_callback`; `ndo_uninit` runs under RTNL, before the data is
        // dropped.
        let (ndev, data, rtnl) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                super::Rtnl::assume_held(),
            )
        };
        T::uninit(&rtnl, ndev, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn get_iflink_callback(dev: *const raw::net_device) -> c_int {
        let dev = dev.cast_mut();
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        T::get_iflink(ndev, data)
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn open_callback(dev: *mut raw::net_device) -> c_int {
        from_result(|| {
            // SAFETY: The core calls ndo ops on a registered device, `ndo_open` under RTNL.
            let (ndev, data, rtnl) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                )
            };
            T::open(&rtnl, ndev, data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn stop_callback(dev: *mut raw::net_device) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data, rtnl) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                )
            };
            T::stop(&rtnl, ndev, data)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only, with an skb the driver now owns.
    unsafe extern "C" fn start_xmit_callback(
        skb: *mut raw::sk_buff,
        dev: *mut raw::net_device,
    ) -> raw::netdev_tx_t {
        // SAFETY: As in `open_callback`; `ndo_start_xmit` hands over the skb.
        let (ndev, data, skb) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                SkBuff::from_raw(skb),
            )
        };
        if let Some(skb) = skb {
            T::start_xmit(skb, ndev, data);
        }
        raw::netdev_tx_NETDEV_TX_OK
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn get_stats64_callback(
        dev: *mut raw::net_device,
        stats: *mut raw::rtnl_link_stats64,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let s = T::get_stats64(ndev, data);
        // SAFETY: The core passes a valid, writable `rtnl_link_stats64`. It may be only 4-byte
        // aligned (`rtnl_fill_stats` hands out a netlink attribute's payload, padded for 8-byte
        // alignment only on architectures without efficient unaligned access), so no reference
        // to it is formed: the fields are written one by one, unaligned.
        unsafe {
            (&raw mut (*stats).rx_packets).write_unaligned(s.rx_packets);
            (&raw mut (*stats).rx_bytes).write_unaligned(s.rx_bytes);
            (&raw mut (*stats).rx_dropped).write_unaligned(s.rx_dropped);
            (&raw mut (*stats).rx_errors).write_unaligned(s.rx_errors);
            (&raw mut (*stats).multicast).write_unaligned(s.multicast);
            (&raw mut (*stats).tx_packets).write_unaligned(s.tx_packets);
            (&raw mut (*stats).tx_bytes).write_unaligned(s.tx_bytes);
            (&raw mut (*stats).tx_dropped).write_unaligned(s.tx_dropped);
            (&raw mut (*stats).tx_errors).write_unaligned(s.tx_errors);
        }
    }

    /// # Safety
    ///
    /// Called by the networking core only, under RTNL (`__netdev_update_features`).
    unsafe extern "C" fn fix_features_callback(
        dev: *mut raw::net_device,
        features: raw::netdev_features_t,
    ) -> raw::netdev_features_t {
        // SAFETY: As in `open_callback`; the core holds RTNL for the call.
        let (ndev, data, rtnl) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                super::Rtnl::assume_held(),
            )
        };
        T::fix_features(&rtnl, ndev, data, features)
    }

    /// # Safety
    ///
    /// Called by the networking core only, under RTNL.
    unsafe extern "C" fn change_mtu_callback(dev: *mut raw::net_device, new_mtu: c_int) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`; the core holds RTNL for the call.
            let (ndev, data, rtnl) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                )
            };
            T::change_mtu(&rtnl, ndev, data, new_mtu)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the networking core only, with the device's address lock held
    /// (`__dev_set_rx_mode` under `netif_addr_lock_bh`).
    unsafe extern "C" fn set_rx_mode_callback(dev: *mut raw::net_device) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        // INVARIANT: The core holds the address lock for this call, which `mc` does not
        // outlive.
        let mc = McList { dev: ndev };
        T::set_rx_mode(ndev, &mc, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only.
    unsafe extern "C" fn tx_timeout_callback(dev: *mut raw::net_device, _txqueue: c_uint) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        T::tx_timeout(ndev, data);
    }

    /// # Safety
    ///
    /// Called by the networking core only, for a device of this driver.
    unsafe extern "C" fn create_callback(
        skb: *mut raw::sk_buff,
        dev: *mut raw::net_device,
        type_: c_ushort,
        daddr: *const c_void,
        _saddr: *const c_void,
        _len: c_uint,
    ) -> c_int {
        // SAFETY: `dev` is valid (the core builds a header for a packet it is about to send on
        // it); `skb` is the caller's and valid for the call; `daddr`, when set, points to
        // `addr_len` bytes.
        let (ndev, skb, daddr) = unsafe {
            let ndev = NetDevice::from_raw(dev);
            let daddr = if daddr.is_null() {
                None
            } else {
                Some(core::slice::from_raw_parts(
                    daddr.cast::<u8>(),
                    usize::from((*dev).addr_len),
                ))
            };
            (ndev, SkBuffRef::from_raw(skb), daddr)
        };
        match T::create_header(skb, ndev, type_, daddr) {
            Ok(len) => len,
            Err(e) => e.to_errno(),
        }
    }

    const OPS: raw::net_device_ops = raw::net_device_ops {
        ndo_open: if T::HAS_OPEN {
            Some(Self::open_callback)
        } else {
            None
        },
        ndo_stop: if T::HAS_STOP {
            Some(Self::stop_callback)
        } else {
            None
        },
        ndo_start_xmit: if T::HAS_START_XMIT {
            Some(Self::start_xmit_callback)
        } else {
            None
        },
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64_callback)
        } else {
            None
        },
        ndo_change_mtu: if T::HAS_CHANGE_MTU {
            Some(Self::change_mtu_callback)
        } else {
            None
        },
        ndo_set_rx_mode: if T::HAS_SET_RX_MODE {
            Some(Self::set_rx_mode_callback)
        } else {
            None
        },
        ndo_tx_timeout: if T::HAS_TX_TIMEOUT {
            Some(Self::tx_timeout_callback)
        } else {
            None
        },
        ndo_uninit: if T::HAS_UNINIT {
            Some(Self::uninit_callback)
        } else {
            None
        },
        ndo_get_iflink: if T::HAS_GET_IFLINK {
            Some(Self::get_iflink_callback)
        } else {
            None
        },
        ndo_fix_features: if T::HAS_FIX_FEATURES {
            Some(Self::fix_features_callback)
        } else {
            None
        },
        // SAFETY: All other operations are `None`, as in a C initialiser.
        ..unsafe { core::mem::MaybeUninit::<raw::net_device_ops>::zeroed().assume_init() }
    };

    const HEADER_OPS: raw::header_ops = raw::header_ops {
        create: if T::HAS_CREATE_HEADER {
            Some(Self::create_callback)
        } else {
            None
        },
        // SAFETY: All other operations are `None`.
        ..unsafe { core::mem::MaybeUninit::<raw::header_ops>::zeroed().assume_init() }
    };

    pub(super) const fn build_ops() -> &'static raw::net_device_ops {
        &Self::OPS
    }

    pub(super) const fn build_header_ops() -> &'static raw::header_ops {
        &Self::HEADER_OPS
    }
}
