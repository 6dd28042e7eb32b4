// SPDX-License-Identifier: GPL-2.0

//! The ethtool operations of a network device driver (`struct ethtool_ops`).
//!
//! C: `include/linux/ethtool.h`.

use super::ops::DeviceOps;
use super::registration::driver_data;
use super::NetDevice;
use crate::rust_bindings::raw;
use core::marker::PhantomData;
use kernel::error::{from_result, Result, VTABLE_DEFAULT_ERROR};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::ForeignOwnable;

/// What `ethtool -i` shows (`struct ethtool_drvinfo`).
#[derive(Default)]
pub(crate) struct DrvInfo {
    pub(crate) driver: [u8; 32],
    pub(crate) fw_version: [u8; 32],
    pub(crate) bus_info: [u8; 32],
}

/// Receive interrupt moderation (`ethtool -c`/`-C` `rx-usecs`, `rx-frames`).
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Coalesce {
    /// `rx_coalesce_usecs`.
    pub(crate) rx_usecs: u32,
    /// `rx_max_coalesced_frames`.
    pub(crate) rx_frames: u32,
}

/// Copies `s` into a NUL-padded C string field, truncating it.
pub(crate) fn fill_cstr(dst: &mut [u8; 32], s: &[u8]) {
    let n = s.len().min(dst.len() - 1);
    dst.fill(0);
    dst[..n].copy_from_slice(&s[..n]);
}

/// What `ethtool DEV` shows (`ethtool_link_ksettings.base`).
pub(crate) enum LinkSettings {
    /// Speed and duplex unknown (no carrier).
    Unknown,
    /// Full duplex at `speed` Mbit/s, autonegotiated, port type "Other".
    Full {
        /// Mbit/s.
        speed: u32,
    },
}

/// The ring sizes of a device (`ethtool -g`): entries of its receive and send rings, and
/// the most `ethtool -G` may ask for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RingParam {
    /// Receive ring entries.
    pub(crate) rx: u32,
    /// Send ring entries.
    pub(crate) tx: u32,
    /// The most receive ring entries.
    pub(crate) rx_max: u32,
    /// The most send ring entries.
    pub(crate) tx_max: u32,
}

/// The ethtool operations of a device (`ethtool_ops`).
#[vtable]
pub(crate) trait EthtoolOps: DeviceOps {
    /// `ethtool_ops.get_drvinfo`.
    fn get_drvinfo(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _info: &mut DrvInfo,
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_link_ksettings` (RTNL held).
    fn get_link_ksettings(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Result<LinkSettings> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_ethtool_stats` (`ethtool -S`): fills `out`, one value per name of
    /// [`EthtoolOps::ethtool_stat_names`].
    fn get_ethtool_stats(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _out: &mut [u64],
    ) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// The names of the `ethtool -S` statistics (at most 31 bytes each).
    fn ethtool_stat_names() -> &'static [&'static str] {
        &[]
    }

