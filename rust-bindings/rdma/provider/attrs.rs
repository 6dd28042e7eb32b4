// SPDX-License-Identifier: GPL-2.0

//! Device and port attributes and MADs, as a provider reports and receives them.
//!
//! C header: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h).

use crate::rust_bindings::raw;

/// The attributes of a device (`struct ib_device_attr`): the fields a provider fills.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeviceAttr {
    pub(crate) fw_ver: u64,
    /// The system image GUID, big-endian bytes as on the wire.
    pub(crate) sys_image_guid: [u8; 8],
    pub(crate) max_mr_size: u64,
    pub(crate) page_size_cap: u64,
    pub(crate) vendor_id: u32,
    pub(crate) vendor_part_id: u32,
    pub(crate) hw_ver: u32,
    pub(crate) max_qp: u32,
    pub(crate) max_qp_wr: u32,
    pub(crate) device_cap_flags: u64,
    pub(crate) kernel_cap_flags: u64,
    pub(crate) max_send_sge: u32,
    pub(crate) max_recv_sge: u32,
    pub(crate) max_sge_rd: u32,
    pub(crate) max_cq: u32,
    pub(crate) max_cqe: u32,
    pub(crate) max_mr: u32,
    pub(crate) max_pd: u32,
    pub(crate) max_qp_rd_atom: u32,
    pub(crate) max_ee_rd_atom: u32,
    pub(crate) max_res_rd_atom: u32,
    pub(crate) max_qp_init_rd_atom: u32,
    pub(crate) atomic_cap: u32,
    pub(crate) masked_atomic_cap: u32,
    pub(crate) max_mw: u32,
    pub(crate) max_mcast_grp: u32,
    pub(crate) max_mcast_qp_attach: u32,
    pub(crate) max_total_mcast_qp_attach: u32,
    pub(crate) max_ah: u32,
    pub(crate) max_srq: u32,
    pub(crate) max_srq_wr: u32,
    pub(crate) max_srq_sge: u32,
    pub(crate) max_fast_reg_page_list_len: u32,
    pub(crate) max_pkeys: u16,
    pub(crate) local_ca_ack_delay: u8,
    pub(crate) timestamp_mask: u64,
    pub(crate) hca_core_clock: u64,
    pub(crate) max_ah_rate: u32,
    /// The largest completion count and period of CQ moderation (`cq_caps`).
    pub(crate) max_cq_moderation_count: u16,
    pub(crate) max_cq_moderation_period: u16,
}

impl DeviceAttr {
    pub(super) fn write(&self, a: &mut raw::ib_device_attr) {
        a.fw_ver = self.fw_ver;
        a.sys_image_guid = u64::from_ne_bytes(self.sys_image_guid);
        a.max_mr_size = self.max_mr_size;
        a.page_size_cap = self.page_size_cap;
        a.vendor_id = self.vendor_id;
        a.vendor_part_id = self.vendor_part_id;
        a.hw_ver = self.hw_ver;
        a.max_qp = self.max_qp as i32;
        a.max_qp_wr = self.max_qp_wr as i32;
        a.device_cap_flags = self.device_cap_flags;
        a.kernel_cap_flags = self.kernel_cap_flags;
        a.max_send_sge = self.max_send_sge as i32;
        a.max_recv_sge = self.max_recv_sge as i32;
        a.max_sge_rd = self.max_sge_rd as i32;
        a.max_cq = self.max_cq as i32;
        a.max_cqe = self.max_cqe as i32;
        a.max_mr = self.max_mr as i32;
        a.max_pd = self.max_pd as i32;
        a.max_qp_rd_atom = self.max_qp_rd_atom as i32;
        a.max_ee_rd_atom = self.max_ee_rd_atom as i32;
        a.max_res_rd_atom = self.max_res_rd_atom as i32;
        a.max_qp_init_rd_atom = self.max_qp_init_rd_atom as i32;
        a.atomic_cap = self.atomic_cap;
        a.masked_atomic_cap = self.masked_atomic_cap;
        a.max_mw = self.max_mw as i32;
        a.max_mcast_grp = self.max_mcast_grp as i32;
        a.max_mcast_qp_attach = self.max_mcast_qp_attach as i32;
        a.max_total_mcast_qp_attach = self.max_total_mcast_qp_attach as i32;
        a.max_ah = self.max_ah as i32;
        a.max_srq = self.max_srq as i32;
        a.max_srq_wr = self.max_srq_wr as i32;
        a.max_srq_sge = self.max_srq_sge as i32;
        a.max_fast_reg_page_list_len = self.max_fast_reg_page_list_len;
        a.max_pkeys = self.max_pkeys;
        a.local_ca_ack_delay = self.local_ca_ack_delay;
        a.timestamp_mask = self.timestamp_mask;
        a.hca_core_clock = self.hca_core_clock;
        a.cq_caps.max_cq_moderation_count = self.max_cq_moderation_count;
        a.cq_caps.max_cq_moderation_period = self.max_cq_moderation_period;
    }
}

