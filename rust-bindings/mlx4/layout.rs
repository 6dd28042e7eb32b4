// SPDX-License-Identifier: GPL-2.0

//! The layouts of the ConnectX-3 hardware structures as the C headers declare them
//! (`include/linux/mlx4/qp.h`, `cq.h`, `device.h`), taken from the generated bindings, so
//! that a driver checks its own encoders (`mlx4_ib/hw`) against them at compile time.

use crate::rust_bindings::raw;
use core::mem::{offset_of, size_of};

/// `struct mlx4_qp_context`.
pub(crate) mod qpc {
    use super::*;
    pub(crate) const SIZE: usize = size_of::<raw::mlx4_qp_context>();
    pub(crate) const FLAGS: usize = offset_of!(raw::mlx4_qp_context, flags);
    pub(crate) const PD: usize = offset_of!(raw::mlx4_qp_context, pd);
    pub(crate) const MTU_MSGMAX: usize = offset_of!(raw::mlx4_qp_context, mtu_msgmax);
    pub(crate) const RQ_SIZE_STRIDE: usize = offset_of!(raw::mlx4_qp_context, rq_size_stride);
    pub(crate) const SQ_SIZE_STRIDE: usize = offset_of!(raw::mlx4_qp_context, sq_size_stride);
    pub(crate) const RLKEY_ROCE_MODE: usize = offset_of!(raw::mlx4_qp_context, rlkey_roce_mode);
    pub(crate) const USR_PAGE: usize = offset_of!(raw::mlx4_qp_context, usr_page);
    pub(crate) const LOCAL_QPN: usize = offset_of!(raw::mlx4_qp_context, local_qpn);
    pub(crate) const REMOTE_QPN: usize = offset_of!(raw::mlx4_qp_context, remote_qpn);
    pub(crate) const PRI_PATH: usize = offset_of!(raw::mlx4_qp_context, pri_path);
    pub(crate) const ALT_PATH: usize = offset_of!(raw::mlx4_qp_context, alt_path);
    pub(crate) const PARAMS1: usize = offset_of!(raw::mlx4_qp_context, params1);
    pub(crate) const NEXT_SEND_PSN: usize = offset_of!(raw::mlx4_qp_context, next_send_psn);
    pub(crate) const CQN_SEND: usize = offset_of!(raw::mlx4_qp_context, cqn_send);
    pub(crate) const ROCE_ENTROPY: usize = offset_of!(raw::mlx4_qp_context, roce_entropy);
    pub(crate) const PARAMS2: usize = offset_of!(raw::mlx4_qp_context, params2);
    pub(crate) const RNR_NEXTRECVPSN: usize = offset_of!(raw::mlx4_qp_context, rnr_nextrecvpsn);
    pub(crate) const XRCD: usize = offset_of!(raw::mlx4_qp_context, xrcd);
    pub(crate) const CQN_RECV: usize = offset_of!(raw::mlx4_qp_context, cqn_recv);
    pub(crate) const DB_REC_ADDR: usize = offset_of!(raw::mlx4_qp_context, db_rec_addr);
    pub(crate) const QKEY: usize = offset_of!(raw::mlx4_qp_context, qkey);
    pub(crate) const SRQN: usize = offset_of!(raw::mlx4_qp_context, srqn);
    pub(crate) const PARAM3: usize = offset_of!(raw::mlx4_qp_context, param3);
    pub(crate) const LOG_PAGE_SIZE: usize = offset_of!(raw::mlx4_qp_context, log_page_size);
    pub(crate) const MTT_BASE_ADDR_H: usize = offset_of!(raw::mlx4_qp_context, mtt_base_addr_h);
    pub(crate) const MTT_BASE_ADDR_L: usize = offset_of!(raw::mlx4_qp_context, mtt_base_addr_l);
}

/// `struct mlx4_qp_path`.
pub(crate) mod path {
    use super::*;
    pub(crate) const SIZE: usize = size_of::<raw::mlx4_qp_path>();
    pub(crate) const FL: usize = offset_of!(raw::mlx4_qp_path, fl);
    pub(crate) const VLAN_CONTROL: usize = offset_of!(raw::mlx4_qp_path, __bindgen_anon_1);
    pub(crate) const DISABLE_PKEY_CHECK: usize = offset_of!(raw::mlx4_qp_path, disable_pkey_check);
    pub(crate) const PKEY_INDEX: usize = offset_of!(raw::mlx4_qp_path, pkey_index);
    pub(crate) const COUNTER_INDEX: usize = offset_of!(raw::mlx4_qp_path, counter_index);
    pub(crate) const GRH_MYLMC: usize = offset_of!(raw::mlx4_qp_path, grh_mylmc);
    pub(crate) const RLID: usize = offset_of!(raw::mlx4_qp_path, rlid);
    pub(crate) const ACKTO: usize = offset_of!(raw::mlx4_qp_path, ackto);
    pub(crate) const MGID_INDEX: usize = offset_of!(raw::mlx4_qp_path, mgid_index);
    pub(crate) const STATIC_RATE: usize = offset_of!(raw::mlx4_qp_path, static_rate);
    pub(crate) const HOP_LIMIT: usize = offset_of!(raw::mlx4_qp_path, hop_limit);
    pub(crate) const TCLASS_FLOWLABEL: usize = offset_of!(raw::mlx4_qp_path, tclass_flowlabel);
    pub(crate) const RGID: usize = offset_of!(raw::mlx4_qp_path, rgid);
    pub(crate) const SCHED_QUEUE: usize = offset_of!(raw::mlx4_qp_path, sched_queue);
    pub(crate) const VLAN_INDEX: usize = offset_of!(raw::mlx4_qp_path, vlan_index);
    pub(crate) const FEUP: usize = offset_of!(raw::mlx4_qp_path, feup);
    pub(crate) const FVL_RX: usize = offset_of!(raw::mlx4_qp_path, fvl_rx);
}

/// Sizes of the queue entries and work request segments.
pub(crate) mod sizes {
    use super::*;
    pub(crate) const CQE: usize = size_of::<raw::mlx4_cqe>();
    pub(crate) const ERR_CQE: usize = size_of::<raw::mlx4_err_cqe>();
    pub(crate) const CTRL_SEG: usize = size_of::<raw::mlx4_wqe_ctrl_seg>();
    pub(crate) const MLX_SEG: usize = size_of::<raw::mlx4_wqe_mlx_seg>();
    pub(crate) const DATA_SEG: usize = size_of::<raw::mlx4_wqe_data_seg>();
    pub(crate) const RADDR_SEG: usize = size_of::<raw::mlx4_wqe_raddr_seg>();
    pub(crate) const ATOMIC_SEG: usize = size_of::<raw::mlx4_wqe_atomic_seg>();
    pub(crate) const MASKED_ATOMIC_SEG: usize = size_of::<raw::mlx4_wqe_masked_atomic_seg>();
    pub(crate) const DATAGRAM_SEG: usize = size_of::<raw::mlx4_wqe_datagram_seg>();
    pub(crate) const AV: usize = size_of::<raw::mlx4_av>();
    pub(crate) const EQE: usize = size_of::<raw::mlx4_eqe>();
}
