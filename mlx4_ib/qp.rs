// SPDX-License-Identifier: GPL-2.0

//! Queue pairs (C: drivers/infiniband/hw/mlx4/qp.c): create, modify, query, destroy, post,
//! for RC, UC, UD and the special QPs QP0 and QP1 of kernel consumers.

use crate::device::Mlx4Ib;
use crate::hw::av::Datagram;
use crate::hw::qp_state::{IbQpState, IB_QP_CUR_STATE, IB_QP_STATE};
use crate::hw::wqe::{self, Atomic, Ctrl, Data, Opcode, Raddr, DS};
use crate::hw::{mlx, qpc, sizing, QpType as HwQpType};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::mlx4::{self, Db, HwQp, QpRange, QpState, QpUsage, QueueBuf};
use crate::rust_bindings::rdma::provider::{
    self, Atomic as AtomicCx, Pd, Qp, QpAttr, QpCap, QpCore, QpHandle, QpInitAttr, QpOps, QpType,
    RecvWr, SendWr, Sleepable, WrOpcode, SEND_FENCE, SEND_IP_CSUM, SEND_SIGNALED, SEND_SOLICITED,
};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// `IB_QP_CREATE_BLOCK_MULTICAST_LOOPBACK`.
const CREATE_BLOCK_MULTICAST_LOOPBACK: u32 = 1 << 1;
/// `MLX4_WQE_CTRL_IP_CSUM | MLX4_WQE_CTRL_TCP_UDP_CSUM`.
const CTRL_CSUM: u32 = (1 << 4) | (1 << 5);
/// `MLX4_WQE_CTRL_STRONG_ORDER`.
const CTRL_STRONG_ORDER: u32 = 1 << 7;
/// The largest send WQE: `max_sq_desc_sz` is below 1 KiB on every ConnectX-3.
const MAX_WQE: usize = 1024;

/// The send queue's software state (`qp->sq` with `sq_next_wqe` and the special QP's PSN).
struct Sq {
    head: u32,
    tail: u32,
    next_wqe: u32,
    wrid: KVec<u64>,
    /// QP0/QP1: the P_Key index, Q_Key and next PSN of their MLX sends.
    sqp: qpc::SqpAttrs,
}

/// The receive queue's software state (`qp->rq`).
struct Rq {
    head: u32,
    tail: u32,
    wrid: KVec<u64>,
}

/// What the data path of a QP shares with its CQs: the rings and their software state.
#[pin_data]
pub(crate) struct QpQueues {
    /// The hardware QP number.
    pub(crate) qpn: u32,
    /// What completions of this QP carry.
    pub(crate) handle: QpHandle,
    /// QP0 or QP1.
    pub(crate) special: bool,
    /// The port of a special QP.
    pub(crate) port: u32,
    kind: HwQpType,
    ring: QueueBuf,
    /// The receive doorbell record, if the QP has a receive queue.
    db: Option<Db>,
    layout: sizing::Layout,
    /// Every send request generates a completion (`sq_signal_bits`).
    sig_all: bool,
    #[pin]
    sq: SpinLockIrq<Sq>,
    #[pin]
    rq: SpinLockIrq<Rq>,
}

impl QpQueues {
    /// Completes the send WQE at `wqe_index` (`mlx4_ib_poll_one`); returns its wr_id.
    pub(crate) fn complete_send(&self, wqe_index: u16) -> u64 {
        let mut sq = self.sq.lock();
        if !self.sig_all {
            // Unsignalled requests before it completed too.
            sq.tail = sq
                .tail
                .wrapping_add(u32::from(wqe_index.wrapping_sub(sq.tail as u16)));
        }
        let cnt = self.layout.sq.wqe_cnt;
        let id = sq.wrid[(sq.tail & (cnt - 1)) as usize];
        sq.tail = sq.tail.wrapping_add(1);
        id
    }

    /// Completes the oldest receive WQE; returns its wr_id.
    pub(crate) fn complete_recv(&self) -> u64 {
        let mut rq = self.rq.lock();
        let cnt = self.layout.rq.wqe_cnt.max(1);
        let id = rq
            .wrid
            .get((rq.tail & (cnt - 1)) as usize)
            .copied()
            .unwrap_or(0);
        rq.tail = rq.tail.wrapping_add(1);
        id
    }