    /// `ethtool_ops.get_coalesce` (`ethtool -c`): receive interrupt moderation.
    fn get_coalesce(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> Coalesce {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.set_coalesce` (`ethtool -C`); only `rx-usecs` and `rx-frames` are
    /// accepted by the core.
    fn set_coalesce(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _c: Coalesce,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.get_ringparam` (`ethtool -g`).
    fn get_ringparam(
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
    ) -> RingParam {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// `ethtool_ops.set_ringparam` (`ethtool -G`, RTNL held): `rx` and `tx` entries. The
    /// core has checked them against the maxima of [`EthtoolOps::get_ringparam`] and
    /// refused mini and jumbo rings (their maxima are 0).
    fn set_ringparam(
        _rtnl: &super::Rtnl,
        _dev: &NetDevice,
        _data: <Self::Data as ForeignOwnable>::Borrowed<'_>,
        _rx: u32,
        _tx: u32,
    ) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

/// `-EOPNOTSUPP`, as the C callbacks return it.
const EOPNOTSUPP_ERRNO: c_int = -(raw::EOPNOTSUPP as c_int);

/// The C callbacks of `ethtool_ops` for `T`.
pub(super) struct EthtoolAdapter<T: EthtoolOps>(PhantomData<T>);

impl<T: EthtoolOps> EthtoolAdapter<T> {
    /// # Safety
    ///
    /// `dev` must be a registered device of `T`, inside one of its operations.
    unsafe fn data<'a>(dev: *mut raw::net_device) -> <T::Data as ForeignOwnable>::Borrowed<'a> {
        // SAFETY: Per the function's contract.
        unsafe { driver_data::<T>(dev) }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_drvinfo_callback(
        dev: *mut raw::net_device,
        info: *mut raw::ethtool_drvinfo,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let mut d = DrvInfo::default();
        T::get_drvinfo(ndev, data, &mut d);
        // SAFETY: The core passes a valid, writable `ethtool_drvinfo`; the three fields are
        // 32-byte `char` arrays, as `DrvInfo`'s, and the copies keep a final NUL.
        unsafe {
            let info = &mut *info;
            for (dst, src) in [
                (&mut info.driver, &d.driver),
                (&mut info.fw_version, &d.fw_version),
                (&mut info.bus_info, &d.bus_info),
            ] {
                core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), 32);
            }
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, under RTNL.
    unsafe extern "C" fn get_link_ksettings_callback(
        dev: *mut raw::net_device,
        cmd: *mut raw::ethtool_link_ksettings,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`.
            let (ndev, data) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
            let s = T::get_link_ksettings(ndev, data)?;
            // SAFETY: The core passes a valid, writable, zeroed `ethtool_link_ksettings`.
            let base = unsafe { &mut (*cmd).base };
            match s {
                LinkSettings::Unknown => {
                    base.speed = raw::SPEED_UNKNOWN as u32;
                    base.duplex = raw::DUPLEX_UNKNOWN as u8;
                }
                LinkSettings::Full { speed } => {
                    base.speed = speed;
                    base.duplex = raw::DUPLEX_FULL as u8;
                    base.phy_address = 0xff;
                    base.autoneg = raw::AUTONEG_ENABLE as u8;
                    base.port = raw::PORT_OTHER as u8;
                }
            }
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_sset_count_callback(_dev: *mut raw::net_device, sset: c_int) -> c_int {
        if sset == raw::ethtool_stringset_ETH_SS_STATS as c_int {
            T::ethtool_stat_names().len() as c_int
        } else {
            EOPNOTSUPP_ERRNO
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, with room for `get_sset_count` strings.
    unsafe extern "C" fn get_strings_callback(
        _dev: *mut raw::net_device,
        sset: u32,
        data: *mut u8,
    ) {
        if sset != raw::ethtool_stringset_ETH_SS_STATS {
            return;
        }
        const LEN: usize = raw::ETH_GSTRING_LEN as usize;
        for (i, name) in T::ethtool_stat_names().iter().enumerate() {
            let mut buf = [0u8; LEN];
            let n = name.len().min(LEN - 1);
            buf[..n].copy_from_slice(&name.as_bytes()[..n]);
            // SAFETY: The core passes `count * ETH_GSTRING_LEN` writable bytes.
            unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), data.add(i * LEN), LEN) };
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, with room for `get_sset_count` values.
    unsafe extern "C" fn get_ethtool_stats_callback(
        dev: *mut raw::net_device,
        _stats: *mut raw::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: As in `open_callback`; `data` holds one `u64` per statistic.
        let (ndev, d, out) = unsafe {
            (
                NetDevice::from_raw(dev),
                Self::data(dev),
                core::slice::from_raw_parts_mut(data, T::ethtool_stat_names().len()),
            )
        };
        T::get_ethtool_stats(ndev, d, out);
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_coalesce_callback(
        dev: *mut raw::net_device,
        c: *mut raw::ethtool_coalesce,
        _kc: *mut raw::kernel_ethtool_coalesce,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        // SAFETY: As in `open_callback`.
        let (ndev, d) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let v = T::get_coalesce(ndev, d);
        // SAFETY: The core passes a valid, writable `ethtool_coalesce`.
        unsafe {
            (*c).rx_coalesce_usecs = v.rx_usecs;
            (*c).rx_max_coalesced_frames = v.rx_frames;
        }
        0
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn set_coalesce_callback(
        dev: *mut raw::net_device,
        c: *mut raw::ethtool_coalesce,
        _kc: *mut raw::kernel_ethtool_coalesce,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`; the core passes a valid `ethtool_coalesce`.
            let (ndev, d, v) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    Coalesce {
                        rx_usecs: (*c).rx_coalesce_usecs,
                        rx_frames: (*c).rx_max_coalesced_frames,
                    },
                )
            };
            T::set_coalesce(ndev, d, v)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the ethtool core only.
    unsafe extern "C" fn get_ringparam_callback(
        dev: *mut raw::net_device,
        r: *mut raw::ethtool_ringparam,
        _kr: *mut raw::kernel_ethtool_ringparam,
        _extack: *mut raw::netlink_ext_ack,
    ) {
        // SAFETY: As in `open_callback`.
        let (ndev, d) = unsafe { (NetDevice::from_raw(dev), Self::data(dev)) };
        let v = T::get_ringparam(ndev, d);
        // SAFETY: The core passes a valid, writable, zeroed `ethtool_ringparam`.
        unsafe {
            (*r).rx_max_pending = v.rx_max;
            (*r).tx_max_pending = v.tx_max;
            (*r).rx_pending = v.rx;
            (*r).tx_pending = v.tx;
        }
    }

    /// # Safety
    ///
    /// Called by the ethtool core only, under RTNL.
    unsafe extern "C" fn set_ringparam_callback(
        dev: *mut raw::net_device,
        r: *mut raw::ethtool_ringparam,
        _kr: *mut raw::kernel_ethtool_ringparam,
        _extack: *mut raw::netlink_ext_ack,
    ) -> c_int {
        from_result(|| {
            // SAFETY: As in `open_callback`; the core passes a valid `ethtool_ringparam` and
            // holds RTNL (`ethnl_set_rings`, `dev_ethtool`).
            let (ndev, d, rtnl, rx, tx) = unsafe {
                (
                    NetDevice::from_raw(dev),
                    Self::data(dev),
                    super::Rtnl::assume_held(),
                    (*r).rx_pending,
                    (*r).tx_pending,
                )
            };
            T::set_ringparam(&rtnl, ndev, d, rx, tx)?;
            Ok(0)
        })
    }

    const ETHTOOL_OPS: raw::ethtool_ops = raw::ethtool_ops {
        supported_coalesce_params: if T::HAS_SET_COALESCE {
            raw::ETHTOOL_COALESCE_RX_USECS | raw::ETHTOOL_COALESCE_RX_MAX_FRAMES
        } else {
            0
        },
        get_sset_count: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_sset_count_callback)
        } else {
            None
        },
        get_strings: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_strings_callback)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats_callback)
        } else {
            None
        },
        get_coalesce: if T::HAS_GET_COALESCE {
            Some(Self::get_coalesce_callback)
        } else {
            None
        },
        set_coalesce: if T::HAS_SET_COALESCE {
            Some(Self::set_coalesce_callback)
        } else {
            None
        },
        get_ringparam: if T::HAS_GET_RINGPARAM {
            Some(Self::get_ringparam_callback)
        } else {
            None
        },
        set_ringparam: if T::HAS_SET_RINGPARAM {
            Some(Self::set_ringparam_callback)
        } else {
            None
        },
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo_callback)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings_callback)
        } else {
            None
        },
        get_link: Some(raw::ethtool_op_get_link),
        // SAFETY: All other operations are `None` and capabilities zero, as in C.
        ..unsafe { core::mem::MaybeUninit::<raw::ethtool_ops>::zeroed().assume_init() }
    };

    pub(super) const fn build() -> &'static raw::ethtool_ops {
        &Self::ETHTOOL_OPS
    }
}
