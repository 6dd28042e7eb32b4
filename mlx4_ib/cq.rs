// SPDX-License-Identifier: GPL-2.0

//! Completion queues (C: drivers/infiniband/hw/mlx4/cq.c): create, poll, arm, destroy.

use crate::device::Mlx4Ib;
use crate::hw::abi::CreateQueue;
use crate::hw::cqe::{self, ErrCqe, Syndrome, OPCODE_ERROR, OPCODE_RESIZE};
use crate::hw::doorbell::{ArmCmd, CqArm};
use crate::hw::offload;
use crate::hw::wqe::Opcode;
use crate::qp::QpQueues;
use crate::rust_bindings::mlx4::{self, Db, HwCq, Mtt, QueueBuf, UserBuf};
use crate::rust_bindings::rdma::provider::{
    wc_opcode, wc_status, Atomic, Cq, CqCore, CqInitAttr, CqOps, Dev, NotifyFlags, Sleepable, Umem,
    User, WcOut, ACCESS_LOCAL_WRITE, WC_GRH, WC_IP_CSUM_OK, WC_WITH_IMM, WC_WITH_INVALIDATE,
};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use crate::srq::SrqQueue;
use crate::ucontext::UserDb;
use kernel::prelude::*;
use kernel::sync::Arc;

/// Where a CQ's ring and doorbell records are.
enum CqMemory {
    /// A kernel consumer's: the driver polls and arms it.
    Kernel { ring: QueueBuf, db: Db },
    /// A process's: libmlx4 polls and arms it in its own memory.
    User { ring: UserBuf, db: UserDb },
}

impl CqMemory {
    fn mtt(&self) -> &Mtt {
        match self {
            Self::Kernel { ring, .. } => ring.mtt(),
            Self::User { ring, .. } => ring.mtt(),
        }
    }

    fn hw(&self, buf_addr: u64) -> mlx4::CqMem<'_> {
        match self {
            Self::Kernel { db, .. } => mlx4::CqMem::Kernel(db),
            Self::User { db, .. } => mlx4::CqMem::User {
                db_dma: db.dma(),
                buf_addr,
            },
        }
    }

    /// The ring and records of a kernel CQ.
    fn kernel(&self) -> Option<(&QueueBuf, &Db)> {
        match self {
            Self::Kernel { ring, db } => Some((ring, db)),
            Self::User { .. } => None,
        }
    }
}

/// A CQ: its ring, translation, doorbell records and the hardware CQ.
#[pin_data]
pub(crate) struct Mlx4Cq {
    /// Declared first so it is dropped first: the hardware CQ goes before its ring.
    #[pin]
    hw: HwCq,
    mem: CqMemory,
    /// Entries in the ring (a power of two).
    nent: u32,
    /// Bytes per entry (32 or 64; with 64 the CQE is the second half).
    entry_size: usize,
    #[pin]
    state: SpinLockIrq<CqState>,
}

/// What `poll` advances (`mlx4_cq.cons_index`).
struct CqState {
    cons_index: u32,
}

impl Mlx4Cq {
    /// The CQ number.
    pub(crate) fn cqn(&self) -> u32 {
        self.hw.cqn()
    }

    /// Returns the valid 32 bytes of entry `n` of a kernel CQ if software owns it.
    fn sw_cqe(&self, ring: &QueueBuf, n: u32) -> Option<[u8; cqe::CQE_SIZE]> {
        let off =
            (n & (self.nent - 1)) as usize * self.entry_size + self.entry_size - cqe::CQE_SIZE;
        let mut e = [0u8; cqe::CQE_SIZE];
        let _ = ring.buf().read_bytes(off, &mut e);
        cqe::sw_owned(&e, n, self.nent).then_some(e)
    }