    fn sq_off(&self, n: u32) -> usize {
        let sq = &self.layout.sq;
        self.layout.sq_offset as usize + (((n & (sq.wqe_cnt - 1)) as usize) << sq.wqe_shift)
    }

    fn rq_off(&self, n: u32) -> usize {
        let rq = &self.layout.rq;
        self.layout.rq_offset as usize + (((n & (rq.wqe_cnt - 1)) as usize) << rq.wqe_shift)
    }

    /// Stamps send WQE `n` (`stamp_send_wqe`): the first word of each 64-byte chunk but the
    /// first, up to the size it was last written with, becomes all ones.
    fn stamp(&self, n: u32) {
        let off = self.sq_off(n);
        let size = usize::from(self.ring.buf().read_u8(off + 7).unwrap_or(0) & 0x3f) * DS;
        let mut i = 64;
        while i < size {
            let _ = self.ring.buf().write_be32(off + i, 0xffff_ffff);
            i += 64;
        }
    }

    /// Prepares the send ring at RESET to INIT: every WQE owned by the hardware, sized to
    /// the stride, and stamped (the C driver's loop in `__mlx4_ib_modify_qp`).
    fn init_send_ring(&self) {
        let sq = &self.layout.sq;
        for i in 0..sq.wqe_cnt {
            let off = self.sq_off(i);
            let _ = self.ring.buf().write_be32(off, 1 << 31);
            let _ = self
                .ring
                .buf()
                .write_u8(off + 7, (1u32 << (sq.wqe_shift - 4)) as u8);
            self.stamp(i);
        }
    }

    /// Back to the state of a new QP (`__mlx4_ib_modify_qp` moving a kernel QP to RESET).
    fn reset(&self) {
        {
            let mut sq = self.sq.lock();
            sq.head = 0;
            sq.tail = 0;
            sq.next_wqe = 0;
        }
        {
            let mut rq = self.rq.lock();
            rq.head = 0;
            rq.tail = 0;
        }
        if let Some(db) = &self.db {
            let _ = db.write(0, 0);
        }
    }

    /// Copies the WQE built in `w[..size]` into slot `n`, the first word last: each 64-byte
    /// chunk's first word after the rest of it, as the C driver writes data segments in
    /// reverse so the prefetcher never sees a chunk whose stamp is gone too early.
    fn copy_wqe(&self, n: u32, w: &[u8], size: usize, owner_opcode: u32) {
        let off = self.sq_off(n);
        let buf = self.ring.buf();
        let mut chunk = size.div_ceil(64);
        while chunk > 0 {
            chunk -= 1;
            let start = chunk * 64;
            let end = (start + 64).min(size);
            let _ = buf.write_bytes(off + start + 4, &w[start + 4..end]);
            if chunk > 0 {
                mlx4::barrier::wmb();
                let _ = buf.write_bytes(off + start, &w[start..start + 4]);
            }
        }
        // Everything before the ownership bit (hardware may start as soon as it flips).
        mlx4::barrier::wmb();
        let _ = buf.write_be32(off, owner_opcode);
    }
}

/// The part of a QP only verbs that may sleep change.
struct ModState {
    state: IbQpState,
    info: qpc::QpInfo,
    /// Multicast groups attached (GID, registration id).
    /// Multicast groups attached (GID, registration id); `None` for a free slot.
    mcast: KVec<Option<([u8; 16], u64)>>,
}

/// A QP: its hardware QP, data path and state.
#[pin_data]
pub(crate) struct Mlx4Qp {
    q: Arc<QpQueues>,
    block_mc_loopback: bool,
    #[pin]
    hw: HwQp,
    /// The number reserved for it (regular QPs), released after the hardware QP is freed.
    _range: Option<QpRange>,
    #[pin]
    st: Mutex<ModState>,
}

/// A vector of `n` zeroes.
fn zeroed_vec(n: usize) -> Result<KVec<u64>> {
    let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(0, GFP_KERNEL)?;
    }
    Ok(v)
}