/// The state of a port (`enum ib_port_state`), as the raw value (1 DOWN … 5 ACTIVE_DEFER).
pub(crate) type PortState = u32;

/// The attributes of a port (`struct ib_port_attr`): the fields a provider fills. MTUs are
/// `enum ib_mtu` values.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PortAttr {
    pub(crate) state: PortState,
    pub(crate) max_mtu: u32,
    pub(crate) active_mtu: u32,
    pub(crate) phys_mtu: u32,
    pub(crate) gid_tbl_len: u32,
    pub(crate) ip_gids: bool,
    pub(crate) port_cap_flags: u32,
    pub(crate) max_msg_sz: u32,
    pub(crate) bad_pkey_cntr: u32,
    pub(crate) qkey_viol_cntr: u32,
    pub(crate) pkey_tbl_len: u16,
    pub(crate) sm_lid: u32,
    pub(crate) lid: u32,
    pub(crate) lmc: u8,
    pub(crate) max_vl_num: u8,
    pub(crate) sm_sl: u8,
    pub(crate) subnet_timeout: u8,
    pub(crate) init_type_reply: u8,
    pub(crate) active_width: u8,
    pub(crate) active_speed: u16,
    pub(crate) phys_state: u8,
    pub(crate) port_cap_flags2: u16,
}

impl PortAttr {
    /// Writes the fields into `a`, which the core zeroed (`ib_query_port` keeps the
    /// `subnet_prefix` it fills itself).
    pub(super) fn write(&self, a: &mut raw::ib_port_attr) {
        a.state = self.state;
        a.max_mtu = self.max_mtu;
        a.active_mtu = self.active_mtu;
        a.phys_mtu = self.phys_mtu;
        a.gid_tbl_len = self.gid_tbl_len as i32;
        a.set_ip_gids(u32::from(self.ip_gids));
        a.port_cap_flags = self.port_cap_flags;
        a.max_msg_sz = self.max_msg_sz;
        a.bad_pkey_cntr = self.bad_pkey_cntr;
        a.qkey_viol_cntr = self.qkey_viol_cntr;
        a.pkey_tbl_len = self.pkey_tbl_len;
        a.sm_lid = self.sm_lid;
        a.lid = self.lid;
        a.lmc = self.lmc;
        a.max_vl_num = self.max_vl_num;
        a.sm_sl = self.sm_sl;
        a.subnet_timeout = self.subnet_timeout;
        a.init_type_reply = self.init_type_reply;
        a.active_width = self.active_width;
        a.active_speed = self.active_speed;
        a.phys_state = self.phys_state;
        a.port_cap_flags2 = self.port_cap_flags2;
    }
}

/// What never changes about a port (`struct ib_port_immutable`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PortImmutable {
    pub(crate) pkey_tbl_len: u32,
    pub(crate) gid_tbl_len: u32,
    /// `RDMA_CORE_CAP_*` / `RDMA_CORE_PORT_*`.
    pub(crate) core_cap_flags: u32,
    pub(crate) max_mad_size: u32,
}

