// SPDX-License-Identifier: GPL-2.0

//! Tests of the QP context against bytes worked out by hand from `__mlx4_ib_modify_qp`.

use super::*;
use crate::mlx4_hw::qp_state::IB_QP_RNR_RETRY;

/// A two-port ConnectX-3.
const CAPS: Caps = Caps {
    num_ports: 2,
    pkey_table_len: [128, 128],
    gid_table_len: [128, 128],
    max_qp_init_rdma: 16,
    max_qp_dest_rdma: 16,
    max_msg_sz: 1 << 31,
    max_gso_sz: 65472,
    // Hardware rates 7 (2.5 Gb/s) and 10 (5 Gb/s) only.
    stat_rate_support: (1 << 10) | (1 << 7),
    default_counter: [Some(3), Some(4)],
    sink_counter_index: 127,
};

/// The usual UAR index of the tests.
const USR_PAGE: [u8; 4] = [0, 0, 0, 2];

/// A context of zeros but for `fields`, each an offset and its bytes.
fn expect(fields: &[(usize, &[u8])]) -> [u8; QPC_SIZE] {
    let mut c = [0; QPC_SIZE];
    for (off, bytes) in fields {
        c[*off..*off + bytes.len()].copy_from_slice(bytes);
    }
    c
}

/// Checks and builds `m`, returning the context and the optional parameters.
fn run(m: &ModifyQp) -> ([u8; QPC_SIZE], u32) {
    assert_eq!(check(m), Ok(true));
    let mut out = [0xa5; QPC_SIZE];
    let optpar = build(m, &mut out).unwrap();
    // Every parameter is one the firmware takes at this transition.
    let allowed = optpar_allowed(m.cur.to_mlx4(), m.new.to_mlx4());
    assert_eq!(
        optpar & !allowed.unwrap_or(0),
        0,
        "{:?} to {:?}",
        m.cur,
        m.new
    );
    (out, optpar)
}

fn modify(qp: QpInfo, cur: IbQpState, new: IbQpState, mask: u32, attr: QpAttrs) -> ModifyQp {
    ModifyQp {
        caps: CAPS,
        qp,
        cur,
        new,
        mask,
        attr,
    }
}

fn ud_qp() -> QpInfo {
    QpInfo {
        qp_type: QpType::Ud,
        is_kernel: true,
        port: 0,
        pdn: 0x12,
        sq_wqe_cnt: 256,
        sq_wqe_shift: 7,
        rq_wqe_cnt: 256,
        rq_wqe_shift: 4,
        sq_no_prefetch: false,
        inl_recv: false,
        lso: false,
        srqn: None,
        send_cqn: 0x80,
        recv_cqn: 0x81,
        usr_page: 2,
        db_rec_addr: 0x1_2345_6000,
        resp_depth: 0,
        atomic_rd_en: 0,
    }
}