fn hw_type(t: QpType) -> Result<HwQpType> {
    Ok(match t {
        QpType::Smi => HwQpType::Smi,
        QpType::Gsi => HwQpType::Gsi,
        QpType::Rc => HwQpType::Rc,
        QpType::Uc => HwQpType::Uc,
        QpType::Ud => HwQpType::Ud,
        QpType::Other(_) => return Err(EOPNOTSUPP()),
    })
}

fn mlx4_state(s: IbQpState) -> Result<QpState> {
    QpState::from_raw(s.to_mlx4()).ok_or(EINVAL)
}

fn hw_err(e: crate::hw::Error) -> Error {
    Error::from_errno(e.to_errno())
}

fn ib_state(s: u32) -> Result<IbQpState> {
    IbQpState::from_raw(s).ok_or(EINVAL)
}

fn to_qpc_ah(a: &provider::AhAttr) -> qpc::AhAttr {
    qpc::AhAttr {
        dlid: a.dlid,
        sl: a.sl,
        src_path_bits: a.src_path_bits,
        static_rate: a.static_rate,
        grh: a.grh.map(|g| qpc::Grh {
            sgid_index: g.sgid_index,
            hop_limit: g.hop_limit,
            traffic_class: g.traffic_class,
            flow_label: g.flow_label,
            dgid: g.dgid,
        }),
    }
}

/// The attributes of a modify; the states only where `mask` names them (the others are
/// whatever the consumer's memory held).
fn to_qpc_attrs(a: &QpAttr, mask: u32) -> Result<qpc::QpAttrs> {
    Ok(qpc::QpAttrs {
        qp_state: if mask & IB_QP_STATE != 0 {
            ib_state(a.qp_state)?
        } else {
            IbQpState::Reset
        },
        cur_qp_state: if mask & IB_QP_CUR_STATE != 0 {
            ib_state(a.cur_qp_state)?
        } else {
            IbQpState::Reset
        },
        path_mtu: a.path_mtu as u8,
        path_mig_state: crate::hw::qp_state::MigState::from_raw(a.path_mig_state),
        qkey: a.qkey,
        rq_psn: a.rq_psn,
        sq_psn: a.sq_psn,
        dest_qp_num: a.dest_qp_num,
        qp_access_flags: a.qp_access_flags,
        ah_attr: to_qpc_ah(&a.ah_attr),
        alt_ah_attr: to_qpc_ah(&a.alt_ah_attr),
        pkey_index: a.pkey_index,
        alt_pkey_index: a.alt_pkey_index,
        en_sqd_async_notify: a.en_sqd_async_notify != 0,
        max_rd_atomic: a.max_rd_atomic,
        max_dest_rd_atomic: a.max_dest_rd_atomic,
        min_rnr_timer: a.min_rnr_timer,
        port_num: a.port_num as u8,
        timeout: a.timeout,
        retry_cnt: a.retry_cnt,
        rnr_retry: a.rnr_retry,
        alt_port_num: a.alt_port_num as u8,
        alt_timeout: a.alt_timeout,
    })
}

