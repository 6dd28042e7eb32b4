// SPDX-License-Identifier: GPL-2.0

//! What an HCA can do: a copy of the `mlx4_caps`, `mlx4_phys_caps`, `mlx4_quotas` and
//! `mlx4_dev` fields mlx4_ib reads.
//!
//! C header: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h).

use super::{Dev, PortType};
use crate::rust_bindings::raw;
use kernel::ffi::c_int;

/// The number of entries of the per-port arrays: ports are numbered from 1
/// (`MLX4_MAX_PORTS + 1`, entry 0 unused).
pub(crate) const PORT_SLOTS: usize = raw::MLX4_MAX_PORTS as usize + 1;

/// The length of the board id (`MLX4_BOARD_ID_LEN`).
pub(crate) const BOARD_ID_LEN: usize = raw::MLX4_BOARD_ID_LEN as usize;

/// A snapshot of the capabilities of an HCA, taken by [`Dev::caps`].
///
/// Counts and sizes that C keeps in an `int` are never negative there; here they are `u32`
/// (a negative value would read as 0). Per-port arrays are indexed by port number (1-based,
/// entry 0 unused); the accessors return 0 or [`PortType::Other`] for a port out of range.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caps {
    /// `caps.num_ports`.
    pub(crate) num_ports: u32,
    /// `caps.port_type[]`: the current type of each port.
    pub(crate) port_type: [PortType; PORT_SLOTS],
    /// `caps.port_mask[]`: the type each port is used as (what `mlx4_foreach_port` tests).
    pub(crate) port_mask: [PortType; PORT_SLOTS],
    /// `caps.gid_table_len[]`.
    pub(crate) gid_table_len: [u32; PORT_SLOTS],
    /// `caps.pkey_table_len[]`.
    pub(crate) pkey_table_len: [u32; PORT_SLOTS],
    /// `phys_caps.pkey_phys_table_len[]`.
    pub(crate) pkey_phys_table_len: [u32; PORT_SLOTS],
    /// `caps.function`: this PCI function's number.
    pub(crate) function: u32,
    /// `caps.local_ca_ack_delay`.
    pub(crate) local_ca_ack_delay: u32,
    /// `caps.num_uars`.
    pub(crate) num_uars: u32,
    /// `caps.bf_reg_size`.
    pub(crate) bf_reg_size: u32,
    /// `caps.bf_regs_per_page`.
    pub(crate) bf_regs_per_page: u32,
    /// `caps.max_sq_sg`.
    pub(crate) max_sq_sg: u32,
    /// `caps.max_rq_sg`.
    pub(crate) max_rq_sg: u32,
    /// `caps.num_qps` (a power of two).
    pub(crate) num_qps: u32,
    /// `caps.max_wqes`.
    pub(crate) max_wqes: u32,
    /// `caps.max_sq_desc_sz`.
    pub(crate) max_sq_desc_sz: u32,
    /// `caps.max_rq_desc_sz`.
    pub(crate) max_rq_desc_sz: u32,
    /// `caps.max_qp_init_rdma`.
    pub(crate) max_qp_init_rdma: u32,
    /// `caps.max_qp_dest_rdma`.
    pub(crate) max_qp_dest_rdma: u32,
    /// `caps.max_srq_wqes`.
    pub(crate) max_srq_wqes: u32,
    /// `caps.max_srq_sge`.
    pub(crate) max_srq_sge: u32,
    /// `caps.max_cqes`.
    pub(crate) max_cqes: u32,
    /// `caps.reserved_cqs`.
    pub(crate) reserved_cqs: u32,
    /// `caps.num_comp_vectors`.
    pub(crate) num_comp_vectors: u32,
    /// `caps.num_mgms`.
    pub(crate) num_mgms: u32,
    /// `caps.num_amgms`.
    pub(crate) num_amgms: u32,
    /// `caps.num_qp_per_mgm`.
    pub(crate) num_qp_per_mgm: u32,
    /// `caps.steering_mode` (`enum mlx4_steering_mode`: A0, B0, device managed).
    pub(crate) steering_mode: u32,
    /// `caps.num_pds`.
    pub(crate) num_pds: u32,
    /// `caps.reserved_pds`.
    pub(crate) reserved_pds: u32,
    /// `caps.max_xrcds`.
    pub(crate) max_xrcds: u32,
    /// `caps.reserved_xrcds`.
    pub(crate) reserved_xrcds: u32,
    /// `caps.max_msg_sz`.
    pub(crate) max_msg_sz: u32,
    /// `caps.page_size_cap`.
    pub(crate) page_size_cap: u32,
    /// `caps.flags` (`MLX4_DEV_CAP_FLAG_*`).
    pub(crate) flags: u64,
    /// `caps.flags2` (`MLX4_DEV_CAP_FLAG2_*`).
    pub(crate) flags2: u64,
    /// `caps.bmme_flags` (`MLX4_BMME_FLAG_*`).
    pub(crate) bmme_flags: u32,
    /// `caps.reserved_lkey`.
    pub(crate) reserved_lkey: u32,
    /// `caps.stat_rate_support`.
    pub(crate) stat_rate_support: u16,
    /// `caps.max_gso_sz`.
    pub(crate) max_gso_sz: u32,
    /// `caps.max_rss_tbl_sz`.
    pub(crate) max_rss_tbl_sz: u32,
    /// `caps.cqe_size` (32 or 64).
    pub(crate) cqe_size: u32,
    /// `caps.userspace_caps`.
    pub(crate) userspace_caps: u32,
    /// `caps.hca_core_clock` (MHz).
    pub(crate) hca_core_clock: u16,
    /// `caps.max_counters`.
    pub(crate) max_counters: u32,
    /// `caps.fw_ver`: 16 bits each of major, minor, sub-minor (see [`Caps::fw_version`]).
    pub(crate) fw_ver: u64,
    /// `phys_caps.base_sqpn`: QP0 of port 1; QP1 of port 1 is `base_sqpn + 2`.
    pub(crate) base_sqpn: u32,
    /// `phys_caps.base_proxy_sqpn`.
    pub(crate) base_proxy_sqpn: u32,
    /// `phys_caps.base_tunnel_sqpn`.
    pub(crate) base_tunnel_sqpn: u32,
    /// `quotas.qp`: the QPs this function may create (reported as `max_qp`).
    pub(crate) quota_qp: u32,
    /// `quotas.cq` (`max_cq`).
    pub(crate) quota_cq: u32,
    /// `quotas.srq` (`max_srq`).
    pub(crate) quota_srq: u32,
    /// `quotas.mpt` (`max_mr`).
    pub(crate) quota_mpt: u32,
    /// `dev->rev_id`, as mlx4_core read it (mlx4_ib's `init_node_data` refreshes its own copy).
    pub(crate) rev_id: u8,
    /// `dev->board_id`, NUL-padded.
    pub(crate) board_id: [u8; BOARD_ID_LEN],
    /// `dev->flags` (`MLX4_FLAG_*`).
    pub(crate) dev_flags: DevFlags,
    /// `dev->uar_page_shift`.
    pub(crate) uar_page_shift: u8,
    /// `persist->num_vfs`.
    pub(crate) num_vfs: u32,
    /// `persist->pdev->vendor`.
    pub(crate) vendor_id: u16,
    /// `persist->pdev->device` (reported as `vendor_part_id`, `hca_type` `MT<device>`).
    pub(crate) device_id: u16,
}