#[test]
fn ud_bring_up() {
    use IbQpState::*;
    let attr = QpAttrs {
        pkey_index: 1,
        port_num: 1,
        qkey: 0x0b1b,
        ..Default::default()
    };
    let m = modify(
        ud_qp(),
        Reset,
        Init,
        IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY,
        attr,
    );
    let (c, optpar) = run(&m);
    let want = expect(&[
        (0x00, &[0x10, 0x03, 0x18, 0x00]), // flags: INIT << 28 | ST_UD << 16 | MIGRATED << 11
        (0x04, &[0x00, 0x00, 0x00, 0x12]), // pd
        (0x08, &[0xad]),                   // mtu_msgmax: 4096 << 5 | 13
        (0x09, &[0x40]),                   // rq_size_stride: log2(256) << 3 | (4 - 4)
        (0x0a, &[0x43]),                   // sq_size_stride: log2(256) << 3 | (7 - 4)
        (0x0b, &[0x10]),                   // rlkey_roce_mode: reserved lkey (kernel, RST2INIT)
        (0x0c, &USR_PAGE),                 // usr_page
        (0x1b, &[0x01]),                   // pri_path.pkey_index
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1: ACK_REQ_FREQ 8 << 28 | FRE
        (0x7c, &[0x00, 0x00, 0x00, 0x80]), // cqn_send
        (0x9c, &[0x00, 0x00, 0x00, 0x81]), // cqn_recv
        (0xa0, &[0, 0, 0, 0x01, 0x23, 0x45, 0x60, 0x00]), // db_rec_addr
        (0xa8, &[0x00, 0x00, 0x0b, 0x1b]), // qkey
    ]);
    assert_eq!(c, want);
    assert_eq!(
        optpar,
        MLX4_QP_OPTPAR_PKEY_INDEX | MLX4_QP_OPTPAR_Q_KEY // 0x30
    );
    let qp = after(&m);
    assert_eq!(qp.port, 1);

    let m = modify(qp, Init, Rtr, IB_QP_STATE, QpAttrs::default());
    let (c, optpar) = run(&m);
    let want = expect(&[
        (0x00, &[0x20, 0x03, 0x18, 0x00]), // flags: RTR << 28 | ST_UD << 16 | MIGRATED << 11
        (0x04, &[0x00, 0x00, 0x00, 0x12]), // pd
        (0x08, &[0xad]),                   // mtu_msgmax
        (0x09, &[0x40]),                   // rq_size_stride
        (0x0a, &[0x43]),                   // sq_size_stride
        (0x0c, &USR_PAGE),                 // usr_page
        (0x1c, &[0x03]),                   // pri_path.counter_index: port 1's default
        (0x38, &[0x83]),                   // pri_path.sched_queue: (1 - 1) << 6 | 0x83
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1
        (0x7c, &[0x00, 0x00, 0x00, 0x80]), // cqn_send
        (0x9c, &[0x00, 0x00, 0x00, 0x81]), // cqn_recv
    ]);
    assert_eq!(c, want);
    assert_eq!(optpar, MLX4_QP_OPTPAR_COUNTER_INDEX); // 0x100000

    let attr = QpAttrs {
        sq_psn: 0x12_3456,
        ..Default::default()
    };
    let m = modify(qp, Rtr, Rts, IB_QP_STATE | IB_QP_SQ_PSN, attr);
    let (c, optpar) = run(&m);
    let want = expect(&[
        (0x00, &[0x30, 0x03, 0x18, 0x00]), // flags: RTS << 28 | ST_UD << 16 | MIGRATED << 11
        (0x04, &[0x00, 0x00, 0x00, 0x12]), // pd
        (0x08, &[0xad]),                   // mtu_msgmax
        (0x09, &[0x40]),                   // rq_size_stride
        (0x0a, &[0x43]),                   // sq_size_stride
        (0x0c, &USR_PAGE),                 // usr_page
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1
        (0x78, &[0x00, 0x12, 0x34, 0x56]), // next_send_psn
        (0x7c, &[0x00, 0x00, 0x00, 0x80]), // cqn_send
        (0x9c, &[0x00, 0x00, 0x00, 0x81]), // cqn_recv
    ]);
    assert_eq!(c, want);
    assert_eq!(optpar, 0);
}

#[test]
fn ud_variants() {
    use IbQpState::*;
    let mut qp = ud_qp();
    qp.port = 2;
    qp.lso = true;
    qp.is_kernel = false;
    qp.sq_no_prefetch = true;
    qp.inl_recv = true;
    let attr = QpAttrs {
        port_num: 2,
        ..Default::default()
    };
    let m = modify(
        qp,
        Reset,
        Init,
        IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY,
        attr,
    );
    let (c, _) = run(&m);
    // LSO: the largest message is the largest LSO send, log2(65472) = 15.
    assert_eq!(c[0x08], 0xaf);
    // No send prefetch, asked by the user.
    assert_eq!(c[0x0a], 0xc3);
    // A user QP: no reserved lkey, no fast registration.
    assert_eq!(c[0x0b], 0x00);
    assert_eq!(c[0x70..0x74], [0x80, 0, 0, 0]);
    // param3: inline receive.
    assert_eq!(c[0xc0..0xc4], [0x02, 0, 0, 0]);
    // The state comes from the mask: without IB_QP_STATE the context says INIT all the same.
    assert_eq!(c[0..4], [0x10, 0x03, 0x18, 0x00]);

    // At RTR the scheduling queue names port 2 and the counter is port 2's.
    let m = modify(qp, Init, Rtr, IB_QP_STATE, QpAttrs::default());
    let (c, _) = run(&m);
    assert_eq!(c[0x38], 0xc3);
    assert_eq!(c[0x1c], 4);
    assert_eq!(c[0x0a], 0x43);

    // Without a default counter the sink counter is named and no optional parameter set.
    let mut m = modify(qp, Init, Rtr, IB_QP_STATE, QpAttrs::default());
    m.caps.default_counter = [None, None];
    let (c, optpar) = run(&m);
    assert_eq!(c[0x1c], 127);
    assert_eq!(optpar, 0);
}

