// SPDX-License-Identifier: GPL-2.0

//! The QP context of a MODIFY_QP command, as `__mlx4_ib_modify_qp` fills it for a native
//! function on InfiniBand ports (C: `struct mlx4_qp_context`, `struct mlx4_qp_path` in
//! `include/linux/mlx4/qp.h`; `_mlx4_ib_modify_qp`, `__mlx4_ib_modify_qp`, `_mlx4_set_path` in
//! qp.c; `ib_modify_qp_is_ok` in drivers/infiniband/core/verbs.c).
//!
//! The verbs side (states, attribute mask, transition table) is in [`super::qp_state`].
//! [`check`] makes `_mlx4_ib_modify_qp`'s checks, [`build`] writes the 248-byte context and
//! returns the optional-parameter mask. mlx4_core adds the local QPN, the MTT fields (RESET to
//! INIT) and the RoCE entropy before it posts the command. Not modelled: SR-IOV (proxy and
//! tunnel QPs, reserved Q_Keys), RoCE ports, RSS, XRC, raw packet QPs, bonding and the
//! loopback-blocking counters of Ethernet ports.

use super::qp_state::{
    modify_is_ok, IbQpState, MigState, IB_QP_ACCESS_FLAGS, IB_QP_ALT_PATH,
    IB_QP_ATTR_STANDARD_BITS, IB_QP_AV, IB_QP_CUR_STATE, IB_QP_DEST_QPN, IB_QP_EN_SQD_ASYNC_NOTIFY,
    IB_QP_MAX_DEST_RD_ATOMIC, IB_QP_MAX_QP_RD_ATOMIC, IB_QP_MIN_RNR_TIMER, IB_QP_PATH_MIG_STATE,
    IB_QP_PATH_MTU, IB_QP_PKEY_INDEX, IB_QP_PORT, IB_QP_QKEY, IB_QP_RETRY_CNT, IB_QP_RNR_RETRY,
    IB_QP_RQ_PSN, IB_QP_SQ_PSN, IB_QP_STATE, IB_QP_TIMEOUT, MLX4_QP_STATE_INIT, MLX4_QP_STATE_RST,
    MLX4_QP_STATE_RTR, MLX4_QP_STATE_RTS, MLX4_QP_STATE_SQD, MLX4_QP_STATE_SQER,
};
use super::{fls, ilog2, put_be16, put_be32, put_be64, Error, QpType};

/// Bytes of a QP context.
pub(crate) const QPC_SIZE: usize = 248;
/// Bytes of an address path.
pub(crate) const PATH_SIZE: usize = 44;

/// Offsets in `struct mlx4_qp_context`.
pub(crate) mod ctx {
    /// State, service type and migration state (be32).
    pub(crate) const FLAGS: usize = 0x00;
    /// Protection domain (be32).
    pub(crate) const PD: usize = 0x04;
    /// Path MTU (bits 7:5) and log2 of the largest message (bits 4:0).
    pub(crate) const MTU_MSGMAX: usize = 0x08;
    /// log2 of the receive WQEs (bits 6:3) and receive stride less 4 (bits 2:0).
    pub(crate) const RQ_SIZE_STRIDE: usize = 0x09;
    /// As [`RQ_SIZE_STRIDE`] for the send ring; bit 7: no send prefetch.
    pub(crate) const SQ_SIZE_STRIDE: usize = 0x0a;
    /// Bit 4: the reserved lkey is allowed; bits 7:6: RoCE mode.
    pub(crate) const RLKEY_ROCE_MODE: usize = 0x0b;
    /// The UAR page of the doorbells (be32).
    pub(crate) const USR_PAGE: usize = 0x0c;
    /// The QP's own number, filled by mlx4_core (be32).
    pub(crate) const LOCAL_QPN: usize = 0x10;
    /// The destination QP of RC and UC (be32).
    pub(crate) const REMOTE_QPN: usize = 0x14;
    /// The primary address path.
    pub(crate) const PRI_PATH: usize = 0x18;
    /// The alternate address path.
    pub(crate) const ALT_PATH: usize = 0x44;
    /// Requester parameters (be32): ack request frequency, initiator depth, retries, FRE.
    pub(crate) const PARAMS1: usize = 0x70;
    /// The next send PSN (be32).
    pub(crate) const NEXT_SEND_PSN: usize = 0x78;
    /// The send CQ (be32).
    pub(crate) const CQN_SEND: usize = 0x7c;
    /// RoCE UDP source port entropy, filled by mlx4_core (be16).
    pub(crate) const ROCE_ENTROPY: usize = 0x80;
    /// Responder parameters (be32): responder depth, remote access, SRQ.
    pub(crate) const PARAMS2: usize = 0x90;
    /// Minimal RNR NAK timer (bits 28:24) and the expected receive PSN (be32).
    pub(crate) const RNR_NEXTRECVPSN: usize = 0x94;
    /// The XRC domain (be32).
    pub(crate) const XRCD: usize = 0x98;
    /// The receive CQ (be32).
    pub(crate) const CQN_RECV: usize = 0x9c;
    /// DMA address of the receive doorbell record (be64).
    pub(crate) const DB_REC_ADDR: usize = 0xa0;
    /// The Q_Key (be32).
    pub(crate) const QKEY: usize = 0xa8;
    /// Bit 24: the QP takes receive WQEs from SRQ number bits 23:0 (be32).
    pub(crate) const SRQN: usize = 0xac;
    /// Bit 25: inline receive; bit 29: scatter FCS; bit 30: strip VLAN (be32).
    pub(crate) const PARAM3: usize = 0xc0;
    /// log2 of the MTT page size less 12, filled by mlx4_core.
    pub(crate) const LOG_PAGE_SIZE: usize = 0xc8;
    /// Bits 39:32 of the MTT address, filled by mlx4_core.
    pub(crate) const MTT_BASE_ADDR_H: usize = 0xcb;
    /// Bits 31:0 of the MTT address, filled by mlx4_core (be32).
    pub(crate) const MTT_BASE_ADDR_L: usize = 0xcc;
}

