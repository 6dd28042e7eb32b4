// SPDX-License-Identifier: GPL-2.0

//! RDMA devices (`struct ib_device`) and their ports.

use crate::rust_bindings::raw;
use core::fmt;
use core::ops::RangeInclusive;
use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::types::Opaque;

/// An RDMA device registered with ib_core.
///
/// # Invariants
///
/// The wrapped `ib_device` is registered with ib_core for as long as a reference to this type
/// exists: references are only handed out to callbacks that ib_core runs between the device's
/// registration and the end of its `remove` callback for the client.
#[repr(transparent)]
pub(crate) struct Device(Opaque<raw::ib_device>);

// SAFETY: `ib_device` is designed to be used from any thread: ib_core serialises what needs it
// and every method here calls thread-safe ib_core functions.
unsafe impl Sync for Device {}
// SAFETY: As above; nothing here is tied to the thread that created the reference.
unsafe impl Send for Device {}

impl Device {
    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a registered `ib_device` that stays registered for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut raw::ib_device) -> &'a Self {
        // SAFETY: `Device` is `repr(transparent)` over `Opaque<ib_device>`, which has the layout
        // of `ib_device`; the caller guarantees validity for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the raw pointer to the `ib_device`.
    pub(crate) fn as_raw(&self) -> *mut raw::ib_device {
        self.0.get()
    }

    /// Returns the device's name (`rxe0`, `mlx4_0`, ...).
    ///
    /// A concurrent `rdma dev set NAME name NEW` rewrites the name in place, so a reader racing
    /// with it may see a mix of both names; the C ipoib's log lines have the same property.
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: By the type invariant the device is valid. `ib_device.name` is an array embedded
        // in it that ib_core keeps NUL-terminated (`strscpy`), so the pointer is a valid C string
        // for as long as the device, i.e. for the lifetime of `&self`.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Returns the range of valid port numbers (`rdma_start_port()..=rdma_end_port()`).
    pub(crate) fn ports(&self) -> RangeInclusive<u32> {
        // SAFETY: The device is valid by the type invariant.
        let (start, end) = unsafe {
            (
                raw::rdma_start_port(self.as_raw()),
                raw::rdma_end_port(self.as_raw()),
            )
        };
        start..=end
    }

    /// Returns the transport protocol of `port`.
    pub(crate) fn protocol(&self, port: u32) -> Protocol {
        let dev = self.as_raw();
        // SAFETY: The device is valid by the type invariant; the helpers only read the port's
        // immutable core capability flags and accept any port number within `ports()`.
        unsafe {
            if raw::rdma_protocol_ib(dev, port) {
                Protocol::Ib
            } else if raw::rdma_protocol_roce(dev, port) {
                Protocol::Roce
            } else if raw::rdma_protocol_iwarp(dev, port) {
                Protocol::Iwarp
            } else {
                Protocol::Other
            }
        }
    }

    /// Returns the link layer of `port` (`rdma_port_get_link_layer`).
    pub(crate) fn link_layer(&self, port: u32) -> LinkLayer {
        // SAFETY: The device is valid by the type invariant.
        let ll = unsafe { raw::rdma_port_get_link_layer(self.as_raw(), port) };
        match ll {
            raw::rdma_link_layer_IB_LINK_LAYER_INFINIBAND => LinkLayer::Infiniband,
            raw::rdma_link_layer_IB_LINK_LAYER_ETHERNET => LinkLayer::Ethernet,
            _ => LinkLayer::Unspecified,
        }
    }

    /// Queries the attributes of `port` (`ib_query_port`).
    ///
    /// Must not be called under RTNL: soft-RoCE takes it inside (`ib_get_eth_speed`).
    pub(crate) fn query_port(&self, port: u32) -> Result<PortAttr> {
        let mut attr = raw::ib_port_attr::default();
        // SAFETY: The device is valid by the type invariant and `attr` is a valid, writable
        // `ib_port_attr`.
        to_result(unsafe { raw::ib_query_port(self.as_raw(), port, &mut attr) })?;
        Ok(PortAttr(attr))
    }

    /// Returns the port state ib_core last cached (`ib_get_cached_port_state`).
    ///
    /// Unlike [`Device::query_port`] this takes no driver lock, so it may be called under RTNL
    /// (soft-RoCE's `query_port` takes RTNL itself).
    pub(crate) fn cached_port_state(&self, port: u32) -> Result<PortState> {
        let mut state: raw::ib_port_state = 0;
        // SAFETY: The device is valid and `state` is writable.
        to_result(unsafe { raw::ib_get_cached_port_state(self.as_raw(), port, &mut state) })?;
        Ok(PortState::from_raw(state))
    }

    /// Reads entry `index` of the GID table of `port` (`rdma_query_gid`).
    pub(crate) fn query_gid(&self, port: u32, index: u32) -> Result<Gid> {
        let index = i32::try_from(index).map_err(|_| EINVAL)?;
        let mut gid = raw::ib_gid::default();
        // SAFETY: The device is valid by the type invariant and `gid` is a valid, writable
        // `union ib_gid`.
        to_result(unsafe { raw::rdma_query_gid(self.as_raw(), port, index, &mut gid) })?;
        // SAFETY: Every bit pattern is a valid `[u8; 16]`, the `raw` member of the union.
        Ok(Gid(unsafe { gid.raw }))
    }

    /// Reads entry `index` of the P_Key table of `port` (`ib_query_pkey`).
    pub(crate) fn query_pkey(&self, port: u32, index: u16) -> Result<u16> {
        let mut pkey = 0u16;
        // SAFETY: The device is valid by the type invariant and `pkey` is writable.
        to_result(unsafe { raw::ib_query_pkey(self.as_raw(), port, index, &mut pkey) })?;
        Ok(pkey)
    }

    /// Returns the index of `pkey` in the P_Key table of `port` as the device reports it now,
    /// preferring a full-member entry (`ib_find_pkey`; may sleep); `None` if the table does not
    /// hold it.
    pub(crate) fn find_pkey(&self, port: u32, pkey: u16) -> Option<u16> {
        let mut index = 0u16;
        // SAFETY: The device is valid by the type invariant and `index` is writable.
        let r = unsafe { raw::ib_find_pkey(self.as_raw(), port, pkey, &mut index) };
        (r == 0).then_some(index)
    }

    /// Returns the index of `pkey` in the cached P_Key table of `port`, preferring a
    /// full-member entry (`ib_find_cached_pkey`); `None` if the table does not hold it.
    pub(crate) fn find_cached_pkey(&self, port: u32, pkey: u16) -> Option<u16> {
        let mut index = 0u16;
        // SAFETY: The device is valid by the type invariant and `index` is writable.
        let r = unsafe { raw::ib_find_cached_pkey(self.as_raw(), port, pkey, &mut index) };
        (r == 0).then_some(index)
    }
}