fn gsi_qp(qp_type: QpType, port: u8) -> QpInfo {
    QpInfo {
        qp_type,
        is_kernel: true,
        port,
        pdn: 0x3,
        sq_wqe_cnt: 256,
        sq_wqe_shift: 8,
        rq_wqe_cnt: 512,
        rq_wqe_shift: 5,
        sq_no_prefetch: false,
        inl_recv: false,
        lso: false,
        srqn: None,
        send_cqn: 0x40,
        recv_cqn: 0x41,
        usr_page: 2,
        db_rec_addr: 0x2000,
        resp_depth: 0,
        atomic_rd_en: 0,
    }
}

#[test]
fn gsi_bring_up() {
    use IbQpState::*;
    let qp = gsi_qp(QpType::Gsi, 1);
    let attr = QpAttrs {
        qkey: 0x8001_0000,
        ..Default::default()
    };
    let m = modify(
        qp,
        Reset,
        Init,
        IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_QKEY,
        attr,
    );
    let (c, optpar) = run(&m);
    let want = expect(&[
        (0x00, &[0x10, 0x07, 0x18, 0x00]), // flags: INIT << 28 | ST_MLX << 16 | MIGRATED << 11
        (0x04, &[0x00, 0x00, 0x00, 0x03]), // pd
        (0x08, &[0xab]),                   // mtu_msgmax: 4096 << 5 | 11
        (0x09, &[0x49]),                   // rq_size_stride: log2(512) << 3 | (5 - 4)
        (0x0a, &[0x44]),                   // sq_size_stride: log2(256) << 3 | (8 - 4)
        (0x0b, &[0x10]),                   // rlkey_roce_mode
        (0x0c, &USR_PAGE),                 // usr_page
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1
        (0x7c, &[0x00, 0x00, 0x00, 0x40]), // cqn_send
        (0x9c, &[0x00, 0x00, 0x00, 0x41]), // cqn_recv
        (0xa0, &[0, 0, 0, 0, 0, 0, 0x20, 0x00]), // db_rec_addr
        (0xa8, &[0x80, 0x01, 0x00, 0x00]), // qkey: IB_QP1_QKEY
    ]);
    assert_eq!(c, want);
    assert_eq!(optpar, 0x30);

    let m = modify(qp, Init, Rtr, IB_QP_STATE, QpAttrs::default());
    let (c, optpar) = run(&m);
    let want = expect(&[
        (0x00, &[0x20, 0x07, 0x18, 0x00]), // flags
        (0x04, &[0x00, 0x00, 0x00, 0x03]), // pd
        (0x08, &[0xab]),                   // mtu_msgmax
        (0x09, &[0x49]),                   // rq_size_stride
        (0x0a, &[0x44]),                   // sq_size_stride
        (0x0c, &USR_PAGE),                 // usr_page
        (0x1c, &[0x03]),                   // pri_path.counter_index
        (0x38, &[0x83]),                   // pri_path.sched_queue
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1
        (0x7c, &[0x00, 0x00, 0x00, 0x40]), // cqn_send
        (0x9c, &[0x00, 0x00, 0x00, 0x41]), // cqn_recv
    ]);
    assert_eq!(c, want);
    assert_eq!(optpar, MLX4_QP_OPTPAR_COUNTER_INDEX);

    let m = modify(qp, Rtr, Rts, IB_QP_STATE | IB_QP_SQ_PSN, QpAttrs::default());
    let (c, optpar) = run(&m);
    let mut want_rts = want;
    want_rts[0] = 0x30; // flags: RTS
    want_rts[0x1c] = 0; // no counter, no scheduling queue past RTR
    want_rts[0x38] = 0;
    assert_eq!(c, want_rts);
    assert_eq!(optpar, 0);

    let mut sqp = SqpAttrs::default();
    sqp.store(&attr, IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_QKEY);
    sqp.store(
        &QpAttrs {
            sq_psn: 7,
            ..Default::default()
        },
        IB_QP_STATE | IB_QP_SQ_PSN,
    );
    assert_eq!(
        sqp,
        SqpAttrs {
            pkey_index: 0,
            qkey: 0x8001_0000,
            send_psn: 7
        }
    );
}