/// Offsets in `struct mlx4_qp_path`.
pub(crate) mod path {
    /// Ethernet VLAN and loopback-check flags.
    pub(crate) const FL: usize = 0x00;
    /// Ethernet VLAN control.
    pub(crate) const VLAN_CONTROL: usize = 0x01;
    /// Bit 6: no P_Key check (SR-IOV).
    pub(crate) const DISABLE_PKEY_CHECK: usize = 0x02;
    /// The P_Key table index.
    pub(crate) const PKEY_INDEX: usize = 0x03;
    /// The counter set of the QP.
    pub(crate) const COUNTER_INDEX: usize = 0x04;
    /// Bit 7: a GRH is sent; bits 6:0: source path bits.
    pub(crate) const GRH_MYLMC: usize = 0x05;
    /// The destination LID (be16).
    pub(crate) const RLID: usize = 0x06;
    /// ACK timeout (bits 7:3) and link type (bits 1:0).
    pub(crate) const ACKTO: usize = 0x08;
    /// The source GID index.
    pub(crate) const MGID_INDEX: usize = 0x09;
    /// The injection rate (IB rate + 5, 0 for the port's).
    pub(crate) const STATIC_RATE: usize = 0x0a;
    /// The GRH hop limit.
    pub(crate) const HOP_LIMIT: usize = 0x0b;
    /// The GRH traffic class (bits 27:20) and flow label (bits 19:0) (be32).
    pub(crate) const TCLASS_FLOWLABEL: usize = 0x0c;
    /// The destination GID (16 bytes).
    pub(crate) const RGID: usize = 0x10;
    /// Bit 7:6 port less 1, bits 5:2 SL, and the scheduling queue bits.
    pub(crate) const SCHED_QUEUE: usize = 0x20;
    /// Ethernet VLAN table index.
    pub(crate) const VLAN_INDEX: usize = 0x21;
    /// Ethernet forcing flags.
    pub(crate) const FEUP: usize = 0x22;
    /// Ethernet receive VLAN forcing.
    pub(crate) const FVL_RX: usize = 0x23;
    /// Ethernet destination MAC (6 bytes).
    pub(crate) const DMAC: usize = 0x26;
}

/// Service type: reliable connected (`MLX4_QP_ST_RC`).
pub(crate) const MLX4_QP_ST_RC: u32 = 0x0;
/// Service type: unreliable connected.
pub(crate) const MLX4_QP_ST_UC: u32 = 0x1;
/// Service type: unreliable datagram.
pub(crate) const MLX4_QP_ST_UD: u32 = 0x3;
/// Service type: MLX (QP0 and QP1 build their own headers).
pub(crate) const MLX4_QP_ST_MLX: u32 = 0x7;

/// Path migration state: migrated (`MLX4_QP_PM_MIGRATED`).
pub(crate) const MLX4_QP_PM_MIGRATED: u32 = 0x3;
/// Path migration state: armed.
pub(crate) const MLX4_QP_PM_ARMED: u32 = 0x0;
/// Path migration state: rearm.
pub(crate) const MLX4_QP_PM_REARM: u32 = 0x1;

/// `params2`: remote reads enabled.
pub(crate) const MLX4_QP_BIT_RRE: u32 = 1 << 15;
/// `params2`: remote writes enabled.
pub(crate) const MLX4_QP_BIT_RWE: u32 = 1 << 14;
/// `params2`: remote atomics enabled.
pub(crate) const MLX4_QP_BIT_RAE: u32 = 1 << 13;
/// `params2`: receive WQEs come from an SRQ.
pub(crate) const MLX4_QP_BIT_RIC: u32 = 1 << 4;
/// `params1`: fast registration enabled (kernel QPs).
pub(crate) const MLX4_QP_BIT_FRE: u32 = 1 << 11;
/// `params1`: the ACK request frequency mlx4_ib sets (`MLX4_IB_ACK_REQ_FREQ << 28`).
pub(crate) const ACK_REQ_FREQ: u32 = 8 << 28;

