// SPDX-License-Identifier: GPL-2.0

//! QP states and the transitions between them: the verbs states, the hardware states they map
//! to, the attribute mask of a modify and the table of the attributes each transition requires
//! and allows (C: `enum ib_qp_state`, `enum ib_qp_attr_mask` in `include/rdma/ib_verbs.h`;
//! `enum mlx4_qp_state` in `include/linux/mlx4/qp.h`; `qp_state_table` and
//! `ib_modify_qp_is_ok` in drivers/infiniband/core/verbs.c; `to_mlx4_state` in qp.c).
//!
//! Only the QP types of [`QpType`] are modelled (no XRC or raw packet QPs).

use super::QpType;

/// Hardware QP state: reset (`enum mlx4_qp_state`).
pub(crate) const MLX4_QP_STATE_RST: u32 = 0;
/// Hardware QP state: initialised.
pub(crate) const MLX4_QP_STATE_INIT: u32 = 1;
/// Hardware QP state: ready to receive.
pub(crate) const MLX4_QP_STATE_RTR: u32 = 2;
/// Hardware QP state: ready to send.
pub(crate) const MLX4_QP_STATE_RTS: u32 = 3;
/// Hardware QP state: send queue error.
pub(crate) const MLX4_QP_STATE_SQER: u32 = 4;
/// Hardware QP state: send queue drained.
pub(crate) const MLX4_QP_STATE_SQD: u32 = 5;
/// Hardware QP state: error.
pub(crate) const MLX4_QP_STATE_ERR: u32 = 6;

/// Attribute mask: the new state (`enum ib_qp_attr_mask`).
pub(crate) const IB_QP_STATE: u32 = 1 << 0;
/// Attribute mask: the current state as the caller believes it.
pub(crate) const IB_QP_CUR_STATE: u32 = 1 << 1;
/// Attribute mask: an event when the send queue is drained.
pub(crate) const IB_QP_EN_SQD_ASYNC_NOTIFY: u32 = 1 << 2;
/// Attribute mask: remote access flags.
pub(crate) const IB_QP_ACCESS_FLAGS: u32 = 1 << 3;
/// Attribute mask: the P_Key index.
pub(crate) const IB_QP_PKEY_INDEX: u32 = 1 << 4;
/// Attribute mask: the port.
pub(crate) const IB_QP_PORT: u32 = 1 << 5;
/// Attribute mask: the Q_Key.
pub(crate) const IB_QP_QKEY: u32 = 1 << 6;
/// Attribute mask: the primary address vector.
pub(crate) const IB_QP_AV: u32 = 1 << 7;
/// Attribute mask: the path MTU.
pub(crate) const IB_QP_PATH_MTU: u32 = 1 << 8;
/// Attribute mask: the ACK timeout.
pub(crate) const IB_QP_TIMEOUT: u32 = 1 << 9;
/// Attribute mask: the retry count.
pub(crate) const IB_QP_RETRY_CNT: u32 = 1 << 10;
/// Attribute mask: the RNR retry count.
pub(crate) const IB_QP_RNR_RETRY: u32 = 1 << 11;
/// Attribute mask: the receive PSN.
pub(crate) const IB_QP_RQ_PSN: u32 = 1 << 12;
/// Attribute mask: the initiator depth.
pub(crate) const IB_QP_MAX_QP_RD_ATOMIC: u32 = 1 << 13;
/// Attribute mask: the alternate path.
pub(crate) const IB_QP_ALT_PATH: u32 = 1 << 14;
/// Attribute mask: the minimal RNR NAK timer.
pub(crate) const IB_QP_MIN_RNR_TIMER: u32 = 1 << 15;
/// Attribute mask: the send PSN.
pub(crate) const IB_QP_SQ_PSN: u32 = 1 << 16;
/// Attribute mask: the responder depth.
pub(crate) const IB_QP_MAX_DEST_RD_ATOMIC: u32 = 1 << 17;
/// Attribute mask: the path migration state.
pub(crate) const IB_QP_PATH_MIG_STATE: u32 = 1 << 18;
/// Attribute mask: the capabilities.
pub(crate) const IB_QP_CAP: u32 = 1 << 19;
/// Attribute mask: the destination QP.
pub(crate) const IB_QP_DEST_QPN: u32 = 1 << 20;
/// Attribute mask: the rate limit (raw packet QPs).
pub(crate) const IB_QP_RATE_LIMIT: u32 = 1 << 25;
/// The attribute bits a driver may be given (`IB_QP_ATTR_STANDARD_BITS`).
pub(crate) const IB_QP_ATTR_STANDARD_BITS: u32 = (1 << 21) - 1;