/// The flags of an HCA (`mlx4_dev.flags`, `MLX4_FLAG_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DevFlags(pub(crate) u64);

impl DevFlags {
    fn has(self, flag: u32) -> bool {
        self.0 & u64::from(flag) != 0
    }

    /// `mlx4_is_master`: the PF of an SR-IOV device.
    pub(crate) fn is_master(self) -> bool {
        self.has(raw::MLX4_FLAG_MASTER)
    }

    /// `mlx4_is_slave`: a VF.
    pub(crate) fn is_slave(self) -> bool {
        self.has(raw::MLX4_FLAG_SLAVE)
    }

    /// `mlx4_is_mfunc`: a function of a multi-function (SR-IOV) device, master or slave.
    pub(crate) fn is_mfunc(self) -> bool {
        self.is_master() || self.is_slave()
    }

    /// `mlx4_is_bonded`: the two ports are bonded (one RDMA port for both).
    pub(crate) fn is_bonded(self) -> bool {
        self.has(raw::MLX4_FLAG_BONDED)
    }

    /// `MLX4_FLAG_OLD_PORT_CMDS`: firmware with the old `SET_PORT`/`INIT_PORT` layouts.
    pub(crate) fn old_port_cmds(self) -> bool {
        self.has(raw::MLX4_FLAG_OLD_PORT_CMDS)
    }