/// Optional parameter: the alternate path (`enum mlx4_qp_optpar`).
pub(crate) const MLX4_QP_OPTPAR_ALT_ADDR_PATH: u32 = 1 << 0;
/// Optional parameter: remote read enable.
pub(crate) const MLX4_QP_OPTPAR_RRE: u32 = 1 << 1;
/// Optional parameter: remote atomic enable.
pub(crate) const MLX4_QP_OPTPAR_RAE: u32 = 1 << 2;
/// Optional parameter: remote write enable.
pub(crate) const MLX4_QP_OPTPAR_RWE: u32 = 1 << 3;
/// Optional parameter: the P_Key index.
pub(crate) const MLX4_QP_OPTPAR_PKEY_INDEX: u32 = 1 << 4;
/// Optional parameter: the Q_Key.
pub(crate) const MLX4_QP_OPTPAR_Q_KEY: u32 = 1 << 5;
/// Optional parameter: the minimal RNR NAK timer.
pub(crate) const MLX4_QP_OPTPAR_RNR_TIMEOUT: u32 = 1 << 6;
/// Optional parameter: the primary path.
pub(crate) const MLX4_QP_OPTPAR_PRIMARY_ADDR_PATH: u32 = 1 << 7;
/// Optional parameter: the initiator depth.
pub(crate) const MLX4_QP_OPTPAR_SRA_MAX: u32 = 1 << 8;
/// Optional parameter: the responder depth.
pub(crate) const MLX4_QP_OPTPAR_RRA_MAX: u32 = 1 << 9;
/// Optional parameter: the path migration state.
pub(crate) const MLX4_QP_OPTPAR_PM_STATE: u32 = 1 << 10;
/// Optional parameter: the retry count.
pub(crate) const MLX4_QP_OPTPAR_RETRY_COUNT: u32 = 1 << 12;
/// Optional parameter: the RNR retry count.
pub(crate) const MLX4_QP_OPTPAR_RNR_RETRY: u32 = 1 << 13;
/// Optional parameter: the ACK timeout.
pub(crate) const MLX4_QP_OPTPAR_ACK_TIMEOUT: u32 = 1 << 14;
/// Optional parameter: the scheduling queue.
pub(crate) const MLX4_QP_OPTPAR_SCHED_QUEUE: u32 = 1 << 16;
/// Optional parameter: the counter index.
pub(crate) const MLX4_QP_OPTPAR_COUNTER_INDEX: u32 = 1 << 20;
/// Optional parameter: VLAN stripping.
pub(crate) const MLX4_QP_OPTPAR_VLAN_STRIPPING: u32 = 1 << 21;

/// Access flag: remote writes (`IB_ACCESS_REMOTE_WRITE`).
pub(crate) const IB_ACCESS_REMOTE_WRITE: u32 = 1 << 1;
/// Access flag: remote reads.
pub(crate) const IB_ACCESS_REMOTE_READ: u32 = 1 << 2;
/// Access flag: remote atomics.
pub(crate) const IB_ACCESS_REMOTE_ATOMIC: u32 = 1 << 3;

/// The path MTU of QP0, QP1 and UD QPs, and the largest an RC or UC path takes (`IB_MTU_4096`).
pub(crate) const IB_MTU_4096: u8 = 5;
/// The scheduling queue bits of IB paths and of UD and QP1 (`MLX4_IB_DEFAULT_SCHED_QUEUE`).
const DEFAULT_SCHED_QUEUE: u8 = 0x83;
/// The scheduling queue bits of QP0 (`MLX4_IB_DEFAULT_QP0_SCHED_QUEUE`).
const DEFAULT_QP0_SCHED_QUEUE: u8 = 0x3f;
/// Hardware rates are IB rates plus this (`MLX4_STAT_RATE_OFFSET`).
const STAT_RATE_OFFSET: u8 = 5;
/// `IB_RATE_2_5_GBPS`, the lowest rate a static rate is lowered to.
const IB_RATE_2_5_GBPS: u8 = 2;

/// The global route of an address (`struct ib_global_route`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Grh {
    /// The source GID's index in the port's table (as the hardware numbers it).
    pub(crate) sgid_index: u8,
    /// The hop limit.
    pub(crate) hop_limit: u8,
    /// The traffic class.
    pub(crate) traffic_class: u8,
    /// The flow label (20 bits; C does not mask it).
    pub(crate) flow_label: u32,
    /// The destination GID.
    pub(crate) dgid: [u8; 16],
}

/// An InfiniBand address (`struct rdma_ah_attr` of type IB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AhAttr {
    /// The destination LID.
    pub(crate) dlid: u16,
    /// The service level.
    pub(crate) sl: u8,
    /// The source path bits.
    pub(crate) src_path_bits: u8,
    /// The static rate (`enum ib_rate`; 0 for the port's rate).
    pub(crate) static_rate: u8,
    /// The global route, if packets carry a GRH.
    pub(crate) grh: Option<Grh>,
}