    /// Removes the completions of QP `qpn` still in the ring (`__mlx4_ib_cq_clean`), as a QP
    /// that is reset or destroyed does; the WQEs of its receive completions go back to `srq`.
    pub(crate) fn clean(&self, qpn: u32, srq: Option<&SrqQueue>) {
        // A process cleans its own CQs (libmlx4's `mlx4_cq_clean`).
        let Some((ring, db)) = self.mem.kernel() else {
            return;
        };
        let mut st = self.state.lock();
        let cons = st.cons_index;
        // Find the producer index: the first entry hardware still owns.
        let mut prod = cons;
        while self.sw_cqe(ring, prod).is_some() {
            prod = prod.wrapping_add(1);
            if prod.wrapping_sub(cons) > self.nent {
                break;
            }
        }
        // Walk backwards, sliding the entries of other QPs over those of `qpn`.
        let mut nfreed = 0u32;
        let mut p = prod;
        while p != cons {
            p = p.wrapping_sub(1);
            let Some(e) = self.sw_cqe(ring, p) else { break };
            let c = cqe::Cqe::read(&e);
            if c.qpn == qpn {
                if let (Some(srq), false) = (srq, c.is_send) {
                    srq.free(c.wqe_index);
                }
                nfreed += 1;
            } else if nfreed != 0 {
                let dst = p.wrapping_add(nfreed);
                let doff = (dst & (self.nent - 1)) as usize * self.entry_size + self.entry_size
                    - cqe::CQE_SIZE;
                // Keep the destination's ownership bit.
                let mut old = [0u8; cqe::CQE_SIZE];
                let _ = ring.buf().read_bytes(doff, &mut old);
                let mut moved = e;
                moved[31] = (moved[31] & 0x7f) | (old[31] & 0x80);
                let _ = ring.buf().write_bytes(doff, &moved);
            }
        }
        if nfreed != 0 {
            st.cons_index = cons.wrapping_add(nfreed);
            mlx4::barrier::wmb();
            let _ = db.write(0, st.cons_index & 0x00ff_ffff);
        }
    }
}