    /// `MLX4_FLAG_SECURE_HOST`.
    pub(crate) fn secure_host(self) -> bool {
        self.has(raw::MLX4_FLAG_SECURE_HOST)
    }
}

/// `caps.flags`: checksum offload of IPoIB (`MLX4_DEV_CAP_FLAG_IPOIB_CSUM`).
pub(crate) const DEV_CAP_FLAG_IPOIB_CSUM: u64 = 1 << 7;
/// `caps.flags`: a bad P_Key counter (`MLX4_DEV_CAP_FLAG_BAD_PKEY_CNTR`).
pub(crate) const DEV_CAP_FLAG_BAD_PKEY_CNTR: u64 = 1 << 8;
/// `caps.flags`: a bad Q_Key counter (`MLX4_DEV_CAP_FLAG_BAD_QKEY_CNTR`).
pub(crate) const DEV_CAP_FLAG_BAD_QKEY_CNTR: u64 = 1 << 9;
/// `caps.flags`: LSO headers longer than a cache line (`MLX4_DEV_CAP_FLAG_BLH`).
pub(crate) const DEV_CAP_FLAG_BLH: u64 = 1 << 15;
/// `caps.flags`: atomic operations (`MLX4_DEV_CAP_FLAG_ATOMIC`).
pub(crate) const DEV_CAP_FLAG_ATOMIC: u64 = 1 << 18;
/// `caps.flags`: UD address vectors are checked against the port (`MLX4_DEV_CAP_FLAG_UD_AV_PORT`).
pub(crate) const DEV_CAP_FLAG_UD_AV_PORT: u64 = 1 << 20;
/// `caps.flags`: the firmware reports port management changes (`MLX4_DEV_CAP_FLAG_PORT_MNG_CHG_EV`).
pub(crate) const DEV_CAP_FLAG_PORT_MNG_CHG_EV: u64 = 1 << 59;
/// `caps.flags2`: the firmware reports SL-to-VL table changes too
/// (`MLX4_DEV_CAP_FLAG2_SL_TO_VL_CHANGE_EVENT`).
pub(crate) const DEV_CAP_FLAG2_SL_TO_VL_CHANGE_EVENT: u64 =
    raw::MLX4_DEV_CAP_FLAG2_SL_TO_VL_CHANGE_EVENT as u64;
/// `caps.bmme_flags`: a reserved lkey covers all memory (`MLX4_BMME_FLAG_RESERVED_LKEY`).
pub(crate) const BMME_FLAG_RESERVED_LKEY: u32 = 1 << 10;

/// `mlx4_to_hw_uar_index`: `index << (PAGE_SHIFT - uar_page_shift)`.
fn hw_uar_index(index: u32, uar_page_shift: u8) -> u32 {
    let shift = u32::try_from(kernel::page::PAGE_SHIFT)
        .unwrap_or(0)
        .saturating_sub(u32::from(uar_page_shift));
    index.checked_shl(shift).unwrap_or(0)
}

/// A C `int` count that is never negative (0 if it were).
fn count(v: c_int) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn port_type(t: raw::mlx4_port_type) -> PortType {
    match t {
        raw::mlx4_port_type_MLX4_PORT_TYPE_IB => PortType::Ib,
        raw::mlx4_port_type_MLX4_PORT_TYPE_ETH => PortType::Eth,
        _ => PortType::Other,
    }
}