impl Mlx4Qp {
    fn modify_locked(qp: &Qp<Mlx4Ib>, st: &mut ModState, attr: &qpc::QpAttrs, mask: u32) -> Result {
        let dev = qp.device();
        let (cur, new) = qpc::states(st.state, mask, attr);
        let m = qpc::ModifyQp {
            caps: dev.qpc_caps(),
            qp: st.info,
            cur,
            new,
            mask,
            attr: *attr,
        };
        if !qpc::check(&m).map_err(hw_err)? {
            // RESET to RESET: nothing to tell the hardware.
            return Ok(());
        }
        let mut ctx = [0u8; qpc::QPC_SIZE];
        let optpar = qpc::build(&m, &mut ctx).map_err(hw_err)?;
        if cur == IbQpState::Reset && new == IbQpState::Init {
            qp.q.init_send_ring();
        }
        qp.hw.modify(
            Some(qp.q.ring.mtt()),
            mlx4_state(cur)?,
            mlx4_state(new)?,
            &ctx,
            optpar,
            qpc::sqd_event(&m),
        )?;
        st.info = qpc::after(&m);
        st.state = new;
        if qp.q.special {
            qp.q.sq.lock().sqp.store(attr, mask);
        }
        if qp.q.kind == HwQpType::Smi {
            let port = qp.q.port;
            if cur != IbQpState::Rtr && new == IbQpState::Rtr {
                if let Err(e) = dev.mdev().init_port(port) {
                    pr_warn!("INIT_PORT failed for port {}: {:?}\n", port, e);
                }
            }
            if cur != IbQpState::Reset
                && cur != IbQpState::Err
                && (new == IbQpState::Reset || new == IbQpState::Err)
            {
                let _ = dev.mdev().close_port(port);
            }
        }
        if new == IbQpState::Reset {
            qp.recv_cq().clean(qp.q.qpn);
            if qp.send_cq().cqn() != qp.recv_cq().cqn() {
                qp.send_cq().clean(qp.q.qpn);
            }
            qp.q.reset();
        }
        Ok(())
    }

    /// Builds the segments after the control segment of one send request into `w` from
    /// offset 16; returns the end offset.
    fn build_send(
        qp: &Qp<Mlx4Ib>,
        sq: &mut Sq,
        wr: &SendWr<'_, Mlx4Ib>,
        sges: &[Data],
        ctrl_flags: u32,
        owner: bool,
        w: &mut [u8],
    ) -> Result<(usize, u32)> {
        let q = &qp.q;
        let op = wr.opcode();
        let fence = wr.send_flags() & SEND_FENCE != 0;
        let opcode = match op {
            WrOpcode::RdmaWrite => Opcode::RdmaWrite,
            WrOpcode::RdmaWriteImm => Opcode::RdmaWriteImm,
            WrOpcode::Send => Opcode::Send,
            WrOpcode::SendImm => Opcode::SendImm,
            WrOpcode::RdmaRead => Opcode::RdmaRead,
            WrOpcode::AtomicCmpSwp => Opcode::AtomicCs,
            WrOpcode::AtomicFetchAdd => Opcode::AtomicFa,
            WrOpcode::MaskedAtomicCmpSwp => Opcode::MaskedAtomicCs,
            WrOpcode::MaskedAtomicFetchAdd => Opcode::MaskedAtomicFa,
            WrOpcode::SendInv => Opcode::SendInval,
            WrOpcode::LocalInv => Opcode::LocalInval,
            // LSO and fast registration are not supported yet.
            _ => return Err(EINVAL),
        };
        let imm = match op {
            WrOpcode::RdmaWriteImm | WrOpcode::SendImm => u32::from_be(wr.imm_data()),
            WrOpcode::SendInv | WrOpcode::LocalInv => wr.imm_data(),
            _ => 0,
        };
        if q.special {
            let ud = wr.ud().ok_or(EINVAL)?;
            let av = &ud.ah.av;
            let dev = qp.device();
            let port = q.port;
            let pkey_index = if q.kind == HwQpType::Smi {
                sq.sqp.pkey_index
            } else {
                ud.pkey_index
            };
            let pkey = dev.cached_pkey(port, pkey_index)?;
            let grh = match &av.grh {
                Some(g) => Some(mlx::MlxGrh {
                    sgid: dev.cached_gid(port, u32::from(g.gid_index))?,
                    dgid: g.dgid,
                    traffic_class: g.tclass,
                    flow_label: g.flow_label,
                    hop_limit: g.hop_limit,
                }),
                None => None,
            };
            let s = mlx::MlxSend {
                sl: av.sl,
                vl: dev.sl_to_vl(port, av.sl),
                dlid: av.dlid,
                src_path_bits: av.src_path_bits,
                loopback: av.loopback,
                pkey,
                dest_qpn: ud.remote_qpn,
                remote_qkey: ud.remote_qkey,
                qp_qkey: sq.sqp.qkey,
                psn: sq.sqp.send_psn,
                src_qpn: if q.kind == HwQpType::Smi { 0 } else { 1 },
                solicited: wr.send_flags() & SEND_SOLICITED != 0,
                imm: matches!(op, WrOpcode::SendImm).then_some(imm),
                grh,
                payload_len: sges.iter().map(|d| d.byte_count).sum(),
                signaled: ctrl_flags & wqe::CTRL_CQ_UPDATE != 0,
            };
            sq.sqp.send_psn = sq.sqp.send_psn.wrapping_add(1);
            let end = mlx::write(w, &s, sges, fence).map_err(hw_err)?;
            return Ok((end, s.owner_opcode(owner)));
        }
        let mut off = DS;
        match q.kind {
            HwQpType::Ud => {
                let ud = wr.ud().ok_or(EINVAL)?;
                Datagram {
                    av: ud.ah.av,
                    dqpn: ud.remote_qpn,
                    qkey: ud.remote_qkey,
                }
                .write(&mut w[off..]);
                off += crate::hw::av::DATAGRAM_SIZE;
            }
            _ => {
                if let Some((addr, rkey)) = wr.rdma() {
                    Raddr { addr, rkey }.write(&mut w[off..]);
                    off += DS;
                }
                if let Some((compare_add, swap, ca_mask, swap_mask)) = wr.atomic() {
                    let a = match op {
                        WrOpcode::AtomicCmpSwp => Atomic::CmpSwp {
                            swap,
                            compare: compare_add,
                        },
                        WrOpcode::MaskedAtomicFetchAdd => Atomic::MaskedFetchAdd {
                            add: compare_add,
                            mask: ca_mask,
                        },
                        WrOpcode::MaskedAtomicCmpSwp => Atomic::MaskedCmpSwp {
                            swap,
                            compare: compare_add,
                            swap_mask,
                            compare_mask: ca_mask,
                        },
                        _ => Atomic::FetchAdd { add: compare_add },
                    };
                    a.write(&mut w[off..]);
                    off += a.len();
                }
            }
        }
        for d in sges {
            d.write(&mut w[off..]);
            off += DS;
        }
        let mut flags = ctrl_flags;
        if op == WrOpcode::LocalInv {
            flags |= CTRL_STRONG_ORDER;
        }
        let ctrl = Ctrl {
            opcode,
            owner,
            size_ds: (off / DS) as u8,
            fence,
            flags,
            imm,
        };
        ctrl.write(w);
        let oo = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        Ok((off, oo))
    }
}

