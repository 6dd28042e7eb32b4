// SPDX-License-Identifier: GPL-2.0

//! Queue pairs (C: drivers/infiniband/hw/mlx4/qp.c): create, modify, query, destroy, post,
//! for RC, UC, UD and the special QPs QP0 and QP1 of kernel consumers.

mod modify;
mod post;

use crate::device::Mlx4Ib;
use crate::hw::abi::CreateQp;
use crate::hw::qp_state::{IbQpState, IB_QP_CUR_STATE, IB_QP_STATE};
use crate::hw::wqe::DS;
use crate::hw::{offload, qpc, qpc_query, sizing, QpType as HwQpType};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::mlx4::{
    self, Buf, Db, HwQp, Mtt, QpRange, QpState, QpUsage, QueueBuf, UserBuf,
};
use crate::rust_bindings::rdma::provider::{
    self, Atomic as AtomicCx, Pd, Qp, QpAttr, QpCap, QpCore, QpHandle, QpInitAttr, QpOps, QpType,
    RecvWr, SendWr, Sleepable, Umem, User,
};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use crate::srq::SrqQueue;
use crate::ucontext::UserDb;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// `IB_QP_CREATE_IPOIB_UD_LSO`.
const CREATE_IPOIB_UD_LSO: u32 = 1 << 0;
/// `IB_QP_CREATE_BLOCK_MULTICAST_LOOPBACK`.
const CREATE_BLOCK_MULTICAST_LOOPBACK: u32 = 1 << 1;
/// `MLX4_WQE_CTRL_IP_CSUM | MLX4_WQE_CTRL_TCP_UDP_CSUM`.
const CTRL_CSUM: u32 = offload::CTRL_IP_CSUM | offload::CTRL_TCP_UDP_CSUM;
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

/// Where a QP's rings and receive doorbell record are.
enum QpMemory {
    /// A kernel consumer's: the driver writes the WQEs.
    Kernel { ring: QueueBuf, db: Option<Db> },
    /// A process's: libmlx4 writes the WQEs in its own memory.
    User { ring: UserBuf, _db: Option<UserDb> },
}

impl QpMemory {
    fn mtt(&self) -> &Mtt {
        match self {
            Self::Kernel { ring, .. } => ring.mtt(),
            Self::User { ring, .. } => ring.mtt(),
        }
    }

    /// The ring of a kernel QP.
    fn kbuf(&self) -> Option<&Buf> {
        match self {
            Self::Kernel { ring, .. } => Some(ring.buf()),
            Self::User { .. } => None,
        }
    }

    /// The receive doorbell record of a kernel QP with a receive queue.
    fn kdb(&self) -> Option<&Db> {
        match self {
            Self::Kernel { db, .. } => db.as_ref(),
            Self::User { .. } => None,
        }
    }
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
    mem: QpMemory,
    /// The SRQ it receives from instead.
    pub(crate) srq: Option<Arc<SrqQueue>>,
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

    /// Completes a receive WQE, the SRQ's WQE at `wqe_index` or else the oldest of the
    /// receive queue; returns its wr_id.
    pub(crate) fn complete_recv(&self, wqe_index: u16) -> u64 {
        if let Some(srq) = &self.srq {
            return srq.complete(wqe_index);
        }
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
        let Some(buf) = self.mem.kbuf() else {
            return;
        };
        let off = self.sq_off(n);
        let size = usize::from(buf.read_u8(off + 7).unwrap_or(0) & 0x3f) * DS;
        let mut i = 64;
        while i < size {
            let _ = buf.write_be32(off + i, 0xffff_ffff);
            i += 64;
        }
    }