#[test]
fn smi_sched_queue() {
    use IbQpState::*;
    let m = modify(
        gsi_qp(QpType::Smi, 2),
        Init,
        Rtr,
        IB_QP_STATE,
        QpAttrs::default(),
    );
    let (c, _) = run(&m);
    let want = expect(&[
        (0x00, &[0x20, 0x07, 0x18, 0x00]), // flags: RTR, ST_MLX, MIGRATED
        (0x04, &[0x00, 0x00, 0x00, 0x03]), // pd
        (0x08, &[0xab]),                   // mtu_msgmax
        (0x09, &[0x49]),                   // rq_size_stride
        (0x0a, &[0x44]),                   // sq_size_stride
        (0x0c, &USR_PAGE),                 // usr_page
        (0x1c, &[0x04]),                   // pri_path.counter_index: port 2's default
        (0x38, &[0x7f]),                   // pri_path.sched_queue: (2 - 1) << 6 | 0x3f
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1
        (0x7c, &[0x00, 0x00, 0x00, 0x40]), // cqn_send
        (0x9c, &[0x00, 0x00, 0x00, 0x41]), // cqn_recv
    ]);
    assert_eq!(c, want);
}

fn rc_qp() -> QpInfo {
    QpInfo {
        qp_type: QpType::Rc,
        is_kernel: true,
        port: 0,
        pdn: 0x7,
        sq_wqe_cnt: 128,
        sq_wqe_shift: 8,
        rq_wqe_cnt: 0,
        rq_wqe_shift: 0,
        sq_no_prefetch: false,
        inl_recv: false,
        lso: false,
        srqn: Some(0x42),
        send_cqn: 0x90,
        recv_cqn: 0x91,
        usr_page: 2,
        db_rec_addr: 0,
        resp_depth: 0,
        atomic_rd_en: 0,
    }
}

/// The fields every context of [`rc_qp`] has: pd, ring sizes, UAR, params1, CQs and SRQ.
fn rc_common(flags: [u8; 4]) -> [u8; QPC_SIZE] {
    expect(&[
        (0x00, &flags),                    // flags
        (0x04, &[0x00, 0x00, 0x00, 0x07]), // pd
        (0x09, &[0xfc]),                   // rq_size_stride: no RQ, (0 - 4) as u8
        (0x0a, &[0x3c]),                   // sq_size_stride: log2(128) << 3 | (8 - 4)
        (0x0c, &USR_PAGE),                 // usr_page
        (0x70, &[0x80, 0x00, 0x08, 0x00]), // params1
        (0x7c, &[0x00, 0x00, 0x00, 0x90]), // cqn_send
        (0x90, &[0x00, 0x00, 0x00, 0x10]), // params2: RIC (SRQ)
        (0x9c, &[0x00, 0x00, 0x00, 0x91]), // cqn_recv
        (0xac, &[0x01, 0x00, 0x00, 0x42]), // srqn: 1 << 24 | 0x42
    ])
}