/// `core_cap_flags` of an InfiniBand port (`RDMA_CORE_PORT_IBA_IB`).
pub(crate) const CORE_PORT_IBA_IB: u32 = raw::RDMA_CORE_PORT_IBA_IB;
/// The size of an InfiniBand MAD (`IB_MGMT_MAD_SIZE`).
pub(crate) const MGMT_MAD_SIZE: u32 = raw::IB_MGMT_MAD_SIZE;

/// A change of port capabilities (`struct ib_port_modify` with its mask).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PortModify {
    /// The `IB_PORT_*` mask bits (`IB_PORT_SHUTDOWN`, `IB_PORT_INIT_TYPE`,
    /// `IB_PORT_RESET_QKEY_CNTR`).
    pub(crate) mask: u32,
    pub(crate) set_port_cap_mask: u32,
    pub(crate) clr_port_cap_mask: u32,
    pub(crate) init_type: u8,
}

/// The result of `process_mad`: `IB_MAD_RESULT_*` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MadResult(pub(crate) u32);

impl MadResult {
    /// Not handled (`IB_MAD_RESULT_FAILURE`).
    pub(crate) const FAILURE: Self = Self(0);
    /// Handled (`IB_MAD_RESULT_SUCCESS`).
    pub(crate) const SUCCESS: Self = Self(1);
    /// A reply is in the output (`IB_MAD_RESULT_SUCCESS | IB_MAD_RESULT_REPLY`).
    pub(crate) const REPLY: Self = Self(1 | 2);
    /// Handled, nothing more to do (`IB_MAD_RESULT_SUCCESS | IB_MAD_RESULT_CONSUMED`).
    pub(crate) const CONSUMED: Self = Self(1 | 4);
}

/// A MAD the RDMA core offers the device (`process_mad` input).
pub(crate) struct MadIn<'a> {
    /// The 256 bytes of the MAD.
    pub(crate) mad: &'a [u8; 256],
    /// `IB_MAD_IGNORE_*` flags.
    pub(crate) flags: u32,
    /// The source LID and P_Key index when the MAD came from the wire.
    pub(crate) wc: Option<MadWc>,
    /// The GRH the MAD came with, if any.
    pub(crate) grh: Option<&'a [u8; 40]>,
}

/// What `process_mad` learns of a received MAD's completion.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MadWc {
    /// The QP that received it (`wc->qp->qp_num`: 0 or 1).
    pub(crate) qp_num: u32,
    pub(crate) slid: u32,
    pub(crate) src_qp: u32,
    pub(crate) pkey_index: u16,
    pub(crate) sl: u8,
    pub(crate) dlid_path_bits: u8,
    /// It came with a GRH (`IB_WC_GRH`).
    pub(crate) has_grh: bool,
}

/// The reply buffer of `process_mad`.
pub(crate) struct MadOut<'a> {
    /// The 256 bytes of the reply.
    pub(crate) mad: &'a mut [u8; 256],
}

/// `enum rdma_driver_id` of mlx4 (`RDMA_DRIVER_MLX4`).
pub(crate) const DRIVER_MLX4: u32 = raw::rdma_driver_id_RDMA_DRIVER_MLX4;