/// The attributes of a modify (`struct ib_qp_attr`), read as the mask says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QpAttrs {
    /// The new state.
    pub(crate) qp_state: IbQpState,
    /// The current state as the caller believes it.
    pub(crate) cur_qp_state: IbQpState,
    /// The path MTU (`enum ib_mtu`: 1 for 256 bytes to 5 for 4096).
    pub(crate) path_mtu: u8,
    /// The path migration state.
    pub(crate) path_mig_state: MigState,
    /// The Q_Key.
    pub(crate) qkey: u32,
    /// The expected receive PSN.
    pub(crate) rq_psn: u32,
    /// The next send PSN.
    pub(crate) sq_psn: u32,
    /// The destination QP.
    pub(crate) dest_qp_num: u32,
    /// Remote access flags (`IB_ACCESS_*`).
    pub(crate) qp_access_flags: u32,
    /// The primary address.
    pub(crate) ah_attr: AhAttr,
    /// The alternate address.
    pub(crate) alt_ah_attr: AhAttr,
    /// The P_Key index.
    pub(crate) pkey_index: u16,
    /// The P_Key index of the alternate path.
    pub(crate) alt_pkey_index: u16,
    /// Whether to raise an event when the send queue is drained.
    pub(crate) en_sqd_async_notify: bool,
    /// The initiator depth.
    pub(crate) max_rd_atomic: u8,
    /// The responder depth.
    pub(crate) max_dest_rd_atomic: u8,
    /// The minimal RNR NAK timer.
    pub(crate) min_rnr_timer: u8,
    /// The port.
    pub(crate) port_num: u8,
    /// The ACK timeout.
    pub(crate) timeout: u8,
    /// The retry count.
    pub(crate) retry_cnt: u8,
    /// The RNR retry count.
    pub(crate) rnr_retry: u8,
    /// The port of the alternate path.
    pub(crate) alt_port_num: u8,
    /// The ACK timeout of the alternate path.
    pub(crate) alt_timeout: u8,
}

/// The device facts a modify reads (`struct mlx4_caps` and the counters table); arrays are
/// indexed by port less 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Caps {
    /// Ports of the device (`mlx4_ib_dev.num_ports`).
    pub(crate) num_ports: u8,
    /// P_Key table lengths.
    pub(crate) pkey_table_len: [u16; 2],
    /// GID table lengths.
    pub(crate) gid_table_len: [u32; 2],
    /// The deepest initiator depth (`max_qp_init_rdma`).
    pub(crate) max_qp_init_rdma: u32,
    /// The deepest responder depth (`max_qp_dest_rdma`).
    pub(crate) max_qp_dest_rdma: u32,
    /// The largest message, in bytes (`max_msg_sz`).
    pub(crate) max_msg_sz: u32,
    /// The largest LSO send, in bytes (`max_gso_sz`).
    pub(crate) max_gso_sz: u32,
    /// Bit `n` set: hardware rate `n` is supported (`stat_rate_support`).
    pub(crate) stat_rate_support: u16,
    /// The default counter of each port; `None` where C holds -1.
    pub(crate) default_counter: [Option<u8>; 2],
    /// The counter that counts nothing (`MLX4_SINK_COUNTER_INDEX`: `max_counters - 1`).
    pub(crate) sink_counter_index: u8,
}

/// What a modify needs to know of the QP (fields of `struct mlx4_ib_qp` and its objects).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QpInfo {
    /// The QP's type.
    pub(crate) qp_type: QpType,
    /// A kernel QP (no user context): fast registration, reserved lkey, SQ stamping.
    pub(crate) is_kernel: bool,
    /// The port the QP is on (`qp->port`; 0 before a first modify with a port, for QP0 and QP1
    /// the port they were created on).
    pub(crate) port: u8,
    /// The protection domain.
    pub(crate) pdn: u32,
    /// WQEs in the send ring.
    pub(crate) sq_wqe_cnt: u32,
    /// log2 of the send stride.
    pub(crate) sq_wqe_shift: u32,
    /// WQEs in the receive ring; 0 with an SRQ.
    pub(crate) rq_wqe_cnt: u32,
    /// log2 of the receive stride; 0 with an SRQ.
    pub(crate) rq_wqe_shift: u32,
    /// The user asked the hardware not to prefetch send WQEs.
    pub(crate) sq_no_prefetch: bool,
    /// A user QP with inline receive (`inl_recv_sz` non-zero).
    pub(crate) inl_recv: bool,
    /// A UD QP created for LSO.
    pub(crate) lso: bool,
    /// The SRQ the QP receives from.
    pub(crate) srqn: Option<u32>,
    /// The send CQ.
    pub(crate) send_cqn: u32,
    /// The receive CQ.
    pub(crate) recv_cqn: u32,
    /// The hardware index of the doorbell UAR (`mlx4_to_hw_uar_index`).
    pub(crate) usr_page: u32,
    /// DMA address of the receive doorbell record.
    pub(crate) db_rec_addr: u64,
    /// The responder depth of the last modify that set it (`qp->resp_depth`).
    pub(crate) resp_depth: u8,
    /// The access flags of the last modify that set them (`qp->atomic_rd_en`).
    pub(crate) atomic_rd_en: u8,
}

/// One modify: the QP, the transition, the attribute mask and the attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ModifyQp {
    /// The device.
    pub(crate) caps: Caps,
    /// The QP.
    pub(crate) qp: QpInfo,
    /// The state the QP is in.
    pub(crate) cur: IbQpState,
    /// The state it moves to.
    pub(crate) new: IbQpState,
    /// `IB_QP_*` bits saying which attributes apply.
    pub(crate) mask: u32,
    /// The attributes.
    pub(crate) attr: QpAttrs,
}