/// The transport protocol of a port, as the `rdma_protocol_*()` helpers classify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// Native InfiniBand.
    Ib,
    /// RoCE v1 or v2 (IB transport over Ethernet), e.g. soft-RoCE `rdma_rxe`.
    Roce,
    /// iWARP (e.g. `siw`): no UD, no multicast.
    Iwarp,
    /// Anything else (USNIC, OPA-specific, ...).
    Other,
}

/// The link layer of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkLayer {
    /// `IB_LINK_LAYER_UNSPECIFIED`.
    Unspecified,
    /// `IB_LINK_LAYER_INFINIBAND`.
    Infiniband,
    /// `IB_LINK_LAYER_ETHERNET`.
    Ethernet,
}

impl fmt::Display for LinkLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The spelling of /sys/class/infiniband/*/ports/*/link_layer.
        f.write_str(match self {
            Self::Unspecified => "Unknown",
            Self::Infiniband => "InfiniBand",
            Self::Ethernet => "Ethernet",
        })
    }
}

/// The logical state of a port (`enum ib_port_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortState {
    /// `IB_PORT_NOP`.
    Nop,
    /// `IB_PORT_DOWN`.
    Down,
    /// `IB_PORT_INIT`: link up, waiting for the subnet manager.
    Init,
    /// `IB_PORT_ARMED`.
    Armed,
    /// `IB_PORT_ACTIVE`.
    Active,
    /// `IB_PORT_ACTIVE_DEFER`.
    ActiveDefer,
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The spelling of /sys/class/infiniband/*/ports/*/state.
        f.write_str(match self {
            Self::Nop => "NOP",
            Self::Down => "DOWN",
            Self::Init => "INIT",
            Self::Armed => "ARMED",
            Self::Active => "ACTIVE",
            Self::ActiveDefer => "ACTIVE_DEFER",
        })
    }
}

/// An IB MTU (`enum ib_mtu`): the payload size of one packet on the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mtu {
    /// 256 bytes.
    Mtu256,
    /// 512 bytes.
    Mtu512,
    /// 1024 bytes.
    Mtu1024,
    /// 2048 bytes.
    Mtu2048,
    /// 4096 bytes.
    Mtu4096,
}

impl Mtu {
    pub(super) fn from_raw(mtu: raw::ib_mtu) -> Option<Self> {
        Some(match mtu {
            raw::ib_mtu_IB_MTU_256 => Self::Mtu256,
            raw::ib_mtu_IB_MTU_512 => Self::Mtu512,
            raw::ib_mtu_IB_MTU_1024 => Self::Mtu1024,
            raw::ib_mtu_IB_MTU_2048 => Self::Mtu2048,
            raw::ib_mtu_IB_MTU_4096 => Self::Mtu4096,
            _ => return None,
        })
    }