/// `device_cap_flags` (`enum ib_device_cap_flags`).
pub(crate) mod device_cap {
    use crate::rust_bindings::raw;
    pub(crate) const BAD_PKEY_CNTR: u64 = raw::ib_device_cap_flags_IB_DEVICE_BAD_PKEY_CNTR as u64;
    pub(crate) const BAD_QKEY_CNTR: u64 = raw::ib_device_cap_flags_IB_DEVICE_BAD_QKEY_CNTR as u64;
    pub(crate) const AUTO_PATH_MIG: u64 = raw::ib_device_cap_flags_IB_DEVICE_AUTO_PATH_MIG as u64;
    pub(crate) const CHANGE_PHY_PORT: u64 =
        raw::ib_device_cap_flags_IB_DEVICE_CHANGE_PHY_PORT as u64;
    pub(crate) const UD_AV_PORT_ENFORCE: u64 =
        raw::ib_device_cap_flags_IB_DEVICE_UD_AV_PORT_ENFORCE as u64;
    pub(crate) const PORT_ACTIVE_EVENT: u64 =
        raw::ib_device_cap_flags_IB_DEVICE_PORT_ACTIVE_EVENT as u64;
    pub(crate) const SYS_IMAGE_GUID: u64 = raw::ib_device_cap_flags_IB_DEVICE_SYS_IMAGE_GUID as u64;
    pub(crate) const RC_RNR_NAK_GEN: u64 = raw::ib_device_cap_flags_IB_DEVICE_RC_RNR_NAK_GEN as u64;
    pub(crate) const UD_IP_CSUM: u64 = raw::ib_device_cap_flags_IB_DEVICE_UD_IP_CSUM as u64;
    pub(crate) const RAW_IP_CSUM: u64 = raw::ib_device_cap_flags_IB_DEVICE_RAW_IP_CSUM as u64;
}

/// `kernel_cap_flags` (`enum ib_kernel_cap_flags`).
pub(crate) mod kernel_cap {
    use crate::rust_bindings::raw;
    pub(crate) const LOCAL_DMA_LKEY: u64 = raw::ib_kernel_cap_flags_IBK_LOCAL_DMA_LKEY as u64;
    pub(crate) const BLOCK_MULTICAST_LOOPBACK: u64 =
        raw::ib_kernel_cap_flags_IBK_BLOCK_MULTICAST_LOOPBACK as u64;
    pub(crate) const UD_TSO: u64 = raw::ib_kernel_cap_flags_IBK_UD_TSO as u64;
}

/// `atomic_cap`: no atomics (`IB_ATOMIC_NONE`).
pub(crate) const ATOMIC_NONE: u32 = raw::ib_atomic_cap_IB_ATOMIC_NONE;
/// `atomic_cap`: atomic within the HCA (`IB_ATOMIC_HCA`).
pub(crate) const ATOMIC_HCA: u32 = raw::ib_atomic_cap_IB_ATOMIC_HCA;

/// The kind of a shared receive queue (`enum ib_srq_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SrqType {
    /// `IB_SRQT_BASIC`.
    Basic,
    /// `IB_SRQT_XRC`: an XRC target's SRQ, with a CQ and an XRC domain.
    Xrc,
    /// `IB_SRQT_TM`: tag matching.
    Tm,
}

/// The creation attributes of an SRQ (`struct ib_srq_init_attr`); the driver writes the
/// actual `max_wr` and `max_sge` back.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SrqInitAttr {
    /// The kind of SRQ.
    pub(crate) srq_type: SrqType,
    /// Receive requests that may be outstanding.
    pub(crate) max_wr: u32,
    /// Scatter entries of a request.
    pub(crate) max_sge: u32,
}

/// `IB_SRQ_MAX_WR`: resize the SRQ.
pub(crate) const SRQ_MAX_WR: u32 = raw::ib_srq_attr_mask_IB_SRQ_MAX_WR;
/// `IB_SRQ_LIMIT`: arm the limit event.
pub(crate) const SRQ_LIMIT: u32 = raw::ib_srq_attr_mask_IB_SRQ_LIMIT;

/// The attributes of an SRQ (`struct ib_srq_attr`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SrqAttr {
    /// Receive requests that may be outstanding.
    pub(crate) max_wr: u32,
    /// Scatter entries of a request.
    pub(crate) max_sge: u32,
    /// The limit event fires when fewer requests than this are outstanding (0: disarmed).
    pub(crate) srq_limit: u32,
}

impl SrqAttr {
    pub(super) fn from_raw(a: &raw::ib_srq_attr) -> Self {
        Self {
            max_wr: a.max_wr,
            max_sge: a.max_sge,
            srq_limit: a.srq_limit,
        }
    }

    pub(super) fn write(&self, a: &mut raw::ib_srq_attr) {
        a.max_wr = self.max_wr;
        a.max_sge = self.max_sge;
        a.srq_limit = self.srq_limit;
    }
}