/// A verbs QP state (`enum ib_qp_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum IbQpState {
    /// Reset.
    #[default]
    Reset = 0,
    /// Initialised.
    Init = 1,
    /// Ready to receive.
    Rtr = 2,
    /// Ready to send.
    Rts = 3,
    /// Send queue drained.
    Sqd = 4,
    /// Send queue error.
    Sqe = 5,
    /// Error.
    Err = 6,
}

impl IbQpState {
    /// The state of a raw `enum ib_qp_state` value.
    pub(crate) fn from_raw(v: u32) -> Option<Self> {
        Some(match v {
            0 => Self::Reset,
            1 => Self::Init,
            2 => Self::Rtr,
            3 => Self::Rts,
            4 => Self::Sqd,
            5 => Self::Sqe,
            6 => Self::Err,
            _ => return None,
        })
    }

    /// The hardware state (`to_mlx4_state`).
    pub(crate) fn to_mlx4(self) -> u32 {
        match self {
            Self::Reset => MLX4_QP_STATE_RST,
            Self::Init => MLX4_QP_STATE_INIT,
            Self::Rtr => MLX4_QP_STATE_RTR,
            Self::Rts => MLX4_QP_STATE_RTS,
            Self::Sqd => MLX4_QP_STATE_SQD,
            Self::Sqe => MLX4_QP_STATE_SQER,
            Self::Err => MLX4_QP_STATE_ERR,
        }
    }
}

/// A path migration state (`enum ib_mig_state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum MigState {
    /// Migrated.
    #[default]
    Migrated,
    /// Rearm.
    Rearm,
    /// Armed.
    Armed,
}

impl MigState {
    /// The state of a raw `enum ib_mig_state` value (MIGRATED 0, REARM 1, ARMED 2); other
    /// values read as migrated.
    pub(crate) fn from_raw(v: u32) -> Self {
        match v {
            1 => Self::Rearm,
            2 => Self::Armed,
            _ => Self::Migrated,
        }
    }
}

/// The attributes a transition requires and those it allows, for one QP type (the
/// `qp_state_table` of verbs.c); `None` for a transition that does not exist.
fn transition_params(cur: IbQpState, new: IbQpState, t: QpType) -> Option<(u32, u32)> {
    use IbQpState::*;
    use QpType::*;
    let (req, opt) = match (cur, new) {
        (Reset | Init | Rtr | Rts | Sqd | Sqe | Err, Reset) => (0, 0),
        (Init | Rtr | Rts | Sqd | Sqe | Err, Err) => (0, 0),
        (Reset, Init) => match t {
            Ud => (IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY, 0),
            Uc | Rc => (IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_ACCESS_FLAGS, 0),
            Smi | Gsi => (IB_QP_PKEY_INDEX | IB_QP_QKEY, 0),
        },
        (Init, Init) => match t {
            Ud => (0, IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY),
            Uc | Rc => (0, IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_ACCESS_FLAGS),
            Smi | Gsi => (0, IB_QP_PKEY_INDEX | IB_QP_QKEY),
        },
        (Init, Rtr) => {
            let uc = IB_QP_AV | IB_QP_PATH_MTU | IB_QP_DEST_QPN | IB_QP_RQ_PSN;
            let conn_opt = IB_QP_ALT_PATH | IB_QP_ACCESS_FLAGS | IB_QP_PKEY_INDEX;
            match t {
                Ud | Smi | Gsi => (0, IB_QP_PKEY_INDEX | IB_QP_QKEY),
                Uc => (uc, conn_opt),
                Rc => (
                    uc | IB_QP_MAX_DEST_RD_ATOMIC | IB_QP_MIN_RNR_TIMER,
                    conn_opt,
                ),
            }
        }
        (Rtr, Rts) => match t {
            Ud | Smi | Gsi => (IB_QP_SQ_PSN, IB_QP_CUR_STATE | IB_QP_QKEY),
            Uc => (
                IB_QP_SQ_PSN,
                IB_QP_CUR_STATE | IB_QP_ALT_PATH | IB_QP_ACCESS_FLAGS | IB_QP_PATH_MIG_STATE,
            ),
            Rc => (
                IB_QP_TIMEOUT
                    | IB_QP_RETRY_CNT
                    | IB_QP_RNR_RETRY
                    | IB_QP_SQ_PSN
                    | IB_QP_MAX_QP_RD_ATOMIC,
                IB_QP_CUR_STATE
                    | IB_QP_ALT_PATH
                    | IB_QP_ACCESS_FLAGS
                    | IB_QP_MIN_RNR_TIMER
                    | IB_QP_PATH_MIG_STATE,
            ),
        },
        (Rts | Sqd, Rts) => match t {
            Ud | Smi | Gsi => (0, IB_QP_CUR_STATE | IB_QP_QKEY),
            Uc => (
                0,
                IB_QP_CUR_STATE | IB_QP_ACCESS_FLAGS | IB_QP_ALT_PATH | IB_QP_PATH_MIG_STATE,
            ),
            Rc => (
                0,
                IB_QP_CUR_STATE
                    | IB_QP_ACCESS_FLAGS
                    | IB_QP_ALT_PATH
                    | IB_QP_PATH_MIG_STATE
                    | IB_QP_MIN_RNR_TIMER,
            ),
        },
        (Rts, Sqd) => (0, IB_QP_EN_SQD_ASYNC_NOTIFY),
        (Sqd, Sqd) => match t {
            Ud | Smi | Gsi => (0, IB_QP_PKEY_INDEX | IB_QP_QKEY),
            Uc => (
                0,
                IB_QP_AV
                    | IB_QP_ALT_PATH
                    | IB_QP_ACCESS_FLAGS
                    | IB_QP_PKEY_INDEX
                    | IB_QP_PATH_MIG_STATE,
            ),
            Rc => (
                0,
                IB_QP_PORT
                    | IB_QP_AV
                    | IB_QP_TIMEOUT
                    | IB_QP_RETRY_CNT
                    | IB_QP_RNR_RETRY
                    | IB_QP_MAX_QP_RD_ATOMIC
                    | IB_QP_MAX_DEST_RD_ATOMIC
                    | IB_QP_ALT_PATH
                    | IB_QP_ACCESS_FLAGS
                    | IB_QP_PKEY_INDEX
                    | IB_QP_MIN_RNR_TIMER
                    | IB_QP_PATH_MIG_STATE,
            ),
        },
        (Sqe, Rts) => match t {
            Ud | Smi | Gsi => (0, IB_QP_CUR_STATE | IB_QP_QKEY),
            Uc => (0, IB_QP_CUR_STATE | IB_QP_ACCESS_FLAGS),
            Rc => (0, 0),
        },
        _ => return None,
    };
    Some((req, opt))
}