/// The current and new state of a modify of a QP in state `state` (`_mlx4_ib_modify_qp`).
pub(crate) fn states(state: IbQpState, mask: u32, attr: &QpAttrs) -> (IbQpState, IbQpState) {
    let cur = if mask & IB_QP_CUR_STATE != 0 {
        attr.cur_qp_state
    } else {
        state
    };
    let new = if mask & IB_QP_STATE != 0 {
        attr.qp_state
    } else {
        cur
    };
    (cur, new)
}

/// The table length of `port` in a per-port array; 0 for a port the device lacks, as C reads
/// the unused entry 0 of its arrays.
fn per_port<T: Copy + Default>(table: &[T; 2], port: u8) -> T {
    usize::from(port)
        .checked_sub(1)
        .and_then(|i| table.get(i).copied())
        .unwrap_or_default()
}

/// Checks a modify as `mlx4_ib_modify_qp` and `_mlx4_ib_modify_qp` do before they build the
/// context; `Ok(false)` for RESET to RESET, which C completes without a command.
pub(crate) fn check(m: &ModifyQp) -> Result<bool, Error> {
    let (a, mask) = (&m.attr, m.mask);
    if mask & !IB_QP_ATTR_STANDARD_BITS != 0 {
        return Err(Error::NotSupported);
    }
    if !modify_is_ok(m.cur, m.new, m.qp.qp_type, mask) {
        return Err(Error::Invalid);
    }
    if mask & IB_QP_PORT != 0 && (a.port_num == 0 || a.port_num > m.caps.num_ports) {
        return Err(Error::Invalid);
    }
    if mask & IB_QP_PKEY_INDEX != 0 {
        let p = if mask & IB_QP_PORT != 0 {
            a.port_num
        } else {
            m.qp.port
        };
        if a.pkey_index >= per_port(&m.caps.pkey_table_len, p) {
            return Err(Error::Invalid);
        }
    }
    if mask & IB_QP_MAX_QP_RD_ATOMIC != 0 && u32::from(a.max_rd_atomic) > m.caps.max_qp_init_rdma {
        return Err(Error::Invalid);
    }
    if mask & IB_QP_MAX_DEST_RD_ATOMIC != 0
        && u32::from(a.max_dest_rd_atomic) > m.caps.max_qp_dest_rdma
    {
        return Err(Error::Invalid);
    }
    Ok(!(m.cur == IbQpState::Reset && m.new == IbQpState::Reset))
}

/// The hardware static rate of IB rate `rate` (`_mlx4_set_path`): rate + 5, lowered until the
/// device supports it or it reaches 2.5 Gb/s; 0 (the port's rate) stays 0.
pub(crate) fn rate_to_hw(rate: u8, stat_rate_support: u16) -> u8 {
    if rate == 0 {
        return 0;
    }
    // C stores the sum in a `u8`.
    let mut r = rate.wrapping_add(STAT_RATE_OFFSET);
    let supported = |r: u8| {
        1u32.checked_shl(u32::from(r))
            .is_some_and(|b| b & u32::from(stat_rate_support) != 0)
    };
    while r > IB_RATE_2_5_GBPS + STAT_RATE_OFFSET && !supported(r) {
        r -= 1;
    }
    r
}

/// Writes an IB address path at `base` of `ctx` (`_mlx4_set_path` for an IB address).
fn set_path(ctx: &mut [u8], base: usize, ah: &AhAttr, port: u8, caps: &Caps) -> Result<(), Error> {
    let p = &mut ctx[base..base + PATH_SIZE];
    p[path::GRH_MYLMC] = ah.src_path_bits & 0x7f;
    put_be16(p, path::RLID, ah.dlid);
    p[path::STATIC_RATE] = rate_to_hw(ah.static_rate, caps.stat_rate_support);
    if let Some(g) = &ah.grh {
        if u32::from(g.sgid_index) >= per_port(&caps.gid_table_len, port) {
            return Err(Error::Invalid);
        }
        p[path::GRH_MYLMC] |= 1 << 7;
        p[path::MGID_INDEX] = g.sgid_index;
        p[path::HOP_LIMIT] = g.hop_limit;
        put_be32(
            p,
            path::TCLASS_FLOWLABEL,
            (u32::from(g.traffic_class) << 20) | g.flow_label,
        );
        p[path::RGID..path::RGID + 16].copy_from_slice(&g.dgid);
    }
    // C computes in `int` and stores a `u8`.
    p[path::SCHED_QUEUE] = DEFAULT_SCHED_QUEUE | (port.wrapping_sub(1) << 6) | ((ah.sl & 0xf) << 2);
    Ok(())
}

/// The remote access bits of `params2` (`to_mlx4_access_flags`): with no responder resources
/// only remote writes stay.
fn access_flags(m: &ModifyQp) -> u32 {
    let dest_rd_atomic = if m.mask & IB_QP_MAX_DEST_RD_ATOMIC != 0 {
        m.attr.max_dest_rd_atomic
    } else {
        m.qp.resp_depth
    };
    let mut access = if m.mask & IB_QP_ACCESS_FLAGS != 0 {
        m.attr.qp_access_flags
    } else {
        u32::from(m.qp.atomic_rd_en)
    };
    if dest_rd_atomic == 0 {
        access &= IB_ACCESS_REMOTE_WRITE;
    }
    let mut hw = 0;
    if access & IB_ACCESS_REMOTE_READ != 0 {
        hw |= MLX4_QP_BIT_RRE;
    }
    if access & IB_ACCESS_REMOTE_ATOMIC != 0 {
        hw |= MLX4_QP_BIT_RAE;
    }
    if access & IB_ACCESS_REMOTE_WRITE != 0 {
        hw |= MLX4_QP_BIT_RWE;
    }
    hw
}