impl CqOps<Mlx4Ib> for Mlx4Cq {
    fn create<'a>(
        dev: &'a Dev<Mlx4Ib>,
        cq: CqCore<'a>,
        attr: &CqInitAttr,
        user: Option<&'a User<'a, Mlx4Ib>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        let caps = &dev.caps;
        if attr.cqe < 1 || attr.cqe > caps.max_cqes || attr.flags != 0 {
            return Err(EINVAL);
        }
        // One entry more than asked, rounded up to a power of two (mlx4_ib_create_cq).
        let nent = (attr.cqe + 1).next_power_of_two();
        cq.set_cqe(nent - 1);
        let entry_size = caps.cqe_size as usize;
        let mdev = dev.mdev();
        let size = nent as usize * entry_size;
        let (mem, buf_addr, uar) = match user {
            None => {
                let ring = QueueBuf::new(mdev, size)?;
                // Every entry starts hardware-owned for pass 0 (the C driver's
                // `init_cqe_buf`: 0xcc).
                ring.buf().fill(0, size, 0xcc)?;
                let db = Db::new(mdev, 1)?;
                (CqMemory::Kernel { ring, db }, 0, &dev.uar)
            }
            Some(u) => {
                let req = CreateQueue::parse(&u.udata.copy_in(cx)?);
                let umem = Umem::get(dev, req.buf_addr, size, ACCESS_LOCAL_WRITE, cx)?;
                let ring = UserBuf::new(mdev, umem)?;
                let db = u.ctx.map_db(dev, req.db_addr, cx)?;
                (CqMemory::User { ring, db }, req.buf_addr, u.ctx.uar())
            }
        };
        let vector = attr.comp_vector % dev.num_comp_vectors.max(1);
        Ok(try_pin_init!(Self {
            mem,
            nent,
            entry_size,
            state <- new_spinlock_irq!(CqState { cons_index: 0 }, "mlx4_ib_cq"),
            // Last, as it makes the CQ live; the fields it needs are in place.
            hw <- HwCq::new(
                mdev,
                mlx4::CqResources {
                    nent: *nent,
                    mtt: mem.mtt(),
                    uar,
                    mem: mem.hw(buf_addr),
                    vector,
                },
                cq,
            ),
        }? Error)
        .pin_chain(move |this| match user {
            // The CQ number only (`sizeof(__u32)`), as C.
            Some(u) => u.udata.respond(&this.cqn(), cx),
            None => Ok(()),
        }))
    }

    fn poll(cq: &Cq<Mlx4Ib>, wc: &mut [WcOut], _cx: &Atomic<'_>) -> Result<usize> {
        let dev = cq.device();
        // A process's CQ is polled by the process (libmlx4), not through the kernel.
        let (ring, db) = cq.mem.kernel().ok_or(EINVAL)?;
        let mut st = cq.state.lock();
        let mut n = 0;
        let mut cur: Option<Arc<QpQueues>> = None;
        while n < wc.len() {
            let Some(e) = cq.sw_cqe(ring, st.cons_index) else {
                break;
            };
            st.cons_index = st.cons_index.wrapping_add(1);
            mlx4::barrier::rmb();
            let c = cqe::Cqe::read(&e);
            let op = c.opcode & 0x1f;
            if op == OPCODE_RESIZE {
                continue;
            }
            if cur.as_ref().map(|q| q.qpn) != Some(c.qpn) {
                cur = dev.lookup_qp(c.qpn);
            }
            let Some(qp) = cur.as_ref() else {
                pr_warn!(
                    "{}: CQ {:06x}: completion for unknown QP {:06x}\n",
                    dev.name(),
                    cq.cqn(),
                    c.qpn
                );
                continue;
            };
            let w = &mut wc[n];
            w.reset();
            w.set_qp(qp.handle);
            let wr_id = if c.is_send {
                qp.complete_send(c.wqe_index)
            } else {
                qp.complete_recv(c.wqe_index)
            };
            w.set_wr_id(wr_id);
            n += 1;
            if op == OPCODE_ERROR {
                let err = ErrCqe::read(&e);
                let status = match err.syndrome {
                    Some(Syndrome::LocalLength) => wc_status::LOC_LEN_ERR,
                    Some(Syndrome::LocalQpOp) => wc_status::LOC_QP_OP_ERR,
                    Some(Syndrome::LocalProt) => wc_status::LOC_PROT_ERR,
                    Some(Syndrome::WrFlush) => wc_status::WR_FLUSH_ERR,
                    Some(Syndrome::MwBind) => wc_status::MW_BIND_ERR,
                    Some(Syndrome::BadResp) => wc_status::BAD_RESP_ERR,
                    Some(Syndrome::LocalAccess) => wc_status::LOC_ACCESS_ERR,
                    Some(Syndrome::RemoteInvalidRequest) => wc_status::REM_INV_REQ_ERR,
                    Some(Syndrome::RemoteAccess) => wc_status::REM_ACCESS_ERR,
                    Some(Syndrome::RemoteOp) => wc_status::REM_OP_ERR,
                    Some(Syndrome::RetryExceeded) => wc_status::RETRY_EXC_ERR,
                    Some(Syndrome::RnrRetryExceeded) => wc_status::RNR_RETRY_EXC_ERR,
                    Some(Syndrome::RemoteAborted) => wc_status::REM_ABORT_ERR,
                    None => wc_status::GENERAL_ERR,
                };
                w.set_status(status, u32::from(err.vendor_syndrome));
                continue;
            }
            w.set_status(wc_status::SUCCESS, 0);
            if c.is_send {
                match Opcode::from_bits(op) {
                    Some(Opcode::RdmaWriteImm) => {
                        w.add_flags(WC_WITH_IMM);
                        w.set_opcode(wc_opcode::RDMA_WRITE);
                    }
                    Some(Opcode::RdmaWrite) => w.set_opcode(wc_opcode::RDMA_WRITE),
                    Some(Opcode::SendImm) => {
                        w.add_flags(WC_WITH_IMM);
                        w.set_opcode(wc_opcode::SEND);
                    }
                    Some(Opcode::Send) | Some(Opcode::SendInval) => w.set_opcode(wc_opcode::SEND),
                    Some(Opcode::RdmaRead) => {
                        w.set_opcode(wc_opcode::RDMA_READ);
                        w.set_byte_len(c.byte_cnt);
                    }
                    Some(Opcode::AtomicCs) => {
                        w.set_opcode(wc_opcode::COMP_SWAP);
                        w.set_byte_len(8);
                    }
                    Some(Opcode::AtomicFa) => {
                        w.set_opcode(wc_opcode::FETCH_ADD);
                        w.set_byte_len(8);
                    }
                    Some(Opcode::MaskedAtomicCs) => {
                        w.set_opcode(wc_opcode::MASKED_COMP_SWAP);
                        w.set_byte_len(8);
                    }
                    Some(Opcode::MaskedAtomicFa) => {
                        w.set_opcode(wc_opcode::MASKED_FETCH_ADD);
                        w.set_byte_len(8);
                    }
                    Some(Opcode::Lso) => w.set_opcode(wc_opcode::LSO),
                    Some(Opcode::Fmr) => w.set_opcode(wc_opcode::REG_MR),
                    Some(Opcode::LocalInval) => w.set_opcode(wc_opcode::LOCAL_INV),
                    _ => {}
                }
            } else {
                w.set_byte_len(c.byte_cnt);
                match op {
                    0 => {
                        w.set_opcode(wc_opcode::RECV_RDMA_WITH_IMM);
                        w.add_flags(WC_WITH_IMM);
                        w.set_imm_data(c.immed.to_be());
                    }
                    3 => {
                        w.set_opcode(wc_opcode::RECV);
                        w.add_flags(WC_WITH_INVALIDATE);
                        w.set_imm_data(c.immed);
                    }
                    2 => {
                        w.set_opcode(wc_opcode::RECV);
                        w.add_flags(WC_WITH_IMM);
                        w.set_imm_data(c.immed.to_be());
                    }
                    _ => w.set_opcode(wc_opcode::RECV),
                }
                w.set_source(
                    c.rqpn,
                    u32::from(c.rlid),
                    (c.sl_vid >> 12) as u8,
                    c.path_bits,
                );
                if c.grh {
                    w.add_flags(WC_GRH);
                }
                // The HCA verified an IPoIB datagram's IPv4 and TCP/UDP checksums.
                if offload::RxCsum::ok(c.status, c.checksum) {
                    w.add_flags(WC_IP_CSUM_OK);
                }
                w.set_pkey_index((c.immed & 0x7f) as u16);
                if qp.special {
                    w.set_port(qp.port);
                }
            }
        }
        if n > 0 {
            // Tell the hardware how far software has consumed (`mlx4_cq_set_ci`).
            let _ = db.write(0, st.cons_index & 0x00ff_ffff);
        }
        Ok(n)
    }

    fn modify(cq: &Cq<Mlx4Ib>, count: u16, period: u16, _cx: &Sleepable<'_>) -> Result {
        cq.hw.modify(count, period)
    }

    fn req_notify(cq: &Cq<Mlx4Ib>, flags: NotifyFlags, _cx: &Atomic<'_>) -> Result<bool> {
        // A process arms its CQs itself (libmlx4's `mlx4_arm_cq`).
        let (_, db) = cq.mem.kernel().ok_or(EINVAL)?;
        let ci = cq.state.lock().cons_index;
        let arm = CqArm {
            cqn: cq.cqn(),
            ci,
            sn: cq.hw.arm_sn(),
            cmd: if flags.solicited {
                ArmCmd::Solicited
            } else {
                ArmCmd::Next
            },
        };
        let rec = arm.record();
        let _ = db.write(1, u32::from_be_bytes([rec[4], rec[5], rec[6], rec[7]]));
        // The record must be visible before the doorbell (`mlx4_cq_arm`).
        mlx4::barrier::wmb();
        cq.device().uar_map.ring_cq_bytes(&arm.uar());
        // The C driver never reports missed events (`mlx4_ib_arm_cq` returns 0).
        Ok(false)
    }
}