    /// Returns the MTU of `bytes` bytes, if it is one (`ib_mtu_int_to_enum` for exact sizes).
    pub(crate) fn from_bytes(bytes: u32) -> Option<Self> {
        Some(match bytes {
            256 => Self::Mtu256,
            512 => Self::Mtu512,
            1024 => Self::Mtu1024,
            2048 => Self::Mtu2048,
            4096 => Self::Mtu4096,
            _ => return None,
        })
    }

    pub(super) fn to_raw(self) -> raw::ib_mtu {
        match self {
            Self::Mtu256 => raw::ib_mtu_IB_MTU_256,
            Self::Mtu512 => raw::ib_mtu_IB_MTU_512,
            Self::Mtu1024 => raw::ib_mtu_IB_MTU_1024,
            Self::Mtu2048 => raw::ib_mtu_IB_MTU_2048,
            Self::Mtu4096 => raw::ib_mtu_IB_MTU_4096,
        }
    }

    /// Returns the MTU in bytes (`ib_mtu_enum_to_int`).
    pub(crate) fn bytes(self) -> u32 {
        match self {
            Self::Mtu256 => 256,
            Self::Mtu512 => 512,
            Self::Mtu1024 => 1024,
            Self::Mtu2048 => 2048,
            Self::Mtu4096 => 4096,
        }
    }
}

/// The attributes of a port at the time of the query (`struct ib_port_attr`).
pub(crate) struct PortAttr(raw::ib_port_attr);

impl PortState {
    fn from_raw(state: raw::ib_port_state) -> Self {
        match state {
            raw::ib_port_state_IB_PORT_DOWN => Self::Down,
            raw::ib_port_state_IB_PORT_INIT => Self::Init,
            raw::ib_port_state_IB_PORT_ARMED => Self::Armed,
            raw::ib_port_state_IB_PORT_ACTIVE => Self::Active,
            raw::ib_port_state_IB_PORT_ACTIVE_DEFER => Self::ActiveDefer,
            _ => Self::Nop,
        }
    }
}

impl PortAttr {
    /// Returns the logical port state.
    pub(crate) fn state(&self) -> PortState {
        PortState::from_raw(self.0.state)
    }

    /// Returns the active MTU, `None` if the provider reported a value outside `enum ib_mtu`.
    pub(crate) fn active_mtu(&self) -> Option<Mtu> {
        Mtu::from_raw(self.0.active_mtu)
    }

    /// Returns the largest MTU the port supports.
    pub(crate) fn max_mtu(&self) -> Option<Mtu> {
        Mtu::from_raw(self.0.max_mtu)
    }

    /// Returns the raw `active_speed` (`enum ib_port_speed`).
    pub(crate) fn active_speed(&self) -> u16 {
        self.0.active_speed
    }

    /// Returns the raw `active_width` (`enum ib_port_width`).
    pub(crate) fn active_width(&self) -> u8 {
        self.0.active_width
    }

    /// Returns the number of GID table entries.
    pub(crate) fn gid_tbl_len(&self) -> u32 {
        u32::try_from(self.0.gid_tbl_len).unwrap_or(0)
    }

    /// Returns the number of P_Key table entries.
    pub(crate) fn pkey_tbl_len(&self) -> u16 {
        self.0.pkey_tbl_len
    }

    /// Returns the port's LID (0 before a subnet manager assigns one, and on RoCE).
    pub(crate) fn lid(&self) -> u32 {
        self.0.lid
    }

    /// Returns the LID of the subnet manager.
    pub(crate) fn sm_lid(&self) -> u32 {
        self.0.sm_lid
    }
}

/// A 128-bit Global Identifier in network byte order (`union ib_gid`).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Gid(pub(crate) [u8; 16]);