/// The service type of a QP type (`to_mlx4_st`).
fn service_type(t: QpType) -> u32 {
    match t {
        QpType::Rc => MLX4_QP_ST_RC,
        QpType::Uc => MLX4_QP_ST_UC,
        QpType::Ud => MLX4_QP_ST_UD,
        QpType::Smi | QpType::Gsi => MLX4_QP_ST_MLX,
    }
}

/// A ring's `size_stride` byte: log2 of its WQEs in bits 6:3, its stride less 16 bytes as a
/// shift in bits 2:0. C stores `wqe_shift - 4` of an `int` in a `u8`, so a QP on an SRQ (shift
/// 0) gets 0xfc in the receive byte.
fn size_stride(cnt: u32, shift: u32) -> u8 {
    let size = if cnt != 0 { (ilog2(cnt) << 3) as u8 } else { 0 };
    size | shift.wrapping_sub(4) as u8
}

/// Writes the context of modify `m` into `out`, zeroing the rest, and returns the optional
/// parameter mask (`__mlx4_ib_modify_qp` up to `mlx4_qp_modify`). Callers run [`check`]
/// first, as C does.
pub(crate) fn build(m: &ModifyQp, out: &mut [u8; QPC_SIZE]) -> Result<u32, Error> {
    use IbQpState::{Init, Reset, Rtr, Sqd};
    let (a, mask, qp, caps) = (&m.attr, m.mask, &m.qp, &m.caps);
    let has = |bit: u32| mask & bit != 0;
    let rst2init = m.cur == Reset && m.new == Init;
    let init2rtr = m.cur == Init && m.new == Rtr;
    let mut optpar = 0;
    out.fill(0);

    let pm = if !has(IB_QP_PATH_MIG_STATE) {
        MLX4_QP_PM_MIGRATED
    } else {
        optpar |= MLX4_QP_OPTPAR_PM_STATE;
        match a.path_mig_state {
            MigState::Migrated => MLX4_QP_PM_MIGRATED,
            MigState::Rearm => MLX4_QP_PM_REARM,
            MigState::Armed => MLX4_QP_PM_ARMED,
        }
    };
    put_be32(
        out,
        ctx::FLAGS,
        (m.new.to_mlx4() << 28) | (service_type(qp.qp_type) << 16) | (pm << 11),
    );
    if qp.inl_recv {
        put_be32(out, ctx::PARAM3, 1 << 25);
    }

    // C stores these sums in a `u8`.
    out[ctx::MTU_MSGMAX] = match qp.qp_type {
        QpType::Smi | QpType::Gsi => (IB_MTU_4096 << 5) | 11,
        QpType::Ud if qp.lso => (IB_MTU_4096 << 5) | ilog2(caps.max_gso_sz) as u8,
        QpType::Ud => (IB_MTU_4096 << 5) | 13,
        QpType::Rc | QpType::Uc if has(IB_QP_PATH_MTU) => {
            if !(1..=IB_MTU_4096).contains(&a.path_mtu) {
                return Err(Error::Invalid);
            }
            (a.path_mtu << 5) | ilog2(caps.max_msg_sz) as u8
        }
        QpType::Rc | QpType::Uc => 0,
    };
    out[ctx::RQ_SIZE_STRIDE] = size_stride(qp.rq_wqe_cnt, qp.rq_wqe_shift);
    out[ctx::SQ_SIZE_STRIDE] = size_stride(qp.sq_wqe_cnt, qp.sq_wqe_shift);
    if rst2init {
        out[ctx::SQ_SIZE_STRIDE] |= u8::from(qp.sq_no_prefetch) << 7;
        // `xrcd` is the QP's XRC domain, 0 for the types modelled here.
    }
    put_be32(out, ctx::USR_PAGE, qp.usr_page);
    if has(IB_QP_DEST_QPN) {
        put_be32(out, ctx::REMOTE_QPN, a.dest_qp_num);
    }

    let pri = ctx::PRI_PATH;
    if has(IB_QP_PORT) && m.cur == Sqd && m.new == Sqd && !has(IB_QP_AV) {
        // `mlx4_set_sched` on the zeroed path.
        out[pri + path::SCHED_QUEUE] = a.port_num.wrapping_sub(1) << 6;
        optpar |= MLX4_QP_OPTPAR_SCHED_QUEUE;
    }
    if init2rtr {
        // IB ports have no loopback-check counter, so the port's default counter is used. QP1
        // would set RoCE mode 1 (0) in `rlkey_roce_mode`, which changes nothing.
        let counter = usize::from(qp.port)
            .checked_sub(1)
            .and_then(|i| caps.default_counter.get(i))
            .ok_or(Error::Invalid)?;
        out[pri + path::COUNTER_INDEX] = match counter {
            Some(c) => {
                optpar |= MLX4_QP_OPTPAR_COUNTER_INDEX;
                *c
            }
            None => caps.sink_counter_index,
        };
    }
    if has(IB_QP_PKEY_INDEX) {
        // C stores the `u16` index in a `u8`.
        out[pri + path::PKEY_INDEX] = a.pkey_index as u8;
        optpar |= MLX4_QP_OPTPAR_PKEY_INDEX;
    }
    if has(IB_QP_AV) {
        let port = if has(IB_QP_PORT) { a.port_num } else { qp.port };
        set_path(out, pri, &a.ah_attr, port, caps)?;
        optpar |= MLX4_QP_OPTPAR_PRIMARY_ADDR_PATH | MLX4_QP_OPTPAR_SCHED_QUEUE;
    }
    if has(IB_QP_TIMEOUT) {
        // C shifts in `int` and stores a `u8`.
        out[pri + path::ACKTO] |= a.timeout << 3;
        optpar |= MLX4_QP_OPTPAR_ACK_TIMEOUT;
    }
    if has(IB_QP_ALT_PATH) {
        let port = a.alt_port_num;
        if port == 0 || port > caps.num_ports {
            return Err(Error::Invalid);
        }
        if a.alt_pkey_index >= per_port(&caps.pkey_table_len, port) {
            return Err(Error::Invalid);
        }
        let alt = ctx::ALT_PATH;
        set_path(out, alt, &a.alt_ah_attr, port, caps)?;
        out[alt + path::PKEY_INDEX] = a.alt_pkey_index as u8;
        out[alt + path::ACKTO] = a.alt_timeout << 3;
        optpar |= MLX4_QP_OPTPAR_ALT_ADDR_PATH;
    }

    put_be32(out, ctx::PD, qp.pdn);
    put_be32(out, ctx::CQN_SEND, qp.send_cqn);
    put_be32(out, ctx::CQN_RECV, qp.recv_cqn);
    let mut params1 = ACK_REQ_FREQ;
    if qp.is_kernel {
        params1 |= MLX4_QP_BIT_FRE;
    }
    // C shifts the attributes unmasked.
    if has(IB_QP_RNR_RETRY) {
        params1 |= u32::from(a.rnr_retry) << 13;
        optpar |= MLX4_QP_OPTPAR_RNR_RETRY;
    }
    if has(IB_QP_RETRY_CNT) {
        params1 |= u32::from(a.retry_cnt) << 16;
        optpar |= MLX4_QP_OPTPAR_RETRY_COUNT;
    }
    if has(IB_QP_MAX_QP_RD_ATOMIC) {
        if a.max_rd_atomic != 0 {
            params1 |= fls(u32::from(a.max_rd_atomic) - 1) << 21;
        }
        optpar |= MLX4_QP_OPTPAR_SRA_MAX;
    }
    put_be32(out, ctx::PARAMS1, params1);
    if has(IB_QP_SQ_PSN) {
        put_be32(out, ctx::NEXT_SEND_PSN, a.sq_psn);
    }

    let mut params2 = 0;
    if has(IB_QP_MAX_DEST_RD_ATOMIC) {
        if a.max_dest_rd_atomic != 0 {
            params2 |= fls(u32::from(a.max_dest_rd_atomic) - 1) << 21;
        }
        optpar |= MLX4_QP_OPTPAR_RRA_MAX;
    }
    if has(IB_QP_ACCESS_FLAGS | IB_QP_MAX_DEST_RD_ATOMIC) {
        params2 |= access_flags(m);
        optpar |= MLX4_QP_OPTPAR_RWE | MLX4_QP_OPTPAR_RRE | MLX4_QP_OPTPAR_RAE;
    }
    if qp.srqn.is_some() {
        params2 |= MLX4_QP_BIT_RIC;
    }
    put_be32(out, ctx::PARAMS2, params2);

    let mut rnr_nextrecvpsn = 0;
    if has(IB_QP_MIN_RNR_TIMER) {
        rnr_nextrecvpsn |= u32::from(a.min_rnr_timer) << 24;
        optpar |= MLX4_QP_OPTPAR_RNR_TIMEOUT;
    }
    if has(IB_QP_RQ_PSN) {
        rnr_nextrecvpsn |= a.rq_psn;
    }
    put_be32(out, ctx::RNR_NEXTRECVPSN, rnr_nextrecvpsn);
    if has(IB_QP_QKEY) {
        put_be32(out, ctx::QKEY, a.qkey);
        optpar |= MLX4_QP_OPTPAR_Q_KEY;
    }
    if let Some(srqn) = qp.srqn {
        put_be32(out, ctx::SRQN, (1 << 24) | srqn);
    }
    if qp.rq_wqe_cnt != 0 && rst2init {
        put_be64(out, ctx::DB_REC_ADDR, qp.db_rec_addr);
    }
    if init2rtr && matches!(qp.qp_type, QpType::Gsi | QpType::Smi | QpType::Ud) {
        let bits = if qp.qp_type == QpType::Smi {
            DEFAULT_QP0_SCHED_QUEUE
        } else {
            DEFAULT_SCHED_QUEUE
        };
        out[pri + path::SCHED_QUEUE] = (qp.port.wrapping_sub(1) << 6) | bits;
    }
    if qp.is_kernel && rst2init {
        out[ctx::RLKEY_ROCE_MODE] |= 1 << 4;
    }
    Ok(optpar)
}