impl Caps {
    /// Returns `arr[port]`, or the default for a port out of range.
    fn per_port<T: Copy + Default>(arr: &[T; PORT_SLOTS], port: u32) -> T {
        usize::try_from(port)
            .ok()
            .and_then(|p| arr.get(p))
            .copied()
            .unwrap_or_default()
    }

    /// Returns the type `port` is used as (`caps.port_mask[port]`; `Other` for a port the
    /// device does not have).
    pub(crate) fn port_mask(&self, port: u32) -> PortType {
        Self::type_of(&self.port_mask, port)
    }

    /// Returns the current type of `port` (`caps.port_type[port]`).
    pub(crate) fn port_type(&self, port: u32) -> PortType {
        Self::type_of(&self.port_type, port)
    }

    /// Returns `arr[port]`, or `Other` for a port out of range.
    fn type_of(arr: &[PortType; PORT_SLOTS], port: u32) -> PortType {
        usize::try_from(port)
            .ok()
            .and_then(|p| arr.get(p))
            .copied()
            .unwrap_or(PortType::Other)
    }

    /// Returns whether the device has a reserved lkey for all memory.
    pub(crate) fn has_reserved_lkey(&self) -> bool {
        self.bmme_flags & BMME_FLAG_RESERVED_LKEY != 0
    }

    /// Returns whether `port` exists (`1..=num_ports`).
    pub(crate) fn has_port(&self, port: u32) -> bool {
        (1..=self.num_ports).contains(&port)
    }

    /// Returns the GID table length of `port`.
    pub(crate) fn gid_table_len(&self, port: u32) -> u32 {
        Self::per_port(&self.gid_table_len, port)
    }

    /// Returns the P_Key table length of `port`.
    pub(crate) fn pkey_table_len(&self, port: u32) -> u32 {
        Self::per_port(&self.pkey_table_len, port)
    }

    /// Returns the firmware version as (major, minor, sub-minor).
    pub(crate) fn fw_version(&self) -> (u16, u16, u16) {
        let v = self.fw_ver;
        // The layout of `mlx4_caps.fw_ver` (mlx4_ib's `show_fw_ver`): 16 bits each, low 48 bits;
        // the truncating casts select one field each.
        ((v >> 32) as u16, (v >> 16) as u16, v as u16)
    }

    /// `mlx4_to_hw_uar_index`: the UAR index as the hardware counts (`uar_page_shift` pages).
    pub(crate) fn hw_uar_index(&self, index: u32) -> u32 {
        hw_uar_index(index, self.uar_page_shift)
    }
}