/// Whether a QP of type `t` may move from `cur` to `new` with the attributes of `mask`
/// (`ib_modify_qp_is_ok`).
pub(crate) fn modify_is_ok(cur: IbQpState, new: IbQpState, t: QpType, mask: u32) -> bool {
    use IbQpState::*;
    if mask & IB_QP_CUR_STATE != 0 && !matches!(cur, Rtr | Rts | Sqd | Sqe) {
        return false;
    }
    let Some((req, opt)) = transition_params(cur, new, t) else {
        return false;
    };
    mask & req == req && mask & !(req | opt | IB_QP_STATE) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use IbQpState::*;

    #[test]
    fn bring_up_masks() {
        let ud_init = IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY;
        assert!(modify_is_ok(Reset, Init, QpType::Ud, ud_init));
        // A required attribute missing.
        assert!(!modify_is_ok(
            Reset,
            Init,
            QpType::Ud,
            ud_init & !IB_QP_QKEY
        ));
        // QP0 and QP1 have their port already and may not be given one.
        assert!(!modify_is_ok(Reset, Init, QpType::Gsi, ud_init));
        assert!(modify_is_ok(
            Reset,
            Init,
            QpType::Smi,
            IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_QKEY
        ));
        // Connected QPs take access flags instead of a Q_Key.
        let rc_init = IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_ACCESS_FLAGS;
        assert!(modify_is_ok(Reset, Init, QpType::Rc, rc_init));
        assert!(!modify_is_ok(Reset, Init, QpType::Rc, rc_init | IB_QP_QKEY));

        assert!(modify_is_ok(Init, Rtr, QpType::Ud, IB_QP_STATE));
        assert!(!modify_is_ok(Init, Rtr, QpType::Ud, IB_QP_STATE | IB_QP_AV));
        let uc_rtr = IB_QP_STATE | IB_QP_AV | IB_QP_PATH_MTU | IB_QP_DEST_QPN | IB_QP_RQ_PSN;
        assert!(modify_is_ok(Init, Rtr, QpType::Uc, uc_rtr));
        assert!(!modify_is_ok(Init, Rtr, QpType::Rc, uc_rtr));
        let rc_rtr = uc_rtr | IB_QP_MAX_DEST_RD_ATOMIC | IB_QP_MIN_RNR_TIMER;
        assert!(modify_is_ok(Init, Rtr, QpType::Rc, rc_rtr | IB_QP_ALT_PATH));
        assert!(!modify_is_ok(Init, Rtr, QpType::Rc, rc_rtr | IB_QP_SQ_PSN));

        assert!(modify_is_ok(
            Rtr,
            Rts,
            QpType::Gsi,
            IB_QP_STATE | IB_QP_SQ_PSN
        ));
        assert!(!modify_is_ok(Rtr, Rts, QpType::Gsi, IB_QP_STATE));
        let rc_rts = IB_QP_STATE
            | IB_QP_TIMEOUT
            | IB_QP_RETRY_CNT
            | IB_QP_RNR_RETRY
            | IB_QP_SQ_PSN
            | IB_QP_MAX_QP_RD_ATOMIC;
        assert!(modify_is_ok(Rtr, Rts, QpType::Rc, rc_rts));
        assert!(!modify_is_ok(Rtr, Rts, QpType::Uc, rc_rts));
        assert!(modify_is_ok(
            Rtr,
            Rts,
            QpType::Rc,
            rc_rts | IB_QP_CUR_STATE | IB_QP_PATH_MIG_STATE
        ));
    }

    #[test]
    fn other_transitions() {
        // Any state but RESET goes to ERR; every state goes to RESET.
        for s in [Init, Rtr, Rts, Sqd, Sqe, Err] {
            assert!(modify_is_ok(s, Err, QpType::Rc, IB_QP_STATE));
            assert!(modify_is_ok(s, Reset, QpType::Ud, IB_QP_STATE));
        }
        assert!(modify_is_ok(Reset, Reset, QpType::Ud, 0));
        assert!(!modify_is_ok(Reset, Err, QpType::Ud, IB_QP_STATE));
        assert!(!modify_is_ok(Reset, Rtr, QpType::Ud, IB_QP_STATE));
        assert!(!modify_is_ok(Rts, Rtr, QpType::Rc, IB_QP_STATE));
        assert!(!modify_is_ok(Err, Rts, QpType::Rc, IB_QP_STATE));
        // The current state may only be named from RTR, RTS, SQD and SQE.
        assert!(!modify_is_ok(
            Init,
            Err,
            QpType::Ud,
            IB_QP_STATE | IB_QP_CUR_STATE
        ));
        assert!(modify_is_ok(
            Rts,
            Rts,
            QpType::Ud,
            IB_QP_CUR_STATE | IB_QP_QKEY
        ));
        // Draining, and back.
        assert!(modify_is_ok(
            Rts,
            Sqd,
            QpType::Gsi,
            IB_QP_STATE | IB_QP_EN_SQD_ASYNC_NOTIFY
        ));
        assert!(modify_is_ok(
            Sqd,
            Sqd,
            QpType::Rc,
            IB_QP_PORT | IB_QP_AV | IB_QP_TIMEOUT
        ));
        assert!(!modify_is_ok(Sqd, Sqd, QpType::Uc, IB_QP_PORT));
        assert!(modify_is_ok(Sqd, Rts, QpType::Rc, IB_QP_MIN_RNR_TIMER));
        // Recovering from a send queue error: RC has nothing optional.
        assert!(modify_is_ok(Sqe, Rts, QpType::Uc, IB_QP_ACCESS_FLAGS));
        assert!(!modify_is_ok(Sqe, Rts, QpType::Rc, IB_QP_ACCESS_FLAGS));
        assert!(modify_is_ok(Sqe, Rts, QpType::Rc, IB_QP_STATE));
        assert!(modify_is_ok(Sqe, Rts, QpType::Ud, IB_QP_STATE | IB_QP_QKEY));
    }

    #[test]
    fn hardware_states() {
        let all = [Reset, Init, Rtr, Rts, Sqd, Sqe, Err];
        let hw = [0, 1, 2, 3, 5, 4, 6];
        for (s, h) in all.iter().zip(hw) {
            assert_eq!(s.to_mlx4(), h);
        }
        assert_eq!(IB_QP_ATTR_STANDARD_BITS, 0x1f_ffff);
        assert_eq!(IB_QP_DEST_QPN, 0x10_0000);
    }

    #[test]
    fn raw_states() {
        assert_eq!(IbQpState::from_raw(0), Some(IbQpState::Reset));
        assert_eq!(IbQpState::from_raw(3), Some(IbQpState::Rts));
        assert_eq!(IbQpState::from_raw(6), Some(IbQpState::Err));
        assert_eq!(IbQpState::from_raw(7), None);
        assert_eq!(MigState::from_raw(2), MigState::Armed);
        assert_eq!(MigState::from_raw(9), MigState::Migrated);
    }
}