    /// Prepares the send ring at RESET to INIT: every WQE owned by the hardware, sized to
    /// the stride, and stamped (the C driver's loop in `__mlx4_ib_modify_qp`).
    fn init_send_ring(&self) {
        // A process prepares its own ring (libmlx4).
        let Some(buf) = self.mem.kbuf() else {
            return;
        };
        let sq = &self.layout.sq;
        for i in 0..sq.wqe_cnt {
            let off = self.sq_off(i);
            let _ = buf.write_be32(off, 1 << 31);
            let _ = buf.write_u8(off + 7, (1u32 << (sq.wqe_shift - 4)) as u8);
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
        if let Some(db) = self.mem.kdb() {
            let _ = db.write(0, 0);
        }
    }

    /// Copies the WQE built in `w[..size]` into slot `n`, the first word last: each 64-byte
    /// chunk's first word after the rest of it, as the C driver writes data segments in
    /// reverse so the prefetcher never sees a chunk whose stamp is gone too early.
    fn copy_wqe(&self, n: u32, w: &[u8], size: usize, owner_opcode: u32) {
        let Some(buf) = self.mem.kbuf() else {
            return;
        };
        let off = self.sq_off(n);
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
/// Removes the QP's completions from its CQs (giving back the SRQ WQEs of its receive
/// completions), as a QP that is reset or destroyed does.
fn clean_cqs(qp: &Qp<Mlx4Ib>) {
    qp.recv_cq().clean(qp.q.qpn, qp.q.srq.as_deref());
    if qp.send_cq().cqn() != qp.recv_cq().cqn() {
        qp.send_cq().clean(qp.q.qpn, None);
    }
}

pub(crate) fn zeroed_vec(n: usize) -> Result<KVec<u64>> {
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

pub(crate) fn hw_err(e: crate::hw::Error) -> Error {
    Error::from_errno(e.to_errno())
}

fn ib_state(s: u32) -> Result<IbQpState> {
    IbQpState::from_raw(s).ok_or(EINVAL)
}

/// The address of a path read back from the hardware.
fn from_qpc_ah(p: &qpc_query::QueriedPath) -> provider::AhAttr {
    let a = &p.ah;
    provider::AhAttr {
        port: u32::from(p.port),
        sl: a.sl,
        static_rate: a.static_rate,
        dlid: a.dlid,
        src_path_bits: a.src_path_bits,
        grh: a.grh.map(|g| provider::GlobalRoute {
            dgid: g.dgid,
            flow_label: g.flow_label,
            sgid_index: g.sgid_index,
            hop_limit: g.hop_limit,
            traffic_class: g.traffic_class,
        }),
        not_ib: false,
    }
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

impl QpOps<Mlx4Ib> for Mlx4Qp {
    fn create<'a>(
        pd: &'a Pd<Mlx4Ib>,
        core: QpCore<'a>,
        attr: &'a mut QpInitAttr<'a, Mlx4Ib>,
        user: Option<&'a User<'a, Mlx4Ib>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let dev = pd.device();
        let qp_type = attr.qp_type();
        let kind = hw_type(qp_type)?;
        let flags = attr.create_flags();
        if flags & !(CREATE_BLOCK_MULTICAST_LOOPBACK | CREATE_IPOIB_UD_LSO) != 0 {
            return Err(EOPNOTSUPP());
        }
        // LSO is for kernel UD QPs (IPoIB) only.
        let lso = flags & CREATE_IPOIB_UD_LSO != 0;
        if lso && (user.is_some() || kind != HwQpType::Ud) {
            return Err(EINVAL);
        }
        // No XRC or RSS verbs yet.
        if attr.has_xrcd_or_rss() {
            return Err(EOPNOTSUPP());
        }
        let srq = attr.srq().map(|s| (s.srqn(), s.queue()));
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
        let cap = sizing::QpCap {
            max_send_wr: c.max_send_wr,
            max_recv_wr: c.max_recv_wr,
            max_send_sge: c.max_send_sge,
            max_recv_sge: c.max_recv_sge,
            max_inline_data: c.max_inline_data,
        };
        let mdev = dev.mdev();
        let (layout, mem, uar, ureq) = match user {
            None => {
                let layout = sizing::layout(
                    &dev.sizing_caps(),
                    &sizing::Request {
                        qp_type: kind,
                        lso,
                        has_rq: srq.is_none(),
                        cap,
                    },
                )
                .map_err(hw_err)?;
                let ring = QueueBuf::new(mdev, layout.buf_size as usize)?;
                let db = if layout.rq.wqe_cnt > 0 {
                    let db = Db::new(mdev, 0)?;
                    db.write(0, 0)?;
                    Some(db)
                } else {
                    None
                };
                (layout, QpMemory::Kernel { ring, db }, &dev.uar, None)
            }
            Some(u) => {
                let req = CreateQp::parse(&u.udata.copy_in(cx)?);
                let layout = sizing::user_layout(
                    &dev.sizing_caps(),
                    &sizing::UserRequest {
                        has_rq: srq.is_none(),
                        cap,
                        log_sq_bb_count: req.log_sq_bb_count,
                        log_sq_stride: req.log_sq_stride,
                        inl_recv_sz: req.inl_recv_sz,
                    },
                )
                .map_err(hw_err)?;
                let umem = Umem::get(dev, req.buf_addr, layout.buf_size as usize, 0, cx)?;
                let ring = UserBuf::new(mdev, umem)?;
                let db = match srq {
                    None => Some(u.ctx.map_db(dev, req.db_addr, cx)?),
                    Some(_) => None,
                };
                let db_dma = db.as_ref().map_or(0, |d| d.dma());
                let mem = QpMemory::User { ring, _db: db };
                (layout, mem, u.ctx.uar(), Some((req, db_dma)))
            }
        };
        let (sq_wrid, rq_wrid) = match ureq {
            None => (
                zeroed_vec(layout.sq.wqe_cnt as usize)?,
                zeroed_vec(layout.rq.wqe_cnt as usize)?,
            ),
            Some(_) => (KVec::new(), KVec::new()),
        };
        let (qpn, range) = if special {
            let base = dev.caps.base_sqpn + if kind == HwQpType::Smi { 0 } else { 2 };
            (base + port - 1, None)
        } else {
            let usage = match user {
                None => QpUsage::Driver,
                Some(_) => QpUsage::UserVerbs,
            };
            let r = QpRange::reserve(mdev, 1, 1, 0, usage)?;
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
            is_kernel: user.is_none(),
            port: if special { port as u8 } else { 0 },
            pdn: pd.pdn(),
            sq_wqe_cnt: layout.sq.wqe_cnt,
            sq_wqe_shift: layout.sq.wqe_shift,
            rq_wqe_cnt: layout.rq.wqe_cnt,
            rq_wqe_shift: layout.rq.wqe_shift,
            sq_no_prefetch: ureq.is_some_and(|(r, _)| r.sq_no_prefetch != 0),
            inl_recv: ureq.is_some_and(|(r, _)| r.inl_recv_sz != 0),
            lso,
            srqn: srq.as_ref().map(|s| s.0),
            send_cqn,
            recv_cqn,
            usr_page: uar.hw_index(),
            db_rec_addr: match (&mem, ureq) {
                (QpMemory::Kernel { db, .. }, _) => db.as_ref().map_or(0, |d| d.dma()),
                (QpMemory::User { .. }, Some((_, dma))) => dma,
                (QpMemory::User { .. }, None) => 0,
            },
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
                mem,
                srq: srq.and_then(|s| s.1),
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
        clean_cqs(qp);
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
        let mut st = qp.st.lock();
        let l = &qp.q.layout;
        // The hardware knows the state once it moved the QP to SQE or ERR (`mlx4_ib_query_qp`).
        if st.state != IbQpState::Reset {
            let c = qp.hw.query().map_err(|_| EINVAL)?;
            let q = qpc_query::parse(&c);
            st.state = q.state.ok_or(EINVAL)?;
            attr.path_mtu = q.path_mtu;
            attr.path_mig_state = q.mig_state;
            attr.qkey = q.qkey;
            attr.rq_psn = q.rq_psn;
            attr.sq_psn = q.sq_psn;
            attr.dest_qp_num = q.dest_qp_num;
            attr.qp_access_flags = q.access;
            if matches!(qp.q.kind, HwQpType::Rc | HwQpType::Uc) {
                attr.ah_attr = from_qpc_ah(&q.pri);
                attr.alt_ah_attr = from_qpc_ah(&q.alt);
                attr.alt_pkey_index = q.alt.pkey_index;
                attr.alt_port_num = u32::from(q.alt.port);
            }
            attr.pkey_index = q.pri.pkey_index;
            attr.port_num = if st.state == IbQpState::Init {
                u32::from(st.info.port)
            } else {
                u32::from(q.pri.port)
            };
            attr.sq_draining = u8::from(q.sq_draining);
            attr.max_rd_atomic = q.max_rd_atomic;
            attr.max_dest_rd_atomic = q.max_dest_rd_atomic;
            attr.min_rnr_timer = q.min_rnr_timer;
            attr.timeout = q.pri.timeout;
            attr.retry_cnt = q.retry_cnt;
            attr.rnr_retry = q.rnr_retry;
            attr.alt_timeout = q.alt.timeout;
        }
        attr.qp_state = st.state as u32;
        attr.cur_qp_state = st.state as u32;
        if qp.q.special {
            let sq = qp.q.sq.lock();
            attr.qkey = sq.sqp.qkey;
            attr.sq_psn = sq.sqp.send_psn;
        }
        // As C: the rings' sizes; the send ring of a process's QP is the library's business.
        let user = qp.q.mem.kbuf().is_none();
        *cap = QpCap {
            max_send_wr: if user { 0 } else { l.sq.wqe_cnt },
            max_recv_wr: l.rq.wqe_cnt,
            max_send_sge: if user { 0 } else { l.sq.max_gs },
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
        post::post_send(qp, wrs)
    }

    fn post_recv(
        qp: &Qp<Mlx4Ib>,
        wrs: &mut dyn Iterator<Item = RecvWr<'_>>,
        _cx: &AtomicCx<'_>,
    ) -> core::result::Result<(), (usize, Error)> {
        post::post_recv(qp, wrs)
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