#[test]
fn rc_bring_up() {
    use IbQpState::*;
    let attr = QpAttrs {
        port_num: 2,
        qp_access_flags: 0xf,
        ..Default::default()
    };
    let m = modify(
        rc_qp(),
        Reset,
        Init,
        IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_ACCESS_FLAGS,
        attr,
    );
    let (c, optpar) = run(&m);
    let mut want = rc_common([0x10, 0x00, 0x18, 0x00]); // INIT, ST_RC, MIGRATED
    want[0x0b] = 0x10; // rlkey_roce_mode
                       // params2: without responder resources only RWE stays; RIC.
    want[0x90..0x94].copy_from_slice(&[0x00, 0x00, 0x40, 0x10]);
    assert_eq!(c, want);
    // PKEY_INDEX | RWE | RAE | RRE.
    assert_eq!(optpar, 0x1e);
    let qp = after(&m);
    assert_eq!((qp.port, qp.atomic_rd_en, qp.resp_depth), (2, 0xf, 0));

    let attr = QpAttrs {
        path_mtu: 4,
        dest_qp_num: 0x4a,
        rq_psn: 0xab_cdef,
        max_dest_rd_atomic: 4,
        min_rnr_timer: 12,
        ah_attr: AhAttr {
            dlid: 0x17,
            sl: 5,
            src_path_bits: 1,
            static_rate: 0,
            grh: None,
        },
        ..Default::default()
    };
    let mask = IB_QP_STATE
        | IB_QP_AV
        | IB_QP_PATH_MTU
        | IB_QP_DEST_QPN
        | IB_QP_RQ_PSN
        | IB_QP_MAX_DEST_RD_ATOMIC
        | IB_QP_MIN_RNR_TIMER;
    let m = modify(qp, Init, Rtr, mask, attr);
    let (c, optpar) = run(&m);
    let mut want = rc_common([0x20, 0x00, 0x18, 0x00]); // RTR
    let fields: [(usize, &[u8]); 8] = [
        (0x08, &[0x9f]),                   // mtu_msgmax: 2048 (4) << 5 | log2(2^31)
        (0x14, &[0x00, 0x00, 0x00, 0x4a]), // remote_qpn
        (0x1c, &[0x04]),                   // pri_path.counter_index
        (0x1d, &[0x01]),                   // pri_path.grh_mylmc: path bits
        (0x1e, &[0x00, 0x17]),             // pri_path.rlid
        (0x38, &[0xd7]),                   // pri_path.sched_queue: 0x83 | 1 << 6 | 5 << 2
        (0x90, &[0x00, 0x40, 0xe0, 0x10]), // params2: fls(3) << 21 | RRE | RWE | RAE | RIC
        (0x94, &[0x0c, 0xab, 0xcd, 0xef]), // rnr_nextrecvpsn: 12 << 24 | rq_psn
    ];
    for (off, bytes) in fields {
        want[off..off + bytes.len()].copy_from_slice(bytes);
    }
    assert_eq!(c, want);
    // COUNTER_INDEX | SCHED_QUEUE | RRA_MAX | PRIMARY_ADDR_PATH | RNR_TIMEOUT | RWE|RAE|RRE.
    assert_eq!(optpar, 0x0011_02ce);
    let qp = after(&m);
    assert_eq!(qp.resp_depth, 4);

    let attr = QpAttrs {
        timeout: 14,
        retry_cnt: 7,
        rnr_retry: 7,
        sq_psn: 0x111,
        max_rd_atomic: 16,
        ..Default::default()
    };
    let mask = IB_QP_STATE
        | IB_QP_TIMEOUT
        | IB_QP_RETRY_CNT
        | IB_QP_RNR_RETRY
        | IB_QP_SQ_PSN
        | IB_QP_MAX_QP_RD_ATOMIC;
    let m = modify(qp, Rtr, Rts, mask, attr);
    let (c, optpar) = run(&m);
    let mut want = rc_common([0x30, 0x00, 0x18, 0x00]); // RTS
    want[0x20] = 0x70; // pri_path.ackto: 14 << 3
                       // params1: 8 << 28 | fls(15) << 21 | 7 << 16 | 7 << 13 | FRE.
    want[0x70..0x74].copy_from_slice(&[0x80, 0x87, 0xe8, 0x00]);
    want[0x78..0x7c].copy_from_slice(&[0x00, 0x00, 0x01, 0x11]); // next_send_psn
    assert_eq!(c, want);
    // ACK_TIMEOUT | RNR_RETRY | RETRY_COUNT | SRA_MAX.
    assert_eq!(optpar, 0x7100);
}