impl fmt::Display for Gid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The `%pI6` spelling used by /sys/class/infiniband/*/ports/*/gids/*.
        for (i, pair) in self.0.chunks_exact(2).enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{:02x}{:02x}", pair[0], pair[1])?;
        }
        Ok(())
    }
}

// SAFETY: `ib_device_try_get` and `ib_device_put` manage `ib_device.refcount`; while a `&Device`
// exists the device is registered, so its count is non-zero and the increment succeeds. A held
// reference delays the end of `ib_unregister_device` (not the clients' `remove`), so holders
// release it from `remove`.
unsafe impl kernel::types::AlwaysRefCounted for Device {
    fn inc_ref(&self) {
        // SAFETY: The device is valid and registered (type invariant), so the count is non-zero.
        let ok = unsafe { raw::ib_device_try_get(self.as_raw()) };
        debug_assert!(ok);
    }

    unsafe fn dec_ref(obj: core::ptr::NonNull<Self>) {
        // SAFETY: The caller owns one reference.
        unsafe { raw::ib_device_put(obj.as_ptr().cast()) }
    }
}

impl Device {
    /// Returns the network device a RoCE port runs over (`ib_device_get_netdev`), if any.
    pub(crate) fn netdev(
        &self,
        port: u32,
    ) -> Option<kernel::types::ARef<crate::rust_bindings::net::NetDevice>> {
        // SAFETY: The device is valid; the function returns a held reference or null.
        let nd = unsafe { raw::ib_device_get_netdev(self.as_raw(), port) };
        let nd = core::ptr::NonNull::new(nd)?;
        // SAFETY: `ib_device_get_netdev` took a reference (`dev_hold`) that the `ARef` now owns.
        Some(unsafe { kernel::types::ARef::from_raw(nd.cast()) })
    }

    /// Writes the firmware version string into `buf` (`ib_get_device_fw_str`; empty if the
    /// provider has none).
    pub(crate) fn fw_version(&self, buf: &mut [u8; 32]) {
        let mut tmp = [0u8; raw::ETHTOOL_FWVERS_LEN as usize];
        // SAFETY: `tmp` has room for `IB_FW_VERSION_NAME_MAX` (= `ETHTOOL_FWVERS_LEN`) bytes,
        // the most the function writes; the device is valid.
        unsafe { raw::ib_get_device_fw_str(self.as_raw(), tmp.as_mut_ptr().cast()) };
        let n = tmp
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(tmp.len())
            .min(buf.len() - 1);
        buf.fill(0);
        buf[..n].copy_from_slice(&tmp[..n]);
    }

    /// Returns the most scatter entries a receive of a shared receive queue takes, or 0 if the
    /// device has no SRQs (`attrs.max_srq_sge`).
    pub(crate) fn max_srq_sge(&self) -> u32 {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let n = unsafe { (*self.as_raw()).attrs.max_srq_sge };
        u32::try_from(n).unwrap_or(0)
    }

    /// Returns the most work requests a queue of a QP holds (`attrs.max_qp_wr`).
    pub(crate) fn max_qp_wr(&self) -> u32 {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let n = unsafe { (*self.as_raw()).attrs.max_qp_wr };
        u32::try_from(n).unwrap_or(0)
    }

    /// Returns the most work requests a shared receive queue holds (`attrs.max_srq_wr`).
    pub(crate) fn max_srq_wr(&self) -> u32 {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let n = unsafe { (*self.as_raw()).attrs.max_srq_wr };
        u32::try_from(n).unwrap_or(0)
    }

    /// Returns the most entries a CQ can have (`attrs.max_cqe`).
    pub(crate) fn max_cqe(&self) -> u32 {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let n = unsafe { (*self.as_raw()).attrs.max_cqe };
        u32::try_from(n).unwrap_or(0)
    }

    /// Returns the most scatter entries a send of a QP takes (`attrs.max_send_sge`).
    pub(crate) fn max_send_sge(&self) -> u32 {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let n = unsafe { (*self.as_raw()).attrs.max_send_sge };
        u32::try_from(n).unwrap_or(0)
    }

    /// Whether UD QPs compute and verify IPv4 TCP/UDP checksums (`IB_DEVICE_UD_IP_CSUM`).
    pub(crate) fn ud_ip_csum(&self) -> bool {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let f = unsafe { (*self.as_raw()).attrs.device_cap_flags };
        f & raw::ib_device_cap_flags_IB_DEVICE_UD_IP_CSUM as u64 != 0
    }

    /// Whether UD QPs segment TCP large sends (`IBK_UD_TSO`).
    pub(crate) fn ud_tso(&self) -> bool {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let f = unsafe { (*self.as_raw()).attrs.kernel_cap_flags };
        f & raw::ib_kernel_cap_flags_IBK_UD_TSO as u64 != 0
    }

    /// Returns the most scatter entries a receive of a QP takes (`attrs.max_recv_sge`).
    pub(crate) fn max_recv_sge(&self) -> u32 {
        // SAFETY: The device is valid; `attrs` is filled at registration and not changed.
        let n = unsafe { (*self.as_raw()).attrs.max_recv_sge };
        u32::try_from(n).unwrap_or(0)
    }

    /// Returns the name of the parent device (e.g. the PCI address), if there is one.
    pub(crate) fn parent_name(&self) -> Option<&CStr> {
        let parent = self.parent()?;
        // SAFETY: The parent outlives the registered device, and its name is set.
        Some(unsafe { CStr::from_char_ptr(raw::dev_name(parent.as_ptr())) })
    }

    /// Returns the parent device (the HCA's PCI function), if any.
    pub(crate) fn parent(&self) -> Option<core::ptr::NonNull<raw::device>> {
        // SAFETY: The device is valid; `dev.parent` is set at registration and not changed.
        core::ptr::NonNull::new(unsafe { raw::ib_device_parent(self.as_raw()) })
    }
}
