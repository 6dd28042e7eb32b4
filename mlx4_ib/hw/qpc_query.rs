// SPDX-License-Identifier: GPL-2.0

//! Reading a QP context back (C: `mlx4_ib_query_qp` and `to_rdma_ah_attr` in
//! drivers/infiniband/hw/mlx4/qp.c): what the firmware's `QUERY_QP` answer says of the QP's
//! state and attributes, which only the hardware knows once it moved the QP to SQE or ERR.

use super::qp_state::{
    IbQpState, MLX4_QP_STATE_ERR, MLX4_QP_STATE_INIT, MLX4_QP_STATE_RST, MLX4_QP_STATE_RTR,
    MLX4_QP_STATE_RTS, MLX4_QP_STATE_SQD, MLX4_QP_STATE_SQER,
};
use super::qpc::{ctx, path, AhAttr, Grh, QPC_SIZE};
use super::{be16, be32};

/// `MLX4_QP_STATE_SQ_DRAINING`: SQD while the send queue drains.
const MLX4_QP_STATE_SQ_DRAINING: u32 = 7;
/// `MLX4_QP_BIT_RRE`, `MLX4_QP_BIT_RWE`, `MLX4_QP_BIT_RAE` in `params2`.
const BIT_RRE: u32 = 1 << 15;
const BIT_RWE: u32 = 1 << 14;
const BIT_RAE: u32 = 1 << 13;
/// `IB_ACCESS_REMOTE_WRITE`, `_READ`, `_ATOMIC`.
const ACCESS_REMOTE_WRITE: u32 = 1 << 1;
const ACCESS_REMOTE_READ: u32 = 1 << 2;
const ACCESS_REMOTE_ATOMIC: u32 = 1 << 3;

/// An address path as the context holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueriedPath {
    /// The port (1 or 2, from the scheduling queue).
    pub(crate) port: u8,
    /// The address.
    pub(crate) ah: AhAttr,
    /// The P_Key index.
    pub(crate) pkey_index: u16,
    /// The local ACK timeout.
    pub(crate) timeout: u8,
}

/// What `query_qp` reports from a QP context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Queried {
    /// The state (`to_ib_qp_state`); `None` for a value the firmware should not report.
    pub(crate) state: Option<IbQpState>,
    /// The send queue is draining (SQD, still sending).
    pub(crate) sq_draining: bool,
    /// `enum ib_mtu`.
    pub(crate) path_mtu: u32,
    /// `enum ib_mig_state` (`u32::MAX` for a value without one, C's -1).
    pub(crate) mig_state: u32,
    /// The Q_Key.
    pub(crate) qkey: u32,
    /// The expected receive PSN.
    pub(crate) rq_psn: u32,
    /// The next send PSN.
    pub(crate) sq_psn: u32,
    /// The destination QP.
    pub(crate) dest_qp_num: u32,
    /// `IB_ACCESS_REMOTE_*` rights.
    pub(crate) access: u32,
    /// The primary path.
    pub(crate) pri: QueriedPath,
    /// The alternate path.
    pub(crate) alt: QueriedPath,
    /// Outstanding RDMA reads and atomics as initiator.
    pub(crate) max_rd_atomic: u8,
    /// ... and as responder.
    pub(crate) max_dest_rd_atomic: u8,
    /// The minimal RNR NAK timer.
    pub(crate) min_rnr_timer: u8,
    /// Retries.
    pub(crate) retry_cnt: u8,
    /// RNR retries.
    pub(crate) rnr_retry: u8,
}

fn ib_state(s: u32) -> Option<IbQpState> {
    Some(match s {
        MLX4_QP_STATE_RST => IbQpState::Reset,
        MLX4_QP_STATE_INIT => IbQpState::Init,
        MLX4_QP_STATE_RTR => IbQpState::Rtr,
        MLX4_QP_STATE_RTS => IbQpState::Rts,
        MLX4_QP_STATE_SQD | MLX4_QP_STATE_SQ_DRAINING => IbQpState::Sqd,
        MLX4_QP_STATE_SQER => IbQpState::Sqe,
        MLX4_QP_STATE_ERR => IbQpState::Err,
        _ => return None,
    })
}

/// `to_rdma_ah_attr` for an InfiniBand port.
fn read_path(c: &[u8; QPC_SIZE], at: usize) -> QueriedPath {
    let p = &c[at..];
    let sched = p[path::SCHED_QUEUE];
    let grh_mylmc = p[path::GRH_MYLMC];
    let rate = p[path::STATIC_RATE];
    let grh = (grh_mylmc & 0x80 != 0).then(|| {
        let tf = be32(p, path::TCLASS_FLOWLABEL);
        let mut dgid = [0u8; 16];
        dgid.copy_from_slice(&p[path::RGID..path::RGID + 16]);
        Grh {
            sgid_index: p[path::MGID_INDEX],
            hop_limit: p[path::HOP_LIMIT],
            traffic_class: (tf >> 20) as u8,
            flow_label: tf & 0xf_ffff,
            dgid,
        }
    });
    QueriedPath {
        port: if sched & 0x40 != 0 { 2 } else { 1 },
        ah: AhAttr {
            dlid: be16(p, path::RLID),
            sl: (sched >> 2) & 0xf,
            src_path_bits: grh_mylmc & 0x7f,
            static_rate: if rate != 0 { rate.wrapping_sub(5) } else { 0 },
            grh,
        },
        pkey_index: u16::from(p[path::PKEY_INDEX] & 0x7f),
        timeout: p[path::ACKTO] >> 3,
    }
}