#[test]
fn rc_alternate_path_and_rearm() {
    use IbQpState::*;
    let mut qp = rc_qp();
    qp.port = 2;
    let mut dgid = [0; 16];
    dgid[0] = 0xfe;
    dgid[1] = 0x80;
    dgid[15] = 0x02;
    let attr = QpAttrs {
        path_mig_state: MigState::Rearm,
        alt_port_num: 1,
        alt_pkey_index: 2,
        alt_timeout: 10,
        alt_ah_attr: AhAttr {
            dlid: 0x33,
            sl: 3,
            src_path_bits: 0,
            // 40 Gb/s: hardware 12, lowered to the supported 10.
            static_rate: 7,
            grh: Some(Grh {
                sgid_index: 1,
                hop_limit: 64,
                traffic_class: 0x20,
                flow_label: 0x1_2345,
                dgid,
            }),
        },
        ..Default::default()
    };
    let m = modify(
        qp,
        Rts,
        Rts,
        IB_QP_STATE | IB_QP_ALT_PATH | IB_QP_PATH_MIG_STATE,
        attr,
    );
    let (c, optpar) = run(&m);
    let mut want = rc_common([0x30, 0x00, 0x08, 0x00]); // RTS, ST_RC, REARM << 11
    let fields: [(usize, &[u8]); 10] = [
        (0x47, &[0x02]),                   // alt_path.pkey_index
        (0x49, &[0x80]),                   // alt_path.grh_mylmc: GRH
        (0x4a, &[0x00, 0x33]),             // alt_path.rlid
        (0x4c, &[0x50]),                   // alt_path.ackto: 10 << 3
        (0x4d, &[0x01]),                   // alt_path.mgid_index
        (0x4e, &[0x0a]),                   // alt_path.static_rate
        (0x4f, &[0x40]),                   // alt_path.hop_limit
        (0x50, &[0x02, 0x01, 0x23, 0x45]), // alt_path.tclass_flowlabel
        (0x54, &dgid),                     // alt_path.rgid
        (0x64, &[0x8f]),                   // alt_path.sched_queue: 0x83 | 0 << 6 | 3 << 2
    ];
    for (off, bytes) in fields {
        want[off..off + bytes.len()].copy_from_slice(bytes);
    }
    assert_eq!(c, want);
    assert_eq!(
        optpar,
        MLX4_QP_OPTPAR_ALT_ADDR_PATH | MLX4_QP_OPTPAR_PM_STATE
    );
}

#[test]
fn sqd_port_change_and_event() {
    use IbQpState::*;
    let mut qp = rc_qp();
    qp.port = 1;
    let attr = QpAttrs {
        port_num: 2,
        ..Default::default()
    };
    let m = modify(qp, Sqd, Sqd, IB_QP_STATE | IB_QP_PORT, attr);
    let (c, optpar) = run(&m);
    let mut want = rc_common([0x50, 0x00, 0x18, 0x00]); // SQD
    want[0x38] = 0x40; // pri_path.sched_queue: only the port, on a zeroed path
    assert_eq!(c, want);
    assert_eq!(optpar, MLX4_QP_OPTPAR_SCHED_QUEUE);

    let attr = QpAttrs {
        en_sqd_async_notify: true,
        ..Default::default()
    };
    let m = modify(qp, Rts, Sqd, IB_QP_STATE | IB_QP_EN_SQD_ASYNC_NOTIFY, attr);
    assert!(sqd_event(&m));
    let m = modify(qp, Rts, Sqd, IB_QP_STATE, attr);
    assert!(!sqd_event(&m));
}

