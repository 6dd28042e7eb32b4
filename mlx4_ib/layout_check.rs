// SPDX-License-Identifier: GPL-2.0

//! Compile-time checks of the pure encoders in `hw/` against the C declarations of the same
//! structures (bindgen, through `rust_bindings::mlx4::layout`): a field the encoders place at
//! another offset than the C header does fails the build.

use crate::hw::{av, cqe, eqe, qpc, wqe};
use crate::rust_bindings::mlx4::layout as c;

macro_rules! same {
    ($($a:expr => $b:expr),* $(,)?) => {
        $(const _: () = assert!($a == $b);)*
    };
}

same! {
    qpc::QPC_SIZE => c::qpc::SIZE,
    qpc::ctx::FLAGS => c::qpc::FLAGS,
    qpc::ctx::PD => c::qpc::PD,
    qpc::ctx::MTU_MSGMAX => c::qpc::MTU_MSGMAX,
    qpc::ctx::RQ_SIZE_STRIDE => c::qpc::RQ_SIZE_STRIDE,
    qpc::ctx::SQ_SIZE_STRIDE => c::qpc::SQ_SIZE_STRIDE,
    qpc::ctx::RLKEY_ROCE_MODE => c::qpc::RLKEY_ROCE_MODE,
    qpc::ctx::USR_PAGE => c::qpc::USR_PAGE,
    qpc::ctx::LOCAL_QPN => c::qpc::LOCAL_QPN,
    qpc::ctx::REMOTE_QPN => c::qpc::REMOTE_QPN,
    qpc::ctx::PRI_PATH => c::qpc::PRI_PATH,
    qpc::ctx::ALT_PATH => c::qpc::ALT_PATH,
    qpc::ctx::PARAMS1 => c::qpc::PARAMS1,
    qpc::ctx::NEXT_SEND_PSN => c::qpc::NEXT_SEND_PSN,
    qpc::ctx::CQN_SEND => c::qpc::CQN_SEND,
    qpc::ctx::ROCE_ENTROPY => c::qpc::ROCE_ENTROPY,
    qpc::ctx::PARAMS2 => c::qpc::PARAMS2,
    qpc::ctx::RNR_NEXTRECVPSN => c::qpc::RNR_NEXTRECVPSN,
    qpc::ctx::XRCD => c::qpc::XRCD,
    qpc::ctx::CQN_RECV => c::qpc::CQN_RECV,
    qpc::ctx::DB_REC_ADDR => c::qpc::DB_REC_ADDR,
    qpc::ctx::QKEY => c::qpc::QKEY,
    qpc::ctx::SRQN => c::qpc::SRQN,
    qpc::ctx::PARAM3 => c::qpc::PARAM3,
    qpc::ctx::LOG_PAGE_SIZE => c::qpc::LOG_PAGE_SIZE,
    qpc::ctx::MTT_BASE_ADDR_H => c::qpc::MTT_BASE_ADDR_H,
    qpc::ctx::MTT_BASE_ADDR_L => c::qpc::MTT_BASE_ADDR_L,
    qpc::PATH_SIZE => c::path::SIZE,
    qpc::path::FL => c::path::FL,
    qpc::path::VLAN_CONTROL => c::path::VLAN_CONTROL,
    qpc::path::DISABLE_PKEY_CHECK => c::path::DISABLE_PKEY_CHECK,
    qpc::path::PKEY_INDEX => c::path::PKEY_INDEX,
    qpc::path::COUNTER_INDEX => c::path::COUNTER_INDEX,
    qpc::path::GRH_MYLMC => c::path::GRH_MYLMC,
    qpc::path::RLID => c::path::RLID,
    qpc::path::ACKTO => c::path::ACKTO,
    qpc::path::MGID_INDEX => c::path::MGID_INDEX,
    qpc::path::STATIC_RATE => c::path::STATIC_RATE,
    qpc::path::HOP_LIMIT => c::path::HOP_LIMIT,
    qpc::path::TCLASS_FLOWLABEL => c::path::TCLASS_FLOWLABEL,
    qpc::path::RGID => c::path::RGID,
    qpc::path::SCHED_QUEUE => c::path::SCHED_QUEUE,
    qpc::path::VLAN_INDEX => c::path::VLAN_INDEX,
    qpc::path::FEUP => c::path::FEUP,
    qpc::path::FVL_RX => c::path::FVL_RX,
    cqe::CQE_SIZE => c::sizes::CQE,
    cqe::CQE_SIZE => c::sizes::ERR_CQE,
    wqe::DS => c::sizes::CTRL_SEG,
    wqe::DS => c::sizes::MLX_SEG,
    wqe::DS => c::sizes::DATA_SEG,
    wqe::DS => c::sizes::RADDR_SEG,
    wqe::DS => c::sizes::ATOMIC_SEG,
    2 * wqe::DS => c::sizes::MASKED_ATOMIC_SEG,
    av::DATAGRAM_SIZE => c::sizes::DATAGRAM_SEG,
    av::AV_SIZE => c::sizes::AV,
    eqe::EQE_SIZE => c::sizes::EQE,
}