/// Reads a `QUERY_QP` answer.
pub(crate) fn parse(c: &[u8; QPC_SIZE]) -> Queried {
    let flags = be32(c, ctx::FLAGS);
    let hw_state = flags >> 28;
    let params1 = be32(c, ctx::PARAMS1);
    let params2 = be32(c, ctx::PARAMS2);
    let rnr = be32(c, ctx::RNR_NEXTRECVPSN);
    let mut access = 0;
    if params2 & BIT_RRE != 0 {
        access |= ACCESS_REMOTE_READ;
    }
    if params2 & BIT_RWE != 0 {
        access |= ACCESS_REMOTE_WRITE;
    }
    if params2 & BIT_RAE != 0 {
        access |= ACCESS_REMOTE_ATOMIC;
    }
    Queried {
        state: ib_state(hw_state),
        sq_draining: hw_state == MLX4_QP_STATE_SQ_DRAINING,
        path_mtu: u32::from(c[ctx::MTU_MSGMAX] >> 5),
        mig_state: match (flags >> 11) & 3 {
            0 => 2, // MLX4_QP_PM_ARMED: IB_MIG_ARMED
            1 => 1, // MLX4_QP_PM_REARM: IB_MIG_REARM
            3 => 0, // MLX4_QP_PM_MIGRATED: IB_MIG_MIGRATED
            _ => u32::MAX,
        },
        qkey: be32(c, ctx::QKEY),
        rq_psn: rnr & 0xff_ffff,
        sq_psn: be32(c, ctx::NEXT_SEND_PSN) & 0xff_ffff,
        dest_qp_num: be32(c, ctx::REMOTE_QPN) & 0xff_ffff,
        access,
        pri: read_path(c, ctx::PRI_PATH),
        alt: read_path(c, ctx::ALT_PATH),
        max_rd_atomic: 1 << ((params1 >> 21) & 7),
        max_dest_rd_atomic: 1 << ((params2 >> 21) & 7),
        min_rnr_timer: ((rnr >> 24) & 0x1f) as u8,
        retry_cnt: ((params1 >> 16) & 7) as u8,
        rnr_retry: ((params1 >> 13) & 7) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{put_be16, put_be32};
    use super::*;

    #[test]
    fn an_rc_context_reads_back() {
        let mut c = [0u8; QPC_SIZE];
        // SQE, migrated.
        put_be32(&mut c, ctx::FLAGS, (MLX4_QP_STATE_SQER << 28) | (3 << 11));
        c[ctx::MTU_MSGMAX] = (4 << 5) | 31;
        put_be32(&mut c, ctx::QKEY, 0x1111_1111);
        put_be32(&mut c, ctx::RNR_NEXTRECVPSN, (12 << 24) | 0x12_3456);
        put_be32(&mut c, ctx::NEXT_SEND_PSN, 0xab_cdef);
        put_be32(&mut c, ctx::REMOTE_QPN, 0x48);
        put_be32(&mut c, ctx::PARAMS1, (2 << 21) | (7 << 16) | (6 << 13));
        put_be32(&mut c, ctx::PARAMS2, (3 << 21) | BIT_RRE | BIT_RAE);
        let p = ctx::PRI_PATH;
        c[p + path::PKEY_INDEX] = 0x83;
        c[p + path::GRH_MYLMC] = 0x80 | 1;
        put_be16(&mut c, p + path::RLID, 2);
        c[p + path::ACKTO] = 14 << 3;
        c[p + path::MGID_INDEX] = 0;
        c[p + path::STATIC_RATE] = 0;
        c[p + path::HOP_LIMIT] = 64;
        put_be32(&mut c, p + path::TCLASS_FLOWLABEL, (3 << 20) | 0x12345);
        c[p + path::RGID] = 0xfe;
        c[p + path::SCHED_QUEUE] = 0x83 | (5 << 2);
        let q = parse(&c);
        assert_eq!(q.state, Some(IbQpState::Sqe));
        assert!(!q.sq_draining);
        assert_eq!((q.path_mtu, q.mig_state, q.qkey), (4, 0, 0x1111_1111));
        assert_eq!(
            (q.rq_psn, q.sq_psn, q.dest_qp_num),
            (0x12_3456, 0xab_cdef, 0x48)
        );
        assert_eq!(q.access, ACCESS_REMOTE_READ | ACCESS_REMOTE_ATOMIC);
        assert_eq!((q.max_rd_atomic, q.max_dest_rd_atomic), (4, 8));
        assert_eq!((q.min_rnr_timer, q.retry_cnt, q.rnr_retry), (12, 7, 6));
        assert_eq!(q.pri.port, 1);
        assert_eq!(q.pri.pkey_index, 3);
        assert_eq!(q.pri.timeout, 14);
        assert_eq!(
            (q.pri.ah.dlid, q.pri.ah.sl, q.pri.ah.src_path_bits),
            (2, 5, 1)
        );
        let g = q.pri.ah.grh.unwrap();
        assert_eq!(
            (g.hop_limit, g.traffic_class, g.flow_label),
            (64, 3, 0x12345)
        );
        assert_eq!(g.dgid[0], 0xfe);
    }

    #[test]
    fn draining_reads_as_sqd() {
        let mut c = [0u8; QPC_SIZE];
        put_be32(&mut c, ctx::FLAGS, MLX4_QP_STATE_SQ_DRAINING << 28);
        let q = parse(&c);
        assert_eq!(q.state, Some(IbQpState::Sqd));
        assert!(q.sq_draining);
        c[ctx::FLAGS] = 0xf0;
        assert_eq!(parse(&c).state, None);
    }
}