impl QpOps<Mlx4Ib> for Mlx4Qp {
    fn create<'a>(
        pd: &'a Pd<Mlx4Ib>,
        core: QpCore<'a>,
        attr: &'a mut QpInitAttr<'a, Mlx4Ib>,
        _cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let dev = pd.device();
        let qp_type = attr.qp_type();
        let kind = hw_type(qp_type)?;
        let flags = attr.create_flags();
        if flags & !CREATE_BLOCK_MULTICAST_LOOPBACK != 0 {
            return Err(EOPNOTSUPP());
        }
        // No SRQ, XRC or RSS verbs yet.
        if attr.has_srq() || attr.has_xrcd_or_rss() {
            return Err(EOPNOTSUPP());
        }
        let special = matches!(kind, HwQpType::Smi | HwQpType::Gsi);
        let port = attr.port_num();
        if special && (port == 0 || port > dev.caps.num_ports) {
            return Err(EINVAL);
        }
        let (send_cqn, recv_cqn) = match (attr.send_cq(), attr.recv_cq()) {
            (Some(s), Some(r)) => (s.cqn(), r.cqn()),
            _ => return Err(EINVAL),
        };
        let c = attr.cap();
        let layout = sizing::layout(
            &dev.sizing_caps(),
            &sizing::Request {
                qp_type: kind,
                lso: false,
                has_rq: true,
                cap: sizing::QpCap {
                    max_send_wr: c.max_send_wr,
                    max_recv_wr: c.max_recv_wr,
                    max_send_sge: c.max_send_sge,
                    max_recv_sge: c.max_recv_sge,
                    max_inline_data: c.max_inline_data,
                },
            },
        )
        .map_err(hw_err)?;
        let mdev = dev.mdev();
        let ring = QueueBuf::new(mdev, layout.buf_size as usize)?;
        let db = if layout.rq.wqe_cnt > 0 {
            let db = Db::new(mdev, 0)?;
            db.write(0, 0)?;
            Some(db)
        } else {
            None
        };
        let sq_wrid = zeroed_vec(layout.sq.wqe_cnt as usize)?;
        let rq_wrid = zeroed_vec(layout.rq.wqe_cnt as usize)?;
        let (qpn, range) = if special {
            let base = dev.caps.base_sqpn + if kind == HwQpType::Smi { 0 } else { 2 };
            (base + port - 1, None)
        } else {
            let r = QpRange::reserve(mdev, 1, 1, 0, QpUsage::Driver)?;
            (r.base(), Some(r))
        };
        let cap = &layout.cap;
        attr.set_cap(&QpCap {
            max_send_wr: cap.max_send_wr,
            max_recv_wr: cap.max_recv_wr,
            max_send_sge: cap.max_send_sge,
            max_recv_sge: cap.max_recv_sge,
            max_inline_data: cap.max_inline_data,
        });
        core.set_qp_num(match kind {
            HwQpType::Smi => 0,
            HwQpType::Gsi => 1,
            _ => qpn,
        });
        let info = qpc::QpInfo {
            qp_type: kind,
            is_kernel: true,
            port: if special { port as u8 } else { 0 },
            pdn: pd.pdn(),
            sq_wqe_cnt: layout.sq.wqe_cnt,
            sq_wqe_shift: layout.sq.wqe_shift,
            rq_wqe_cnt: layout.rq.wqe_cnt,
            rq_wqe_shift: layout.rq.wqe_shift,
            sq_no_prefetch: false,
            inl_recv: false,
            lso: false,
            srqn: None,
            send_cqn,
            recv_cqn,
            usr_page: dev.uar.hw_index(),
            db_rec_addr: db.as_ref().map_or(0, |d| d.dma()),
            resp_depth: 0,
            atomic_rd_en: 0,
        };
        let handle = core.handle();
        let q = Arc::pin_init(
            try_pin_init!(QpQueues {
                qpn,
                handle,
                special,
                port,
                kind,
                ring,
                db,
                layout,
                sig_all: attr.sq_sig_all(),
                sq <- new_spinlock_irq!(
                    Sq {
                        head: 0,
                        tail: 0,
                        next_wqe: 0,
                        wrid: sq_wrid,
                        sqp: qpc::SqpAttrs::default(),
                    },
                    "mlx4_ib_sq"
                ),
                rq <- new_spinlock_irq!(
                    Rq {
                        head: 0,
                        tail: 0,
                        wrid: rq_wrid,
                    },
                    "mlx4_ib_rq"
                ),
            }? Error),
            GFP_KERNEL,
        )?;
        let q2 = q.clone();
        let hw = HwQp::new(mdev, qpn, core);
        Ok(try_pin_init!(Self {
            q,
            block_mc_loopback: flags & CREATE_BLOCK_MULTICAST_LOOPBACK != 0,
            hw <- hw,
            _range: range,
            st <- new_mutex!(ModState {
                state: IbQpState::Reset,
                info,
                mcast: KVec::new(),
            }, "mlx4_ib_qp"),
        }? Error)
        .pin_chain(move |_this| dev.insert_qp(q2)))
    }

    fn destroy(qp: &Qp<Mlx4Ib>, _cx: &Sleepable<'_>) {
        let dev = qp.device();
        let st = qp.st.lock();
        if st.state != IbQpState::Reset {
            let ctx = [0u8; qpc::QPC_SIZE];
            if let Err(e) = qp.hw.modify(
                None,
                mlx4_state(st.state).unwrap_or(QpState::Error),
                QpState::Reset,
                &ctx,
                0,
                false,
            ) {
                pr_warn!("modify QP {:06x} to RESET failed ({:?})\n", qp.q.qpn, e);
            }
            if qp.q.kind == HwQpType::Smi {
                let _ = dev.mdev().close_port(qp.q.port);
            }
        }
        for (gid, reg_id) in st.mcast.iter().flatten() {
            let _ = dev.mdev().detach_mcast(qp.q.qpn, gid, *reg_id);
        }
        drop(st);
        // Completions can no longer name the QP; then the CQs lose the ones they hold.
        dev.remove_qp(qp.q.qpn);
        qp.recv_cq().clean(qp.q.qpn);
        if qp.send_cq().cqn() != qp.recv_cq().cqn() {
            qp.send_cq().clean(qp.q.qpn);
        }
    }

    fn modify(qp: &Qp<Mlx4Ib>, attr: &QpAttr, mask: u32, _cx: &Sleepable<'_>) -> Result {
        let a = to_qpc_attrs(attr, mask)?;
        let mut st = qp.st.lock();
        Self::modify_locked(qp, &mut st, &a, mask)
    }

    fn query(
        qp: &Qp<Mlx4Ib>,
        _mask: u32,
        attr: &mut QpAttr,
        cap: &mut QpCap,
        _cx: &Sleepable<'_>,
    ) -> Result {
        let st = qp.st.lock();
        let l = &qp.q.layout;
        attr.qp_state = st.state as u32;
        attr.cur_qp_state = st.state as u32;
        attr.port_num = u32::from(st.info.port);
        attr.qp_access_flags = u32::from(st.info.atomic_rd_en);
        attr.max_dest_rd_atomic = st.info.resp_depth;
        if qp.q.special {
            let sq = qp.q.sq.lock();
            attr.qkey = sq.sqp.qkey;
            attr.pkey_index = sq.sqp.pkey_index;
            attr.sq_psn = sq.sqp.send_psn;
        }
        *cap = QpCap {
            max_send_wr: l.sq.max_post,
            max_recv_wr: l.rq.max_post,
            max_send_sge: l.sq.max_gs,
            max_recv_sge: l.rq.max_gs,
            max_inline_data: 0,
        };
        attr.cap = *cap;
        Ok(())
    }

    fn post_send(
        qp: &Qp<Mlx4Ib>,
        wrs: &mut dyn Iterator<Item = SendWr<'_, Mlx4Ib>>,
        _cx: &AtomicCx<'_>,
    ) -> core::result::Result<(), (usize, Error)> {
        let q = &qp.q;
        let l = &q.layout;
        let mut sq = q.sq.lock();
        let mut ind = sq.next_wqe;
        let mut nreq = 0usize;
        let mut err = None;
        let mut w = [0u8; MAX_WQE];
        let stride = 1usize << l.sq.wqe_shift;
        for wr in wrs {
            if sq.head.wrapping_sub(sq.tail).wrapping_add(nreq as u32) >= l.sq.max_post {
                err = Some(ENOMEM);
                break;
            }
            let sg = wr.sges();
            if sg.len() > l.sq.max_gs as usize {
                err = Some(EINVAL);
                break;
            }
            let mut sges = [Data::TERMINATOR; 32];
            for (d, s) in sges.iter_mut().zip(sg) {
                *d = Data {
                    byte_count: s.length(),
                    lkey: s.lkey(),
                    addr: s.addr(),
                };
            }
            let sges = &sges[..sg.len().min(32)];
            let f = wr.send_flags();
            let mut ctrl_flags = if f & SEND_SIGNALED != 0 || q.sig_all {
                wqe::CTRL_CQ_UPDATE
            } else {
                0
            };
            if f & SEND_SOLICITED != 0 {
                ctrl_flags |= wqe::CTRL_SOLICITED;
            }
            if f & SEND_IP_CSUM != 0 {
                ctrl_flags |= CTRL_CSUM;
            }
            let owner = Ctrl::owner_for(ind, l.sq.wqe_cnt);
            let buf = &mut w[..stride.min(MAX_WQE)];
            buf.fill(0);
            let (size, oo) =
                match Mlx4Qp::build_send(qp, &mut sq, &wr, sges, ctrl_flags, owner, buf) {
                    Ok(v) => v,
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                };
            let slot = (sq.head.wrapping_add(nreq as u32) & (l.sq.wqe_cnt - 1)) as usize;
            sq.wrid[slot] = wr.wr_id();
            q.copy_wqe(ind, buf, size, oo);
            ind = ind.wrapping_add(1);
            nreq += 1;
            // Stamp ahead, except after the last request (done after the doorbell).
            q.stamp(ind.wrapping_add(l.sq.spare_wqes).wrapping_sub(1));
        }
        if nreq > 0 {
            sq.head = sq.head.wrapping_add(nreq as u32);
            // The WQEs before the doorbell.
            mlx4::barrier::wmb();
            qp.device().uar_map.ring_send(q.qpn);
            q.stamp(ind.wrapping_add(l.sq.spare_wqes).wrapping_sub(1));
            sq.next_wqe = ind;
        }
        match err {
            Some(e) => Err((nreq, e)),
            None => Ok(()),
        }
    }

    fn post_recv(
        qp: &Qp<Mlx4Ib>,
        wrs: &mut dyn Iterator<Item = RecvWr<'_>>,
        _cx: &AtomicCx<'_>,
    ) -> core::result::Result<(), (usize, Error)> {
        let q = &qp.q;
        let l = &q.layout;
        let Some(db) = &q.db else {
            return Err((0, EINVAL));
        };
        let mut rq = q.rq.lock();
        let mut nreq = 0usize;
        let mut err = None;
        for wr in wrs {
            if rq.head.wrapping_sub(rq.tail).wrapping_add(nreq as u32) >= l.rq.max_post {
                err = Some(ENOMEM);
                break;
            }
            let sg = wr.sges();
            if sg.len() > l.rq.max_gs as usize {
                err = Some(EINVAL);
                break;
            }
            let n = rq.head.wrapping_add(nreq as u32);
            let off = q.rq_off(n);
            let mut seg = [0u8; DS];
            for (i, s) in sg.iter().enumerate() {
                Data {
                    byte_count: s.length(),
                    lkey: s.lkey(),
                    addr: s.addr(),
                }
                .write(&mut seg);
                let _ = q.ring.buf().write_bytes(off + i * DS, &seg);
            }
            if sg.len() < l.rq.max_gs as usize {
                Data::TERMINATOR.write(&mut seg);
                let _ = q.ring.buf().write_bytes(off + sg.len() * DS, &seg);
            }
            let slot = (n & (l.rq.wqe_cnt - 1)) as usize;
            rq.wrid[slot] = wr.wr_id();
            nreq += 1;
        }
        if nreq > 0 {
            rq.head = rq.head.wrapping_add(nreq as u32);
            // The WQEs before the doorbell record.
            mlx4::barrier::wmb();
            let _ = db.write(0, rq.head & 0xffff);
        }
        match err {
            Some(e) => Err((nreq, e)),
            None => Ok(()),
        }
    }

    fn attach_mcast(qp: &Qp<Mlx4Ib>, gid: &[u8; 16], _lid: u16, _cx: &Sleepable<'_>) -> Result {
        let dev = qp.device();
        let mut st = qp.st.lock();
        if st.mcast.iter().flatten().any(|(g, _)| g == gid) {
            return Ok(());
        }
        if !st.mcast.iter().any(Option::is_none) {
            st.mcast.push(None, GFP_KERNEL)?;
        }
        let reg_id = dev.mdev().attach_mcast(
            u32::from(st.info.port).max(1),
            qp.q.qpn,
            gid,
            qp.block_mc_loopback,
        )?;
        if let Some(slot) = st.mcast.iter_mut().find(|e| e.is_none()) {
            *slot = Some((*gid, reg_id));
        }
        Ok(())
    }

    fn detach_mcast(qp: &Qp<Mlx4Ib>, gid: &[u8; 16], _lid: u16, _cx: &Sleepable<'_>) -> Result {
        let dev = qp.device();
        let mut st = qp.st.lock();
        let Some(slot) = st
            .mcast
            .iter_mut()
            .find(|e| e.is_some_and(|(g, _)| &g == gid))
        else {
            return Err(EINVAL);
        };
        let reg_id = slot.map_or(0, |(_, r)| r);
        dev.mdev().detach_mcast(qp.q.qpn, gid, reg_id)?;
        *slot = None;
        Ok(())
    }
}