/// Whether the command asks for an event once the send queue is drained (`sqd_event`).
pub(crate) fn sqd_event(m: &ModifyQp) -> bool {
    m.cur == IbQpState::Rts
        && m.new == IbQpState::Sqd
        && m.mask & IB_QP_EN_SQD_ASYNC_NOTIFY != 0
        && m.attr.en_sqd_async_notify
}

/// The QP as C leaves it after the command succeeded: the access flags, responder depth and
/// port it keeps for later modifies.
pub(crate) fn after(m: &ModifyQp) -> QpInfo {
    let mut qp = m.qp;
    if m.mask & IB_QP_ACCESS_FLAGS != 0 {
        // C stores the flags in a `u8`.
        qp.atomic_rd_en = m.attr.qp_access_flags as u8;
    }
    if m.mask & IB_QP_MAX_DEST_RD_ATOMIC != 0 {
        qp.resp_depth = m.attr.max_dest_rd_atomic;
    }
    if m.mask & IB_QP_PORT != 0 {
        qp.port = m.attr.port_num;
    }
    qp
}

/// What QP0 and QP1 keep for the headers of their sends (`struct mlx4_ib_sqp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SqpAttrs {
    /// The P_Key index QP0 sends with.
    pub(crate) pkey_index: u16,
    /// The Q_Key used for sends whose Q_Key has the high bit set.
    pub(crate) qkey: u32,
    /// The PSN of the next send.
    pub(crate) send_psn: u32,
}