#[test]
fn refusals() {
    use IbQpState::{Init, Reset, Rtr, Rts, Sqd};
    let ud_init = IB_QP_STATE | IB_QP_PKEY_INDEX | IB_QP_PORT | IB_QP_QKEY;
    let ok = QpAttrs {
        port_num: 1,
        pkey_index: 127,
        ..Default::default()
    };
    assert_eq!(check(&modify(ud_qp(), Reset, Init, ud_init, ok)), Ok(true));
    let bad = |mask, attr| check(&modify(ud_qp(), Reset, Init, mask, attr));
    assert_eq!(bad(ud_init | (1 << 21), ok), Err(Error::NotSupported));
    assert_eq!(bad(ud_init & !IB_QP_QKEY, ok), Err(Error::Invalid));
    for port_num in [0, 3] {
        let a = QpAttrs { port_num, ..ok };
        assert_eq!(bad(ud_init, a), Err(Error::Invalid));
    }
    let a = QpAttrs {
        pkey_index: 128,
        ..ok
    };
    assert_eq!(bad(ud_init, a), Err(Error::Invalid));
    // Without IB_QP_PORT the P_Key index is checked against the QP's port: none yet.
    let m = modify(ud_qp(), Init, Init, IB_QP_PKEY_INDEX, ok);
    assert_eq!(check(&m), Err(Error::Invalid));
    let mut qp = ud_qp();
    qp.port = 1;
    assert_eq!(
        check(&modify(qp, Init, Init, IB_QP_PKEY_INDEX, ok)),
        Ok(true)
    );
    assert_eq!(
        check(&modify(ud_qp(), Reset, Reset, IB_QP_STATE, ok)),
        Ok(false)
    );

    // RC depths beyond the device's.
    let mut qp = rc_qp();
    qp.port = 1;
    let a = QpAttrs {
        max_rd_atomic: 17,
        ..Default::default()
    };
    let m = modify(qp, Sqd, Sqd, IB_QP_MAX_QP_RD_ATOMIC, a);
    assert_eq!(check(&m), Err(Error::Invalid));
    let a = QpAttrs {
        max_dest_rd_atomic: 17,
        ..Default::default()
    };
    let m = modify(qp, Sqd, Sqd, IB_QP_MAX_DEST_RD_ATOMIC, a);
    assert_eq!(check(&m), Err(Error::Invalid));

    // What only building finds: a bad path MTU, source GID index, or alternate port or P_Key.
    let mut out = [0; QPC_SIZE];
    let rtr = IB_QP_STATE | IB_QP_PATH_MTU;
    for path_mtu in [0, 6] {
        let a = QpAttrs {
            path_mtu,
            ..Default::default()
        };
        assert_eq!(
            build(&modify(qp, Init, Rtr, rtr, a), &mut out),
            Err(Error::Invalid)
        );
    }
    let grh = Grh {
        sgid_index: 128,
        ..Default::default()
    };
    let a = QpAttrs {
        path_mtu: 5,
        ah_attr: AhAttr {
            grh: Some(grh),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        build(&modify(qp, Init, Rtr, rtr | IB_QP_AV, a), &mut out),
        Err(Error::Invalid)
    );
    for (alt_port_num, alt_pkey_index) in [(0, 0), (3, 0), (2, 128)] {
        let a = QpAttrs {
            alt_port_num,
            alt_pkey_index,
            ..Default::default()
        };
        let m = modify(qp, Rts, Rts, IB_QP_ALT_PATH, a);
        assert_eq!(build(&m, &mut out), Err(Error::Invalid));
    }
}

#[test]
fn static_rates() {
    let support = CAPS.stat_rate_support;
    assert_eq!(rate_to_hw(0, support), 0);
    // 40 Gb/s (7): 12 and 11 are unsupported, 10 is.
    assert_eq!(rate_to_hw(7, support), 10);
    // 10 Gb/s (3): 8 is unsupported; the search stops at 2.5 Gb/s (7).
    assert_eq!(rate_to_hw(3, support), 7);
    assert_eq!(rate_to_hw(2, 0), 7);
    assert_eq!(rate_to_hw(7, 0xffff), 12);
    // A rate past the `u8` wraps as in C.
    assert_eq!(rate_to_hw(255, 0xffff), 4);
}

#[test]
fn resolving_states() {
    use IbQpState::*;
    let a = QpAttrs {
        qp_state: Rts,
        cur_qp_state: Sqe,
        ..Default::default()
    };
    assert_eq!(states(Rtr, IB_QP_STATE, &a), (Rtr, Rts));
    assert_eq!(states(Rtr, IB_QP_STATE | IB_QP_CUR_STATE, &a), (Sqe, Rts));
    assert_eq!(states(Rtr, IB_QP_QKEY, &a), (Rtr, Rtr));
}