impl Dev {
    /// Returns a snapshot of the device's capabilities.
    pub(crate) fn caps(&self) -> Caps {
        let d = self.as_raw();
        // SAFETY: The device is valid by the type invariant; mlx4_core writes these fields before
        // adding the auxiliary devices and does not change them while drivers are bound (it
        // unbinds them around a reset or a port type change). `persist` and its `pdev` are set
        // at PCI probe and live as long as the device.
        let (c, p, q, d, pdev, num_vfs) = unsafe {
            let d = &*d;
            let persist = &*d.persist;
            (
                &d.caps,
                &d.phys_caps,
                &d.quotas,
                d,
                &*persist.pdev,
                persist.num_vfs,
            )
        };
        Caps {
            num_ports: count(c.num_ports),
            port_type: c.port_type.map(port_type),
            port_mask: c.port_mask.map(port_type),
            gid_table_len: c.gid_table_len.map(count),
            pkey_table_len: c.pkey_table_len.map(count),
            pkey_phys_table_len: p.pkey_phys_table_len,
            function: c.function,
            local_ca_ack_delay: count(c.local_ca_ack_delay),
            num_uars: count(c.num_uars),
            bf_reg_size: count(c.bf_reg_size),
            bf_regs_per_page: count(c.bf_regs_per_page),
            max_sq_sg: count(c.max_sq_sg),
            max_rq_sg: count(c.max_rq_sg),
            num_qps: count(c.num_qps),
            max_wqes: count(c.max_wqes),
            max_sq_desc_sz: count(c.max_sq_desc_sz),
            max_rq_desc_sz: count(c.max_rq_desc_sz),
            max_qp_init_rdma: count(c.max_qp_init_rdma),
            max_qp_dest_rdma: count(c.max_qp_dest_rdma),
            max_srq_wqes: count(c.max_srq_wqes),
            max_srq_sge: count(c.max_srq_sge),
            max_cqes: count(c.max_cqes),
            reserved_cqs: count(c.reserved_cqs),
            num_comp_vectors: count(c.num_comp_vectors),
            num_mgms: count(c.num_mgms),
            num_amgms: count(c.num_amgms),
            num_qp_per_mgm: count(c.num_qp_per_mgm),
            steering_mode: count(c.steering_mode),
            num_pds: count(c.num_pds),
            reserved_pds: count(c.reserved_pds),
            max_xrcds: count(c.max_xrcds),
            reserved_xrcds: count(c.reserved_xrcds),
            max_msg_sz: c.max_msg_sz,
            page_size_cap: c.page_size_cap,
            flags: c.flags,
            flags2: c.flags2,
            bmme_flags: c.bmme_flags,
            reserved_lkey: c.reserved_lkey,
            stat_rate_support: c.stat_rate_support,
            max_gso_sz: count(c.max_gso_sz),
            max_rss_tbl_sz: count(c.max_rss_tbl_sz),
            cqe_size: c.cqe_size,
            userspace_caps: c.userspace_caps,
            hca_core_clock: c.hca_core_clock,
            max_counters: c.max_counters,
            fw_ver: c.fw_ver,
            base_sqpn: p.base_sqpn,
            base_proxy_sqpn: p.base_proxy_sqpn,
            base_tunnel_sqpn: p.base_tunnel_sqpn,
            quota_qp: count(q.qp),
            quota_cq: count(q.cq),
            quota_srq: count(q.srq),
            quota_mpt: count(q.mpt),
            rev_id: d.rev_id,
            // `c_char` is `u8` in the kernel (`-funsigned-char`).
            board_id: d.board_id,
            dev_flags: DevFlags(u64::try_from(d.flags).unwrap_or_default()),
            uar_page_shift: d.uar_page_shift,
            num_vfs: count(num_vfs),
            vendor_id: pdev.vendor,
            device_id: pdev.device,
        }
    }

    /// Returns the device's flags (`dev->flags`, set before the auxiliary devices are added).
    pub(crate) fn flags(&self) -> DevFlags {
        // SAFETY: The device is valid by the type invariant; see `caps`.
        let f = unsafe { (*self.as_raw()).flags };
        DevFlags(u64::try_from(f).unwrap_or_default())
    }

    /// `mlx4_to_hw_uar_index`: UAR `index` as the hardware counts it.
    pub(crate) fn hw_uar_index(&self, index: u32) -> u32 {
        // SAFETY: The device is valid by the type invariant; `uar_page_shift` is set at probe.
        let shift = unsafe { (*self.as_raw()).uar_page_shift };
        hw_uar_index(index, shift)
    }

    /// Returns the PCI function of the HCA (`persist->pdev`).
    pub(crate) fn pci_dev(&self) -> *mut raw::pci_dev {
        // SAFETY: The device is valid by the type invariant; `persist` is set at PCI probe and
        // outlives the device.
        unsafe { (*(*self.as_raw()).persist).pdev }
    }

    /// Returns the generic device of the HCA's PCI function (`&persist->pdev->dev`): the parent
    /// and DMA device of an `ib_device` registered for it.
    pub(crate) fn dma_device(&self) -> *mut raw::device {
        // SAFETY: `pci_dev` returns the live PCI device; `dev` is a member.
        unsafe { &raw mut (*self.pci_dev()).dev }
    }
}