impl SqpAttrs {
    /// Takes the attributes of a successful modify (`store_sqp_attrs`).
    pub(crate) fn store(&mut self, attr: &QpAttrs, mask: u32) {
        if mask & IB_QP_PKEY_INDEX != 0 {
            self.pkey_index = attr.pkey_index;
        }
        if mask & IB_QP_QKEY != 0 {
            self.qkey = attr.qkey;
        }
        if mask & IB_QP_SQ_PSN != 0 {
            self.send_psn = attr.sq_psn;
        }
    }
}

/// The optional parameters a firmware transition command takes (`optpar`), by the hardware
/// states it moves between; `None` for a transition whose context the firmware does not read
/// (to reset, to error, RTS to SQD) or that does not exist. RST to INIT reads the whole
/// context, so its optional parameters are moot.
///
/// The sets follow the attributes the IBA allows at each transition (`qp_state_table` in
/// drivers/infiniband/core/verbs.c) through mlx4_ib's mapping of attributes to parameters
/// (`__mlx4_ib_modify_qp`); the software ConnectX-3 refuses a command with any other bit.
pub(crate) fn optpar_allowed(cur: u32, new: u32) -> Option<u32> {
    const ACCESS: u32 = MLX4_QP_OPTPAR_RRE | MLX4_QP_OPTPAR_RAE | MLX4_QP_OPTPAR_RWE;
    const PATH: u32 = MLX4_QP_OPTPAR_PRIMARY_ADDR_PATH | MLX4_QP_OPTPAR_SCHED_QUEUE;
    const TO_RTS: u32 = ACCESS
        | MLX4_QP_OPTPAR_ALT_ADDR_PATH
        | MLX4_QP_OPTPAR_Q_KEY
        | MLX4_QP_OPTPAR_RNR_TIMEOUT
        | MLX4_QP_OPTPAR_PM_STATE;
    const REQUESTER: u32 = MLX4_QP_OPTPAR_ACK_TIMEOUT
        | MLX4_QP_OPTPAR_RETRY_COUNT
        | MLX4_QP_OPTPAR_RNR_RETRY
        | MLX4_QP_OPTPAR_SRA_MAX;
    Some(match (cur, new) {
        (MLX4_QP_STATE_RST, MLX4_QP_STATE_INIT) => u32::MAX,
        (MLX4_QP_STATE_INIT, MLX4_QP_STATE_INIT) => {
            ACCESS | MLX4_QP_OPTPAR_PKEY_INDEX | MLX4_QP_OPTPAR_Q_KEY
        }
        (MLX4_QP_STATE_INIT, MLX4_QP_STATE_RTR) => {
            ACCESS
                | PATH
                | MLX4_QP_OPTPAR_ALT_ADDR_PATH
                | MLX4_QP_OPTPAR_PKEY_INDEX
                | MLX4_QP_OPTPAR_Q_KEY
                | MLX4_QP_OPTPAR_RNR_TIMEOUT
                | MLX4_QP_OPTPAR_RRA_MAX
                | MLX4_QP_OPTPAR_COUNTER_INDEX
        }
        (MLX4_QP_STATE_RTR, MLX4_QP_STATE_RTS) => TO_RTS | REQUESTER,
        (MLX4_QP_STATE_RTS | MLX4_QP_STATE_SQD | MLX4_QP_STATE_SQER, MLX4_QP_STATE_RTS) => TO_RTS,
        (MLX4_QP_STATE_SQD, MLX4_QP_STATE_SQD) => {
            TO_RTS | REQUESTER | PATH | MLX4_QP_OPTPAR_PKEY_INDEX | MLX4_QP_OPTPAR_RRA_MAX
        }
        _ => return None,
    })
}

#[cfg(test)]
#[path = "qpc_tests.rs"]
mod tests;
