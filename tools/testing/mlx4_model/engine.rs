// SPDX-License-Identifier: GPL-2.0

//! The hardware engine: executes send WQEs, consumes receive WQEs, writes CQEs and raises
//! completion and QP events, for the two HCAs on the cable.
//!
//! It is a work item that scans every QP in a usable state: while it finds work it runs again
//! at once, else one jiffy later. The hardware notices doorbells; the model instead finds new
//! send WQEs by their ownership bit and new receive WQEs by the doorbell records, so a ring
//! costs up to a jiffy of latency and an idle model wakes 1000 times a second (documented in
//! `Documentation/mlx4_model.rst`).
//!
//! The wire is lossless and in order: a message moves from the requester's memory to the
//! responder's in one step, in pieces of the staging buffer, taking one HCA's lock at a time.
//! What packets would carry is checked as the responder would check them: an RC or UC message
//! spans as many PSNs as it has path-MTU packets, an RC responder takes only the PSN it
//! expects (a later one is out of sequence: NAKed, the requester retries until its retry count
//! and ACK timeout run out; an earlier one is a duplicate: acknowledged and dropped), and no
//! packet may exceed the receiving QP's path MTU. A missing receive WQE (RNR) leaves the send
//! WQE at the head of its queue until one is posted.

use crate::doorbell::scan_doorbells;
use crate::fabric::{Fabric, NUM_HCAS};
use crate::hca::{
    csum_ok_param, lso_wqes_param, violation, Hca, QpRec, State, PSN_MASK, RESERVED_LKEY,
};
use crate::hw::av::{Datagram, DATAGRAM_SIZE};
use crate::hw::cqe::{Cqe, ErrCqe, RecvOpcode, Syndrome, CQE_SIZE};
use crate::hw::offload::{self, Lso, LsoSeg, RxCsum};
use crate::hw::wqe::{Ctrl, Data, Opcode, Raddr, DS, INVALID_LKEY};
use crate::rust_bindings::raw;
use crate::sma::{pkey_match, LinkState};
use core::ptr;
use core::sync::atomic::{fence, Ordering};

/// Bytes moved per piece of a message; holds a GRH and a full MTU datagram.
pub(crate) const STAGE: usize = 8192;
/// The IB MTU of the model's ports: the largest UD payload.
const PORT_MTU: usize = 4096;
/// The GRH area at the start of a UD receive buffer.
const GRH_BYTES: usize = 40;
/// Most scatter/gather entries the model reads from a WQE (`max_sq_sg`, `max_rq_sg`).
const MAX_SGE: usize = 32;
/// Largest WQE stride the model executes (`max_sq_desc_sz` rounded up).
pub(crate) const MAX_WQE: usize = 1024;

/// The engine's buffers, on the heap: it runs on a worker's stack, into which the completion
/// handlers it calls also run softirqs (NAPI, the network stack).
pub(crate) struct Scratch {
    /// A message piece or a datagram with its GRH area.
    pub(crate) stage: [u8; STAGE],
    /// A copy of the send WQE being executed.
    pub(crate) wqe: [u8; MAX_WQE],
}
/// Send WQEs executed per QP and pass, so one busy QP cannot starve the others.
const QP_BUDGET: u32 = 16;
/// Transport service types (`MLX4_QP_ST_*`).
const ST_RC: u32 = 0;
const ST_UC: u32 = 1;
const ST_UD: u32 = 3;
const ST_MLX: u32 = 7;
/// MPT access bits (`MLX4_PERM_*`).
const PERM_LOCAL_WRITE: u32 = 1 << 11;
const PERM_REMOTE_READ: u32 = 1 << 12;
const PERM_REMOTE_WRITE: u32 = 1 << 13;
const PERM_ATOMIC: u32 = 1 << 14;
/// QP context `params2` responder access bits (`MLX4_QP_BIT_RRE/RWE/RAE`).
const QP_RRE: u32 = 1 << 15;
const QP_RWE: u32 = 1 << 14;
const QP_RAE: u32 = 1 << 13;
/// Arm commands in the CQ doorbell record (`MLX4_CQ_DB_REQ_NOT_SOL`, `_NOT`).
const ARM_SOL: u32 = 1 << 24;
const ARM_ALL: u32 = 2 << 24;
/// Asynchronous event types (`MLX4_EVENT_TYPE_*`).
const EV_CQ_ERROR: u32 = 0x04;
const EV_LAST_WQE: u32 = 0x13;
const EV_SRQ_LIMIT: u32 = 0x14;
/// Byte offsets of the counters the engine keeps in the `DIAG_RPRT` report.
const DIAG_RQ_NUM_LLE: usize = 0x00;
const DIAG_SQ_NUM_RAE: usize = 0x4c;
const DIAG_SQ_NUM_RNR: usize = 0x6c;
const DIAG_NUM_CQOVF: usize = 0x1a0;
const DIAG_RQ_NUM_UDSDPRD: usize = 0x118;
const DIAG_RQ_NUM_OOS: usize = 0x100;
const DIAG_RQ_NUM_DUP: usize = 0x130;
/// How long a UC QP waits for a port that is not Active before "retry exceeded" (an RC QP
/// waits as its retry count and ACK timeout say).
const UC_LINK_TIMEOUT_MS: u64 = 5000;

/// A work queue inside a QP or SRQ buffer.
#[derive(Clone, Copy)]
struct Ring {
    /// First MTT entry and page shift of the buffer.
    mtt: (u32, u32),
    /// Byte offset of the queue in the buffer.
    off: u64,
    /// Entries (a power of two) and log2 of the stride.
    cnt: u32,
    shift: u32,
}

/// What the engine needs of a QP's context.
#[derive(Clone, Copy)]
pub(crate) struct QpView {
    pub(crate) qpn: u32,
    st: u32,
    state: u32,
    pd: u32,
    sq: Ring,
    rq: Option<Ring>,
    srqn: Option<u32>,
    db_rec: u64,
    cqn_send: u32,
    cqn_recv: u32,
    remote_qpn: u32,
    rlid: u16,
    qkey: u32,
    access: u32,
    sl: u8,
    pkey_index: u8,
    /// The reserved lkey (DMA addresses) is allowed: kernel QPs only.
    rlkey: bool,
    /// Responder's minimal RNR timer code and requester's RNR retry count (7: forever).
    min_rnr: u8,
    rnr_retry: u8,
    /// `QpRec::gen` when the view was taken.
    gen: u32,
    /// The UAR page its send doorbells must be rung on (`usr_page`).
    pub(crate) uar: u32,
    /// log2 of the largest message, and the path MTU in bytes (`mtu_msgmax`; 0 if unset).
    msg_max: u8,
    mtu: u32,
    /// Requester's transport retry count and ACK timeout code (4.096 us << code, 0: none).
    retry_cnt: u8,
    ack_timeout: u8,
}

pub(crate) fn be32(v: u32) -> u32 {
    u32::from_be(v)
}

impl QpView {
    fn new(qpn: u32, rec: &QpRec) -> Self {
        let c = &*rec.ctx;
        let mtt_addr = (u64::from(c.mtt_base_addr_h) << 32) | u64::from(be32(c.mtt_base_addr_l));
        let mtt = ((mtt_addr / 8) as u32, u32::from(c.log_page_size) + 12);
        let sss = c.sq_size_stride;
        let (sq_cnt, sq_shift) = (1u32 << ((sss >> 3) & 0xf), u32::from(sss & 7) + 4);
        let srqn = be32(c.srqn);
        let srqn = (srqn & (1 << 24) != 0).then_some(srqn & 0xff_ffff);
        let db_rec = u64::from_be(c.db_rec_addr);
        let rss = c.rq_size_stride;
        let (rq_cnt, rq_shift) = (1u32 << ((rss >> 3) & 0x1f), u32::from(rss & 7) + 4);
        let has_rq = srqn.is_none() && db_rec != 0;
        let rq_first = has_rq && rq_shift > sq_shift;
        let sq = Ring {
            mtt,
            off: if rq_first {
                u64::from(rq_cnt) << rq_shift
            } else {
                0
            },
            cnt: sq_cnt,
            shift: sq_shift,
        };
        let rq = has_rq.then_some(Ring {
            mtt,
            off: if rq_first {
                0
            } else {
                u64::from(sq_cnt) << sq_shift
            },
            cnt: rq_cnt,
            shift: rq_shift,
        });
        Self {
            qpn,
            st: (be32(c.flags) >> 16) & 0xff,
            state: rec.state,
            pd: be32(c.pd) & 0xff_ffff,
            sq,
            rq,
            srqn,
            db_rec,
            cqn_send: be32(c.cqn_send) & 0xff_ffff,
            cqn_recv: be32(c.cqn_recv) & 0xff_ffff,
            remote_qpn: be32(c.remote_qpn) & 0xff_ffff,
            rlid: u16::from_be(c.pri_path.rlid),
            qkey: be32(c.qkey),
            access: be32(c.params2),
            sl: (c.pri_path.sched_queue >> 2) & 0xf,
            pkey_index: c.pri_path.pkey_index & 0x7f,
            rlkey: c.rlkey_roce_mode & 0x10 != 0,
            min_rnr: ((be32(c.rnr_nextrecvpsn) >> 24) & 0x1f) as u8,
            rnr_retry: ((be32(c.params1) >> 13) & 7) as u8,
            gen: rec.gen,
            uar: be32(c.usr_page) & 0xff_ffff,
            msg_max: c.mtu_msgmax & 0x1f,
            mtu: match c.mtu_msgmax >> 5 {
                m @ 1..=5 => 128 << m,
                _ => 0,
            },
            retry_cnt: ((be32(c.params1) >> 16) & 7) as u8,
            ack_timeout: c.pri_path.ackto >> 3,
        }
    }

    fn sends(&self) -> bool {
        self.state == raw::mlx4_qp_state_MLX4_QP_STATE_RTS
            || self.state == raw::mlx4_qp_state_MLX4_QP_STATE_SQD
    }

    fn receives(&self) -> bool {
        self.state == raw::mlx4_qp_state_MLX4_QP_STATE_RTR || self.sends() || self.is_sqe()
    }

    fn is_err(&self) -> bool {
        self.state == raw::mlx4_qp_state_MLX4_QP_STATE_ERR
    }

    /// Send queue error: the send queue is flushed, the receive queue works.
    fn is_sqe(&self) -> bool {
        self.state == raw::mlx4_qp_state_MLX4_QP_STATE_SQER
    }
}

/// Completion and asynchronous events to deliver once no lock is held.
pub(crate) struct Events {
    cqs: [*mut raw::mlx4_cq; 32],
    ncq: usize,
    cq_errors: [*mut raw::mlx4_cq; 4],
    ncqerr: usize,
    qps: [(*mut raw::mlx4_qp, u32); 8],
    nqp: usize,
    srqs: [*mut raw::mlx4_srq; 4],
    nsrq: usize,
    /// Port events of `hca` (`State::port_events`).
    hca: *const Hca,
    ports: [(u32, raw::mlx4_eqe); crate::hca::MAX_PORT_EVENTS],
    nport: usize,
}

impl Events {
    fn new() -> Self {
        Self {
            cqs: [ptr::null_mut(); 32],
            ncq: 0,
            cq_errors: [ptr::null_mut(); 4],
            ncqerr: 0,
            qps: [(ptr::null_mut(), 0); 8],
            nqp: 0,
            srqs: [ptr::null_mut(); 4],
            nsrq: 0,
            hca: ptr::null(),
            ports: [(0, raw::mlx4_eqe::default()); crate::hca::MAX_PORT_EVENTS],
            nport: 0,
        }
    }

    /// Calls the handlers and drops the references taken when the events were recorded: from
    /// hard-IRQ context, as mlx4_core's EQ interrupt does (`mlx4_eq_int`), except the
    /// completions of user CQs, which mlx4_core hands to its tasklet (softirq).
    fn deliver(&mut self, fabric: &Fabric) {
        if self.ncq + self.ncqerr + self.nqp + self.nsrq + self.nport == 0 {
            return;
        }
        fabric.in_hardirq(self);
        // SAFETY: The entries left are user CQs with a reference taken as above.
        unsafe {
            raw::bh_disable();
            for &cq in &self.cqs[..self.ncq] {
                if !cq.is_null() {
                    match (*cq).tasklet_ctx.comp {
                        Some(f) => f(cq),
                        None => crate::hca::violation_anywhere(format_args!(
                            "CQ {:#x} completed with no handler: `comp` is mlx4_core's \
                             tasklet and `tasklet_ctx.comp` is unset (set `comp` after \
                             mlx4_cq_alloc)",
                            (*cq).cqn
                        )),
                    }
                    put_cq(cq);
                }
            }
            raw::bh_enable();
        }
        self.ncq = 0;
        self.ncqerr = 0;
        self.nqp = 0;
        self.nsrq = 0;
    }

    /// The hard-IRQ part of [`Events::deliver`]: everything but user CQ completions, whose
    /// entries it leaves; the others it nulls.
    ///
    /// # Safety
    ///
    /// Runs in the engine's `irq_work`, while `deliver` waits for it.
    pub(crate) unsafe fn deliver_hardirq(&mut self) {
        // SAFETY: Each pointer was recorded with a reference taken under the HCA lock while
        // the object was in the firmware's tables, so it is alive until put here.
        unsafe {
            for cq in &mut self.cqs[..self.ncq] {
                // Completing through mlx4_core's tasklet (user CQs): left for `deliver`.
                if crate::abi::is_tasklet_comp((**cq).comp) {
                    continue;
                }
                if let Some(f) = (**cq).comp {
                    f(*cq);
                }
                put_cq(*cq);
                *cq = ptr::null_mut();
            }
            for &cq in &self.cq_errors[..self.ncqerr] {
                if let Some(f) = (*cq).event {
                    f(cq, EV_CQ_ERROR);
                }
                put_cq(cq);
            }
            // mlx4_ib's QP event handler drops the reference itself (`mlx4_put_qp`).
            for &(qp, ev) in &self.qps[..self.nqp] {
                match (*qp).event {
                    Some(f) => f(qp, ev),
                    None => crate::abi::put_qp(qp),
                }
            }
            for &srq in &self.srqs[..self.nsrq] {
                if let Some(f) = (*srq).event {
                    f(srq, EV_SRQ_LIMIT);
                }
                if raw::refcount_dec_test(&raw mut (*srq).refcount) {
                    raw::complete(&raw mut (*srq).free);
                }
            }
        }
        for &(event, mut eqe) in &self.ports[..self.nport] {
            // PORT_UP/DOWN carry the port number, PORT_MGMT_CHANGE its EQE.
            let mut port: kernel::ffi::c_int = 1;
            let param = if event == raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_MGMT_CHANGE {
                (&raw mut eqe).cast()
            } else {
                (&raw mut port).cast()
            };
            // SAFETY: `hca` is attached for the engine pass that collected the events.
            unsafe { (*self.hca).notify(event, param) };
        }
        self.ncqerr = 0;
        self.nqp = 0;
        self.nsrq = 0;
        self.nport = 0;
    }

    /// Takes the port events `h` queued, to raise with the next delivery.
    fn take_port_events(&mut self, h: &Hca) {
        let mut s = h.state.lock();
        let n = s.nport_events;
        self.ports[..n].copy_from_slice(&s.port_events[..n]);
        s.nport_events = 0;
        self.nport = n;
        self.hca = h;
    }
}

/// Drops a reference the engine took on a CQ.
///
/// # Safety
///
/// The caller holds a reference taken with `refcount_get`.
unsafe fn put_cq(cq: *mut raw::mlx4_cq) {
    // SAFETY: Per the function's contract.
    unsafe {
        if raw::refcount_dec_test(&raw mut (*cq).refcount) {
            raw::complete(&raw mut (*cq).free);
        }
    }
}

/// Reads a big-endian u32 of host memory.
///
/// # Safety
///
/// `p` must be valid for a 4-byte read.
unsafe fn read_be32(p: *const u8) -> u32 {
    // SAFETY: Per the function's contract; the driver writes it concurrently, hence volatile.
    u32::from_be(unsafe { ptr::read_volatile(p.cast::<u32>()) })
}

impl State {
    /// DMA address of byte `off` of a buffer mapped by `mtt`.
    pub(crate) fn buf_dma(&self, mtt: (u32, u32), off: u64) -> Option<u64> {
        let idx = u64::from(mtt.0) + (off >> mtt.1);
        let e = *self.mtt.get(usize::try_from(idx).ok()?)?;
        if e & 1 == 0 {
            return None;
        }
        Some((e & !1) + (off & ((1u64 << mtt.1) - 1)))
    }

    /// Translates `len` bytes at `addr` under `key` into a DMA address and the bytes
    /// contiguous from there. `remote`: the key is an rkey used by a peer.
    #[allow(clippy::too_many_arguments)]
    fn translate(
        &self,
        key: u32,
        addr: u64,
        len: u64,
        pd: u32,
        perm: u32,
        remote: bool,
        reserved_ok: bool,
    ) -> core::result::Result<(u64, u64), Syndrome> {
        let bad = if remote {
            Syndrome::RemoteAccess
        } else {
            Syndrome::LocalProt
        };
        if key == RESERVED_LKEY && !remote && reserved_ok {
            addr.checked_add(len).ok_or(bad)?;
            return Ok((addr, len));
        }
        let mr = self.mrs.get(&key.rotate_right(8)).ok_or(bad)?;
        if mr.key != key || !mr.enabled || mr.pd != pd {
            return Err(bad);
        }
        if perm != 0 && mr.access & perm != perm {
            return Err(bad);
        }
        let end = addr.checked_add(len).ok_or(bad)?;
        if addr < mr.iova || end > mr.iova.wrapping_add(mr.size) && mr.size != u64::MAX {
            return Err(bad);
        }
        match mr.mtt {
            None => Ok((addr, len)),
            Some((off, shift)) => {
                let base = mr.iova & !((1u64 << shift) - 1);
                let rel = addr - base;
                let dma = self.buf_dma((off, shift), rel).ok_or(bad)?;
                let room = (1u64 << shift) - (rel & ((1u64 << shift) - 1));
                Ok((dma, room.min(len)))
            }
        }
    }
}

/// The lkey marking an inline entry of an [`Sgl`] (no real key has all bits set, nor has the
/// reserved lkey).
const INLINE_KEY: u32 = u32::MAX;

/// A scatter/gather list read from a WQE; inline entries (sends) point into the WQE copy.
#[derive(Clone, Copy)]
struct Sgl<'a> {
    sges: [Data; MAX_SGE],
    n: usize,
    inline: &'a [u8],
}

impl<'a> Sgl<'a> {
    const fn new() -> Self {
        Self {
            sges: [Data::TERMINATOR; MAX_SGE],
            n: 0,
            inline: &[],
        }
    }

    /// Parses the data part of a send WQE (from `off`): data segments, zero-length ones
    /// (byte count 0x80000000) and inline segments (bit 31 and the length, then the data,
    /// padded to 16 bytes). `None` if the WQE is malformed.
    fn parse_send(wqe: &'a [u8], mut off: usize) -> Option<Self> {
        let mut l = Self::new();
        l.inline = wqe;
        while off + 4 <= wqe.len() {
            let dw = u32::from_be_bytes([wqe[off], wqe[off + 1], wqe[off + 2], wqe[off + 3]]);
            if dw == 0x8000_0000 {
                off += DS;
                continue;
            }
            if dw & 0x8000_0000 != 0 {
                let n = (dw & 0x7fff_ffff) as usize;
                let end = off.checked_add(4)?.checked_add(n)?;
                if end > wqe.len() || l.n == MAX_SGE {
                    return None;
                }
                l.push(Data {
                    byte_count: n as u32,
                    lkey: INLINE_KEY,
                    addr: (off + 4) as u64,
                });
                off += (4 + n).div_ceil(DS) * DS;
                continue;
            }
            if off + DS > wqe.len() || l.n == MAX_SGE {
                return None;
            }
            l.push(Data::read(&wqe[off..]));
            off += DS;
        }
        Some(l)
    }

    fn push(&mut self, d: Data) {
        if self.n < MAX_SGE {
            self.sges[self.n] = d;
            self.n += 1;
        }
    }

    fn len(&self) -> u64 {
        self.sges[..self.n]
            .iter()
            .map(|d| u64::from(d.byte_count))
            .sum()
    }
}

/// Direction of a copy between host memory and a buffer.
enum Buf<'a> {
    /// Host memory to the buffer.
    Gather(&'a mut [u8]),
    /// The buffer to host memory.
    Scatter(&'a [u8]),
}

impl Buf<'_> {
    fn len(&self) -> usize {
        match self {
            Buf::Gather(b) => b.len(),
            Buf::Scatter(b) => b.len(),
        }
    }

    /// Copies `n` bytes at `done` of the buffer to or from `p`.
    ///
    /// # Safety
    ///
    /// `p` must be valid for `n` bytes of reads and writes.
    unsafe fn copy(&mut self, p: *mut u8, done: usize, n: usize) {
        // SAFETY: Per the function's contract; the slices bound the buffer side.
        unsafe {
            match self {
                Buf::Gather(b) => ptr::copy_nonoverlapping(p, b[done..done + n].as_mut_ptr(), n),
                Buf::Scatter(b) => ptr::copy_nonoverlapping(b[done..done + n].as_ptr(), p, n),
            }
        }
    }
}

/// Copies `buf` to or from the bytes at `off` of the list `sgl` of `hca`.
#[allow(clippy::too_many_arguments)]
fn copy_sgl(
    hca: &Hca,
    s: &State,
    sgl: &Sgl<'_>,
    (pd, reserved_ok): (u32, bool),
    perm: u32,
    off: u64,
    mut buf: Buf<'_>,
) -> core::result::Result<(), Syndrome> {
    let total = buf.len();
    let mut skip = off;
    let mut done = 0usize;
    for d in &sgl.sges[..sgl.n] {
        if done == total {
            break;
        }
        let bc = u64::from(d.byte_count);
        if skip >= bc {
            skip -= bc;
            continue;
        }
        if d.lkey == INLINE_KEY {
            // Inline data, kept in the list (`addr` is its offset there).
            let from = (d.addr + skip) as usize;
            let n = ((bc - skip) as usize).min(total - done);
            let src = sgl.inline.get(from..from + n).ok_or(Syndrome::LocalQpOp)?;
            match &mut buf {
                Buf::Gather(b) => b[done..done + n].copy_from_slice(src),
                Buf::Scatter(_) => return Err(Syndrome::LocalQpOp),
            }
            done += n;
            skip = 0;
            continue;
        }
        let mut addr = d.addr.checked_add(skip).ok_or(Syndrome::LocalProt)?;
        let mut left = (bc - skip).min((total - done) as u64);
        skip = 0;
        while left > 0 {
            let (dma, n) = s.translate(d.lkey, addr, left, pd, perm, false, reserved_ok)?;
            let n = n.min(left) as usize;
            // SAFETY: `translate` checked the range against a registered region (or the
            // reserved lkey names kernel DMA memory of a kernel QP); it stays registered while
            // the HCA lock is held, as deregistration takes it.
            unsafe { buf.copy(hca.dma_to_virt(dma), done, n) };
            done += n;
            addr = addr.checked_add(n as u64).ok_or(Syndrome::LocalProt)?;
            left -= n as u64;
        }
    }
    if done < total {
        return Err(Syndrome::LocalLength);
    }
    Ok(())
}

/// Copies `buf` to or from remote memory `addr` under `rkey`.
#[allow(clippy::too_many_arguments)]
fn copy_remote(
    hca: &Hca,
    s: &State,
    rkey: u32,
    addr: u64,
    pd: u32,
    perm: u32,
    mut buf: Buf<'_>,
) -> core::result::Result<(), Syndrome> {
    let total = buf.len();
    let mut done = 0usize;
    while done < total {
        let left = (total - done) as u64;
        let a = addr
            .checked_add(done as u64)
            .ok_or(Syndrome::RemoteAccess)?;
        let (dma, n) = s.translate(rkey, a, left, pd, perm, true, false)?;
        let n = n.min(left) as usize;
        // SAFETY: As in `copy_sgl`.
        unsafe { buf.copy(hca.dma_to_virt(dma), done, n) };
        done += n;
    }
    Ok(())
}

/// A receive WQE taken from an RQ or SRQ (committed only once the message landed).
#[derive(Clone, Copy)]
struct RecvWqe {
    sgl: Sgl<'static>,
    /// `wqe_index` of the CQE.
    index: u16,
    /// The SRQ's next index after this one.
    srq_next: Option<u32>,
    /// The PD its buffers must belong to (the SRQ's or the QP's).
    pd: u32,
}

/// What the receive CQE reports about the sender.
#[derive(Clone, Copy, Default)]
struct Origin {
    qpn: u32,
    slid: u16,
    sl: u8,
    path_bits: u8,
    grh: bool,
    pkey: u16,
}

/// A datagram on its way to a QP.
struct Delivery<'a> {
    origin: Origin,
    /// The GRH area (filled when `origin.grh`) and the payload.
    pkt: &'a [u8],
    /// The Q_Key to check (not for QP0 and QP1).
    qkey: Option<u32>,
    imm: Option<u32>,
    solicited: bool,
    /// What the receiver's checksum offload finds (UD QPs of a device that offers it).
    csum: Option<RxCsum>,
}

/// Outcome of a send WQE.
enum Step {
    /// Completed (successfully or not: the syndrome for the requester).
    Done(Option<Syndrome>),
    /// An RDMA READ or atomic completed, with the bytes it brought back.
    Read(u32),
    /// Cannot proceed now (no receive WQE, link not up); try again later.
    Wait,
}

impl Fabric {
    /// One pass over both HCAs; returns whether anything happened.
    pub(crate) fn engine_pass(&self, scratch: &mut Scratch) -> bool {
        let hcas = self.hcas();
        let mut progress = false;
        let mut ev = Events::new();
        for i in 0..NUM_HCAS {
            let Some(h) = hcas[i] else { continue };
            scan_doorbells(h);
            ev.take_port_events(h);
            ev.deliver(self);
            let mut next = 0u32;
            loop {
                let mut view = {
                    let mut s = h.state.lock();
                    let Some(c) = s.qps.cursor_lower_bound(&next) else {
                        break;
                    };
                    let (&qpn, rec) = c.current();
                    QpView::new(qpn, rec)
                };
                next = view.qpn + 1;
                if view.sends() && h.state.lock().sq_rung(&view) {
                    for _ in 0..QP_BUDGET {
                        match self.send_one(&hcas, i, &view, scratch, &mut ev) {
                            Some(true) => progress = true,
                            Some(false) => break,
                            None => {
                                h.state.lock().sq_idle(&view);
                                break;
                            }
                        }
                        ev.deliver(self);
                        // The QP may have gone to the error state (or away) meanwhile.
                        let v = {
                            let s = h.state.lock();
                            s.qps.get(&view.qpn).map(|r| QpView::new(view.qpn, r))
                        };
                        match v {
                            Some(v) if v.sends() => view = v,
                            _ => break,
                        }
                    }
                } else if view.is_err() || view.is_sqe() {
                    progress |= self.flush(h, &view, &mut ev);
                }
                ev.deliver(self);
            }
            self.check_arms(h, &mut ev);
            ev.deliver(self);
        }
        progress
    }

    /// The HCAs on the cable.
    ///
    /// The references stay valid for the pass: an HCA is only unplugged with the engine
    /// stopped (`Fabric::detach`).
    fn hcas(&self) -> [Option<&Hca>; NUM_HCAS] {
        let ptrs = self.hca_ptrs();
        // SAFETY: See above; the pointers are to attached HCAs.
        ptrs.map(|p| (!p.is_null()).then(|| unsafe { &*p }))
    }

    /// Executes the send WQE at the head of `qp`'s SQ, if any; `Some(true)` if it completed.
    fn send_one(
        &self,
        hcas: &[Option<&Hca>; NUM_HCAS],
        i: usize,
        qp: &QpView,
        scratch: &mut Scratch,
        ev: &mut Events,
    ) -> Option<bool> {
        let h = hcas[i]?;
        let Scratch { stage, wqe } = scratch;
        let stride = 1usize << qp.sq.shift;
        if stride > wqe.len() {
            return None;
        }
        let cons = {
            let s = h.state.lock();
            let rec = s.qps.get(&qp.qpn)?;
            let cons = rec.sq_cons;
            let off = qp.sq.off + (u64::from(cons & (qp.sq.cnt - 1)) << qp.sq.shift);
            let dma = s.buf_dma(qp.sq.mtt, off)?;
            let p = h.dma_to_virt(dma);
            // SAFETY: The SQ buffer is mapped by the QP's MTT and stays allocated while the
            // QP exists (the driver frees it after `mlx4_qp_free`, which takes this lock).
            let own = unsafe { read_be32(p) } >> 31 != 0;
            if own != Ctrl::owner_for(cons, qp.sq.cnt) {
                return None;
            }
            fence(Ordering::Acquire);
            // SAFETY: As above; the WQE is the hardware's (ownership bit).
            unsafe { ptr::copy_nonoverlapping(p, wqe.as_mut_ptr(), stride) };
            cons
        };
        let ctrl = Ctrl::read(&wqe[..]);
        let step = match ctrl {
            None => Step::Done(Some(Syndrome::LocalQpOp)),
            Some(c) => {
                let size = (usize::from(c.size_ds) * DS).min(stride);
                match qp.st {
                    ST_MLX => self.send_mlx(hcas, i, qp, &c, &wqe[..size], stage, ev),
                    ST_UD => self.send_ud(hcas, i, qp, &c, &wqe[..size], stage, ev),
                    ST_RC | ST_UC => self.send_rc(hcas, i, qp, &c, &wqe[..size], stage, ev),
                    _ => Step::Done(Some(Syndrome::LocalQpOp)),
                }
            }
        };
        let (err, bytes) = match step {
            Step::Wait => return Some(false),
            Step::Done(e) => (e, 0),
            Step::Read(n) => (None, n),
        };
        let mut s = h.state.lock();
        let signaled = ctrl.is_some_and(|c| c.flags & crate::hw::wqe::CTRL_CQ_UPDATE != 0);
        // A QP reset, modified or destroyed meanwhile gets no completion from before.
        let Some(rec) = s.qps.get_mut(&qp.qpn) else {
            return Some(false);
        };
        if rec.gen != qp.gen || rec.sq_cons != cons {
            return Some(false);
        }
        rec.sq_cons = cons.wrapping_add(1);
        rec.stall_since = 0;
        rec.rnr_attempts = 0;
        rec.rnr_until = 0;
        if err.is_some() {
            // A send error takes an RC QP to the error state; UD, UC and the special QPs go
            // to "send queue error" (SQE): their receive queue goes on working, the driver
            // moves them back to RTS (C ipoib: `ipoib_qp_state_validate_work`).
            rec.state = if qp.st == ST_RC {
                raw::mlx4_qp_state_MLX4_QP_STATE_ERR
            } else {
                raw::mlx4_qp_state_MLX4_QP_STATE_SQER
            };
            rec.gen = rec.gen.wrapping_add(1);
        }
        if err.is_some() || signaled {
            let opcode = ctrl.map_or(0, |c| c.opcode as u8);
            push_cqe(
                h,
                &mut s,
                qp.cqn_send,
                err.is_some(),
                ev,
                |buf, owner| match err {
                    Some(e) => ErrCqe {
                        qpn: qp.qpn,
                        wqe_index: cons as u16,
                        vendor_syndrome: 0,
                        syndrome: Some(e),
                    }
                    .write(e as u8, true, owner, buf),
                    None => Cqe {
                        qpn: qp.qpn,
                        wqe_index: cons as u16,
                        byte_cnt: bytes,
                        is_send: true,
                        opcode,
                        owner,
                        ..Cqe::default()
                    }
                    .write(buf),
                },
            );
        }
        Some(true)
    }

    /// Flushes the queues of a QP in the error state, or the send queue of one in SQE
    /// (WR_FLUSH_ERR for every posted WQE).
    fn flush(&self, h: &Hca, qp: &QpView, ev: &mut Events) -> bool {
        let mut s = h.state.lock();
        let mut progress = false;
        if s.qps.get(&qp.qpn).map(|r| r.gen) != Some(qp.gen) {
            return false;
        }
        // Send queue: every WQE the driver handed over.
        for _ in 0..qp.sq.cnt {
            let Some(rec) = s.qps.get(&qp.qpn) else {
                return progress;
            };
            let cons = rec.sq_cons;
            let off = qp.sq.off + (u64::from(cons & (qp.sq.cnt - 1)) << qp.sq.shift);
            let Some(dma) = s.buf_dma(qp.sq.mtt, off) else {
                break;
            };
            // SAFETY: As in `send_one`.
            let own = unsafe { read_be32(h.dma_to_virt(dma)) } >> 31 != 0;
            if own != Ctrl::owner_for(cons, qp.sq.cnt) {
                break;
            }
            if let Some(rec) = s.qps.get_mut(&qp.qpn) {
                rec.sq_cons = cons.wrapping_add(1);
            }
            push_flush(h, &mut s, qp, cons as u16, true, ev);
            progress = true;
        }
        // Receive queue, or the one "last WQE reached" event of an SRQ's QP (not in SQE).
        if qp.is_sqe() {
            return progress;
        }
        if let Some(rq) = qp.rq {
            // SAFETY: The doorbell record is the driver's DMA memory while the QP exists.
            let prod = unsafe { read_be32(h.dma_to_virt(qp.db_rec)) } & 0xffff;
            for _ in 0..rq.cnt {
                let Some(rec) = s.qps.get_mut(&qp.qpn) else {
                    break;
                };
                if rec.rq_cons & 0xffff == prod {
                    break;
                }
                let idx = rec.rq_cons as u16;
                rec.rq_cons = rec.rq_cons.wrapping_add(1);
                push_flush(h, &mut s, qp, idx, false, ev);
                progress = true;
            }
        } else if qp.srqn.is_some() {
            if let Some(rec) = s.qps.get_mut(&qp.qpn) {
                if !rec.last_wqe_sent {
                    rec.last_wqe_sent = true;
                    let mqp = rec.qp;
                    if ev.nqp < ev.qps.len() {
                        // SAFETY: The QP is in the table, so alive; the handler puts it.
                        unsafe { raw::refcount_get(&raw mut (*mqp).refcount) };
                        ev.qps[ev.nqp] = (mqp, EV_LAST_WQE);
                        ev.nqp += 1;
                    }
                    progress = true;
                }
            }
        }
        progress
    }

    /// Fires armed CQs that hold entries software has not seen.
    fn check_arms(&self, h: &Hca, ev: &mut Events) {
        let mut s = h.state.lock();
        let mut fired = [0u32; 32];
        let mut nfired = 0;
        for (&cqn, cq) in s.cqs.iter() {
            if ev.ncq == ev.cqs.len() {
                break;
            }
            // SAFETY: The doorbell record is the driver's while the CQ exists.
            let arm = unsafe { read_be32(h.dma_to_virt(cq.db_rec + 4)) };
            let mcq = cq.cq;
            // SAFETY: The CQ is in the table, so `mlx4_cq_free` has not returned.
            let sn = unsafe { (*mcq).arm_sn } as u32;
            if arm & ARM_ALL != 0
                && (arm >> 28) & 3 == sn & 3
                && cq.prod & 0xff_ffff != arm & 0xff_ffff
                && s.cq_rung(cq, arm)
                && nfired < fired.len()
            {
                fire(mcq, ev);
                fired[nfired] = cqn;
                nfired += 1;
            }
        }
        for cqn in &fired[..nfired] {
            s.cq_fired(*cqn);
        }
    }

    /// Sends an MLX WQE (QP0/QP1): the headers are inline, the payload in data segments.
    #[allow(clippy::too_many_arguments)]
    fn send_mlx(
        &self,
        hcas: &[Option<&Hca>; NUM_HCAS],
        i: usize,
        qp: &QpView,
        c: &Ctrl,
        wqe: &[u8],
        stage: &mut [u8; STAGE],
        ev: &mut Events,
    ) -> Step {
        let h = hcas[i].expect("sender attached");
        // Inline headers, then data segments, then the ICRC inline segment (4 bytes).
        let mut hdr = [0u8; 128];
        let mut hlen = 0usize;
        let mut sgl = Sgl::new();
        let mut icrc = false;
        let mut off = DS;
        while off + 4 <= wqe.len() {
            let dw = u32::from_be_bytes([wqe[off], wqe[off + 1], wqe[off + 2], wqe[off + 3]]);
            if dw & (1 << 31) != 0 {
                let n = (dw & 0x7fff_ffff) as usize;
                if sgl.n == 0 && off + 4 + n <= wqe.len() && hlen + n <= hdr.len() {
                    hdr[hlen..hlen + n].copy_from_slice(&wqe[off + 4..off + 4 + n]);
                    hlen += n;
                } else if sgl.n != 0 {
                    icrc = n == 4 && off + DS >= wqe.len();
                }
                off += (4 + n).div_ceil(DS) * DS;
            } else {
                if off + DS > wqe.len() {
                    break;
                }
                sgl.push(Data::read(&wqe[off..]));
                off += DS;
            }
        }
        // LRH, optional GRH, BTH, DETH.
        if hlen < 8 + 12 + 8 {
            return Step::Done(Some(Syndrome::LocalQpOp));
        }
        let lnh = hdr[1] & 3;
        let bth = if lnh == 3 { 48 } else { 8 };
        if bth + 20 <= hlen && crate::hca::take_inject(crate::hca::INJECT_MLX_BAD_SRC_QP) {
            // The DETH names QP 2 or 3 as the source.
            hdr[bth + 12 + 7] ^= 2;
        }
        let sl = hdr[1] >> 4;
        let dlid = u16::from_be_bytes([hdr[2], hdr[3]]);
        // The driver puts only the source path bits in the LRH; the port adds its LID.
        let slid = u16::from_be_bytes([hdr[6], hdr[7]]);
        let slid = if slid == 0xffff {
            slid
        } else {
            let s = h.state.lock();
            s.port.lid | (slid & ((1u16 << s.port.lmc) - 1))
        };
        let mut p = 8;
        let grh = if lnh == 3 {
            if hlen < 8 + 40 + 20 {
                return Step::Done(Some(Syndrome::LocalQpOp));
            }
            p += 40;
            Some(&hdr[8..48])
        } else {
            None
        };
        let pkey = u16::from_be_bytes([hdr[p + 2], hdr[p + 3]]);
        let dqp = u32::from_be_bytes([0, hdr[p + 5], hdr[p + 6], hdr[p + 7]]);
        // What a switch or the receiving port would refuse (C: `build_mlx_header`): the MLX
        // segment must agree with the LRH, SMPs go on VL15, and the ICRC segment ends the WQE.
        let smi_qp = qp.qpn == crate::hca::BASE_SQPN;
        let mut c = *c;
        if smi_qp && crate::hca::take_inject(crate::hca::INJECT_MLX_NO_VL15) {
            c.flags &= !(1 << 17);
        }
        let icrc = icrc && !crate::hca::take_inject(crate::hca::INJECT_MLX_NO_ICRC);
        if let Err(what) = mlx_checks(smi_qp, &c, &hdr[..hlen], icrc) {
            violation(h, format_args!("QP {:#x} MLX WQE: {}", qp.qpn, what));
            return Step::Done(None);
        }
        let sqp = u32::from_be_bytes([0, hdr[p + 12 + 5], hdr[p + 12 + 6], hdr[p + 12 + 7]]);
        let qkey = u32::from_be_bytes([hdr[p + 12], hdr[p + 13], hdr[p + 14], hdr[p + 15]]);
        let len = sgl.len() as usize;
        if len > PORT_MTU {
            return Step::Done(Some(Syndrome::LocalLength));
        }
        let smi = dqp == 0;
        {
            let s = h.state.lock();
            if let Err(e) = copy_sgl(
                h,
                &s,
                &sgl,
                (qp.pd, qp.rlkey),
                0,
                0,
                Buf::Gather(&mut stage[GRH_BYTES..GRH_BYTES + len]),
            ) {
                return Step::Done(Some(e));
            }
        }
        stage[..GRH_BYTES].fill(0);
        if let Some(g) = grh {
            stage[..GRH_BYTES].copy_from_slice(g);
        }
        let origin = Origin {
            qpn: sqp,
            slid,
            sl,
            path_bits: 0,
            grh: grh.is_some(),
            pkey,
        };
        let rt = self.route(hcas, i, dlid, smi);
        let Some(d) = rt else {
            return Step::Done(None);
        };
        let Some(dh) = hcas[d] else {
            return Step::Done(None);
        };
        // QP0 is base_sqpn + port - 1, QP1 base_sqpn + 2 + port - 1; another QPN names a UD
        // QP (a redirected GSI class). QP1 checks the Q_Key (0x80010000); QP0 has none.
        let dqpn = match dqp {
            0 => crate::hca::BASE_SQPN,
            1 => crate::hca::BASE_SQPN + 2,
            n => n,
        };
        let d = Delivery {
            origin,
            pkt: &stage[..GRH_BYTES + len],
            qkey: (!smi).then_some(qkey),
            imm: None,
            solicited: false,
            csum: None,
        };
        self.deliver_ud(dh, dqpn, &d, ev);
        Step::Done(None)
    }

    /// Which HCA a packet from HCA `i` to `dlid` reaches, if any. SMPs (`smi`) cross links
    /// that are only up (Init); other packets need both ports Active.
    fn route(
        &self,
        hcas: &[Option<&Hca>; NUM_HCAS],
        i: usize,
        dlid: u16,
        smi: bool,
    ) -> Option<usize> {
        let port = |j: usize| {
            hcas[j].map(|h| {
                let s = h.state.lock();
                (s.port.lid, s.port.lmc, s.port.state, s.port.link_up)
            })
        };
        let (lid, lmc, state, up) = port(i)?;
        let ok = |st: LinkState| smi || st == LinkState::Active;
        if !ok(state) {
            return None;
        }
        let mine =
            |l: u16, m: u8| l != 0 && dlid >= l && u32::from(dlid) < u32::from(l) + (1u32 << m);
        if dlid != 0xffff && mine(lid, lmc) {
            return Some(i);
        }
        if !up {
            return None;
        }
        let j = 1 - i;
        let (plid, plmc, pstate, _) = port(j)?;
        if !ok(pstate) {
            return None;
        }
        (dlid == 0xffff || mine(plid, plmc)).then_some(j)
    }

    /// Sends a UD WQE: a datagram, or with LSO the segments of one message, each to the
    /// destination (or every member of the multicast group).
    #[allow(clippy::too_many_arguments)]
    fn send_ud(
        &self,
        hcas: &[Option<&Hca>; NUM_HCAS],
        i: usize,
        qp: &QpView,
        c: &Ctrl,
        wqe: &[u8],
        stage: &mut [u8; STAGE],
        ev: &mut Events,
    ) -> Step {
        let h = hcas[i].expect("sender attached");
        let lso = c.opcode == Opcode::Lso;
        if !(c.opcode == Opcode::Send || c.opcode == Opcode::SendImm || (lso && h.offloads)) {
            return Step::Done(Some(Syndrome::LocalQpOp));
        }
        if wqe.len() < DS + DATAGRAM_SIZE {
            return Step::Done(Some(Syndrome::LocalQpOp));
        }
        let dg = Datagram::read(&wqe[DS..]);
        let mut data = DS + DATAGRAM_SIZE;
        let seg = if lso {
            // The LSO segment: the MSS, the headers to replicate, then the data segments
            // (the payload after the headers).
            let Some(mut seg) = wqe.get(data..).and_then(LsoSeg::read) else {
                return Step::Done(Some(Syndrome::LocalQpOp));
            };
            if crate::hca::take_inject(crate::hca::INJECT_LSO_MSS_ZERO) {
                seg.mss = 0;
            }
            lso_wqes_param::set(lso_wqes_param::get().wrapping_add(1));
            data += LsoSeg::size(seg.header.len());
            Some(seg)
        } else {
            None
        };
        let Some(sgl) = Sgl::parse_send(wqe, data) else {
            return Step::Done(Some(Syndrome::LocalQpOp));
        };
        let len = sgl.len() as usize;
        // A datagram is one packet: it fits the QP's path MTU and the port's.
        let ud_mtu = PORT_MTU.min(qp.mtu as usize);
        let plan = match &seg {
            Some(seg) => {
                // The message may not exceed the QP's `msg_max` (mlx4_ib gives an LSO QP
                // log2 of `max_gso_sz`, others 8 KiB), each segment not the MTU.
                if seg.header.len() + len > 1usize << qp.msg_max {
                    return Step::Done(Some(Syndrome::LocalLength));
                }
                let Ok(plan) = Lso::new(seg, len) else {
                    return Step::Done(Some(Syndrome::LocalQpOp));
                };
                if plan.len(0) > ud_mtu {
                    return Step::Done(Some(Syndrome::LocalLength));
                }
                Some(plan)
            }
            None if len > ud_mtu => return Step::Done(Some(Syndrome::LocalLength)),
            None => None,
        };
        // Checksum generation: only on a device that offers it.
        let ip_csum = h.offloads && c.flags & offload::CTRL_IP_CSUM != 0;
        let l4_csum = h.offloads && c.flags & offload::CTRL_TCP_UDP_CSUM != 0;
        let (sgid, slid, pkey) = {
            let s = h.state.lock();
            let mut g = [0u8; 16];
            g[..8].copy_from_slice(&s.port.gid_prefix.to_be_bytes());
            g[8..].copy_from_slice(&s.port.guid.to_be_bytes());
            let pk = s.port.pkeys[usize::from(qp.pkey_index) % s.port.pkeys.len()];
            (g, s.port.lid | u16::from(dg.av.src_path_bits), pk)
        };
        // A Q_Key with the high bit set means "the QP's own Q_Key".
        let qkey = if dg.qkey & 0x8000_0000 != 0 {
            qp.qkey
        } else {
            dg.qkey
        };
        let origin = Origin {
            qpn: qp.qpn,
            slid,
            sl: dg.av.sl,
            path_bits: dg.av.src_path_bits,
            grh: dg.av.grh.is_some(),
            pkey,
        };
        let segments = plan.as_ref().map_or(1, Lso::segments);
        for k in 0..segments {
            let (off, n, hlen) = match &plan {
                Some(p) => {
                    let (off, n) = p.range(k);
                    (off, n, p.len(k) - n)
                }
                None => (0, len, 0),
            };
            let plen = hlen + n;
            let pkt = &mut stage[GRH_BYTES..GRH_BYTES + plen];
            {
                let s = h.state.lock();
                if let Err(e) = copy_sgl(
                    h,
                    &s,
                    &sgl,
                    (qp.pd, qp.rlkey),
                    0,
                    off as u64,
                    Buf::Gather(&mut pkt[hlen..]),
                ) {
                    return Step::Done(Some(e));
                }
            }
            match (&plan, &seg) {
                (Some(p), Some(seg)) => p.finish(seg, k, pkt),
                _ if ip_csum || l4_csum => offload::tx_checksum(pkt, ip_csum, l4_csum),
                _ => {}
            }
            if offload::is_tcp(pkt) && crate::hca::take_inject(crate::hca::INJECT_WIRE_BIT_FLIP) {
                // A bit flipped on the wire, after the sender's checksum (the last byte: the
                // payload's, or the TCP header's).
                if let Some(b) = pkt.last_mut() {
                    *b ^= 1;
                }
            }
            let csum = h.offloads.then(|| offload::rx_checksum(pkt));
            stage[..GRH_BYTES].fill(0);
            if let Some(g) = dg.av.grh {
                // IPVer 6, traffic class, flow label; payload length; next header 0x1b (BTH).
                let w0 = (6u32 << 28) | (u32::from(g.tclass) << 20) | (g.flow_label & 0xf_ffff);
                stage[0..4].copy_from_slice(&w0.to_be_bytes());
                stage[4..6].copy_from_slice(&((plen + 12 + 8 + 4) as u16).to_be_bytes());
                stage[6] = 0x1b;
                stage[7] = g.hop_limit;
                stage[8..24].copy_from_slice(&sgid);
                stage[24..40].copy_from_slice(&g.dgid);
            }
            let d = Delivery {
                origin,
                pkt: &stage[..GRH_BYTES + plen],
                qkey: Some(qkey),
                imm: (c.opcode == Opcode::SendImm).then_some(c.imm),
                solicited: c.flags & crate::hw::wqe::CTRL_SOLICITED != 0,
                csum,
            };
            self.send_datagram(hcas, i, qp, &dg, &d, ev);
        }
        Step::Done(None)
    }

    /// Puts a UD datagram on the wire: to its destination, or to every QP attached to its
    /// multicast group on the sending port and across the cable, but not the sender itself.
    fn send_datagram(
        &self,
        hcas: &[Option<&Hca>; NUM_HCAS],
        i: usize,
        qp: &QpView,
        dg: &Datagram,
        d: &Delivery<'_>,
        ev: &mut Events,
    ) {
        let h = hcas[i].expect("sender attached");
        if dg.av.dlid >= 0xc000 && dg.av.dlid != 0xffff {
            let Some(g) = dg.av.grh else {
                return;
            };
            if h.state.lock().port.state != LinkState::Active {
                return;
            }
            for (j, dh) in hcas.iter().enumerate() {
                let Some(dh) = dh else { continue };
                if j != i && self.route(hcas, i, 0xffff, false) != Some(j) {
                    continue;
                }
                // Member by member: the group may change while the copies go out.
                let mut k = 0;
                loop {
                    let q = {
                        let s = dh.state.lock();
                        s.mcast
                            .get(&g.dgid)
                            .and_then(|m| m.members().get(k).copied())
                    };
                    let Some(q) = q else { break };
                    k += 1;
                    if j == i && q == qp.qpn {
                        continue;
                    }
                    self.deliver_ud(dh, q, d, ev);
                }
            }
            return;
        }
        if let Some(j) = self.route(hcas, i, dg.av.dlid, false) {
            if let Some(dh) = hcas[j] {
                self.deliver_ud(dh, dg.dqpn, d, ev);
            }
        }
    }

    /// Delivers a datagram (GRH area + payload) to UD or special QP `dqpn` of `dh`. Checks
    /// the Q_Key when given. Drops it, counting, when the QP cannot take it, as the hardware
    /// does.
    fn deliver_ud(&self, dh: &Hca, dqpn: u32, d: &Delivery<'_>, ev: &mut Events) {
        let (origin, pkt, imm) = (&d.origin, d.pkt, d.imm);
        let mut s = dh.state.lock();
        let Some(rec) = s.qps.get(&dqpn) else {
            return;
        };
        let qp = QpView::new(dqpn, rec);
        if !qp.receives() || !(qp.st == ST_UD || qp.st == ST_MLX) {
            return;
        }
        // The partition check: QP0 (SMPs) has none, QP1 takes any P_Key of the port's table,
        // a UD QP only its own (`pkey_index`). A mismatch is dropped and counted.
        let pkey_index = if dqpn == crate::hca::BASE_SQPN {
            Some(0)
        } else if dqpn == crate::hca::BASE_SQPN + 2 {
            s.port
                .pkeys
                .iter()
                .position(|&k| pkey_match(k, origin.pkey))
        } else {
            let i = usize::from(qp.pkey_index);
            s.port
                .pkeys
                .get(i)
                .is_some_and(|&k| pkey_match(k, origin.pkey))
                .then_some(i)
        };
        let Some(pkey_index) = pkey_index else {
            s.port.pkey_violations = s.port.pkey_violations.saturating_add(1);
            return;
        };
        let pkey_index = pkey_index as u32;
        if let Some(qkey) = d.qkey {
            if qkey != qp.qkey {
                s.port.qkey_violations = s.port.qkey_violations.saturating_add(1);
                return;
            }
        }
        let Some(r) = take_recv(dh, &s, &qp) else {
            bump(&mut s, DIAG_RQ_NUM_UDSDPRD);
            return;
        };
        // The GRH area is written only when a GRH came with the packet.
        let (from, skip) = if origin.grh {
            (0, 0)
        } else {
            (GRH_BYTES, GRH_BYTES as u64)
        };
        let data = &pkt[from..];
        if pkt.len() as u64 > r.sgl.len() {
            commit_recv(dh, &mut s, &qp, &r, ev);
            bump(&mut s, DIAG_RQ_NUM_LLE);
            push_recv_err(dh, &mut s, &qp, &r, Syndrome::LocalLength, ev);
            return;
        }
        let res = copy_sgl(
            dh,
            &s,
            &r.sgl,
            (r.pd, qp.rlkey),
            PERM_LOCAL_WRITE,
            skip,
            Buf::Scatter(data),
        );
        commit_recv(dh, &mut s, &qp, &r, ev);
        if let Err(e) = res {
            push_recv_err(dh, &mut s, &qp, &r, e, ev);
            return;
        }
        // Checksum verification of IPoIB datagrams: UD QPs only (not QP1).
        let csum = d.csum.filter(|_| qp.st == ST_UD).unwrap_or_default();
        if RxCsum::ok(csum.status, csum.checksum) {
            csum_ok_param::set(csum_ok_param::get().wrapping_add(1));
        }
        push_cqe(dh, &mut s, qp.cqn_recv, d.solicited, ev, |buf, owner| {
            Cqe {
                qpn: qp.qpn,
                immed: imm.unwrap_or(pkey_index),
                grh: origin.grh,
                path_bits: origin.path_bits,
                rqpn: origin.qpn,
                sl_vid: u16::from(origin.sl) << 12,
                rlid: origin.slid,
                byte_cnt: pkt.len() as u32,
                wqe_index: r.index,
                status: csum.status,
                checksum: csum.checksum,
                opcode: if imm.is_some() {
                    RecvOpcode::SendImm as u8
                } else {
                    RecvOpcode::Send as u8
                },
                owner,
                ..Cqe::default()
            }
            .write(buf)
        });
    }

    /// Executes an RC (or UC) WQE.
    #[allow(clippy::too_many_arguments)]
    fn send_rc(
        &self,
        hcas: &[Option<&Hca>; NUM_HCAS],
        i: usize,
        qp: &QpView,
        c: &Ctrl,
        wqe: &[u8],
        stage: &mut [u8; STAGE],
        ev: &mut Events,
    ) -> Step {
        let h = hcas[i].expect("sender attached");
        let Some(d) = self.route(hcas, i, qp.rlid, false) else {
            // The link is not Active: the requester retries until its timer gives up.
            return stall(h, qp).0;
        };
        let Some(dh) = hcas[d] else {
            return Step::Wait;
        };
        let raddr_ops = matches!(
            c.opcode,
            Opcode::RdmaWrite
                | Opcode::RdmaWriteImm
                | Opcode::RdmaRead
                | Opcode::AtomicCs
                | Opcode::AtomicFa
        );
        let mut off = DS;
        let raddr = if raddr_ops {
            if wqe.len() < off + DS {
                return Step::Done(Some(Syndrome::LocalQpOp));
            }
            let r = Raddr::read(&wqe[off..]);
            off += DS;
            Some(r)
        } else {
            None
        };
        let atomic_args = if matches!(c.opcode, Opcode::AtomicCs | Opcode::AtomicFa) {
            if wqe.len() < off + DS {
                return Step::Done(Some(Syndrome::LocalQpOp));
            }
            let a = &wqe[off..off + 16];
            off += DS;
            Some((
                u64::from_be_bytes(a[0..8].try_into().unwrap_or([0; 8])),
                u64::from_be_bytes(a[8..16].try_into().unwrap_or([0; 8])),
            ))
        } else {
            None
        };
        let Some(sgl) = Sgl::parse_send(wqe, off) else {
            return Step::Done(Some(Syndrome::LocalQpOp));
        };
        // The responder QP.
        let dqp = {
            let s = dh.state.lock();
            match s.qps.get(&qp.remote_qpn) {
                Some(rec) => QpView::new(qp.remote_qpn, rec),
                None => return Step::Done(Some(Syndrome::RemoteInvalidRequest)),
            }
        };
        if !dqp.receives() || dqp.st != qp.st || dqp.remote_qpn != qp.qpn {
            return Step::Done(Some(Syndrome::RemoteInvalidRequest));
        }
        // Partitions: the responder drops (and counts) packets under a P_Key it does not
        // share with its QP; the requester gets no answer and exhausts its retries.
        let sent_key = {
            let s = h.state.lock();
            s.port
                .pkeys
                .get(usize::from(qp.pkey_index))
                .copied()
                .unwrap_or(0)
        };
        let shared = {
            let ds = dh.state.lock();
            let own = ds.port.pkeys.get(usize::from(dqp.pkey_index)).copied();
            own.is_some_and(|k| pkey_match(k, sent_key))
        };
        if !shared {
            let (step, first) = stall(h, qp);
            if first {
                let mut ds = dh.state.lock();
                ds.port.pkey_violations = ds.port.pkey_violations.saturating_add(1);
            }
            return step;
        }
        let len = sgl.len();
        let read = matches!(
            c.opcode,
            Opcode::RdmaRead | Opcode::AtomicCs | Opcode::AtomicFa
        );
        // The packets: requests carry the payload (in the requester's path MTU), read
        // responses bring it back (in the responder's); an atomic is one of each.
        let atomic = atomic_args.is_some();
        let (pmtu, rmtu) = if read {
            (dqp.mtu, qp.mtu)
        } else {
            (qp.mtu, dqp.mtu)
        };
        let packets = if atomic {
            1
        } else {
            len.div_ceil(u64::from(pmtu.max(256))).max(1) as u32
        };
        if !atomic && len > u64::from(rmtu) && pmtu > rmtu {
            // Packets larger than the receiver's path MTU: a UC responder drops the
            // message, an RC one NAKs the request ("invalid request"), a requester drops
            // the read responses and times out.
            return match (qp.st, read) {
                (ST_RC, false) => Step::Done(Some(Syndrome::RemoteInvalidRequest)),
                (ST_RC, true) => stall(h, qp).0,
                _ => {
                    set_psn(h, qp, psn(h, qp.qpn, false).wrapping_add(packets), false);
                    Step::Done(None)
                }
            };
        }
        let sent = psn(h, qp.qpn, false);
        let next = sent.wrapping_add(packets);
        // A UC responder takes whatever PSN starts a message.
        let mut in_order = true;
        if qp.st == ST_RC {
            let expected = psn(dh, dqp.qpn, true);
            let ahead = sent.wrapping_sub(expected) & PSN_MASK;
            if ahead != 0 && ahead < 1 << 23 {
                // Out of sequence: the responder NAKs with a PSN before anything the
                // requester has outstanding, which ignores it; it times out and retries.
                let (step, first) = stall(h, qp);
                if first {
                    bump(&mut dh.state.lock(), DIAG_RQ_NUM_OOS);
                }
                return step;
            }
            if ahead != 0 {
                // A duplicate: acknowledged and dropped (reads and atomics are answered
                // again), the responder's PSN stays.
                bump(&mut dh.state.lock(), DIAG_RQ_NUM_DUP);
                if !read {
                    set_psn(h, qp, next, false);
                    return Step::Done(None);
                }
                in_order = false;
            }
        }
        let step = self.execute_rc(h, dh, qp, &dqp, c, raddr, atomic_args, &sgl, stage, ev);
        if matches!(step, Step::Done(None) | Step::Read(_)) {
            set_psn(h, qp, next, false);
            if in_order {
                set_psn(dh, &dqp, next, true);
            }
        }
        step
    }

    /// Executes the RC or UC request `c` of `qp` at the responder `dqp`.
    #[allow(clippy::too_many_arguments)]
    fn execute_rc(
        &self,
        h: &Hca,
        dh: &Hca,
        qp: &QpView,
        dqp: &QpView,
        c: &Ctrl,
        raddr: Option<Raddr>,
        atomic: Option<(u64, u64)>,
        sgl: &Sgl<'_>,
        stage: &mut [u8; STAGE],
        ev: &mut Events,
    ) -> Step {
        let len = sgl.len();
        let slid = h.state.lock().port.lid;
        let origin = Origin {
            qpn: qp.qpn,
            slid,
            sl: qp.sl,
            ..Origin::default()
        };
        match c.opcode {
            Opcode::Send | Opcode::SendImm | Opcode::SendInval => {
                let Some(r) = take_recv(dh, &dh.state.lock(), dqp) else {
                    return rnr(h, qp, dqp);
                };
                if len > r.sgl.len() {
                    let mut s = dh.state.lock();
                    if commit_recv(dh, &mut s, dqp, &r, ev) {
                        bump(&mut s, DIAG_RQ_NUM_LLE);
                        push_recv_err(dh, &mut s, dqp, &r, Syndrome::LocalLength, ev);
                        set_err(&mut s, dqp.qpn);
                    }
                    return Step::Done(Some(Syndrome::RemoteInvalidRequest));
                }
                let target = Target::Sgl(&r.sgl, r.pd, dqp.rlkey);
                if let Err(e) = self.stream(h, (qp.pd, qp.rlkey), sgl, dh, target, len, stage) {
                    let mut s = dh.state.lock();
                    if commit_recv(dh, &mut s, dqp, &r, ev) {
                        push_recv_err(dh, &mut s, dqp, &r, Syndrome::LocalProt, ev);
                        set_err(&mut s, dqp.qpn);
                    }
                    return Step::Done(Some(e));
                }
                let mut s = dh.state.lock();
                if !commit_recv(dh, &mut s, dqp, &r, ev) {
                    // The responder changed under the message: it is lost with it.
                    return Step::Done(None);
                }
                let (opcode, imm) = match c.opcode {
                    Opcode::SendImm => (RecvOpcode::SendImm, c.imm),
                    Opcode::SendInval => (RecvOpcode::SendInval, c.imm),
                    _ => (RecvOpcode::Send, 0),
                };
                let solicited = c.flags & crate::hw::wqe::CTRL_SOLICITED != 0;
                push_recv(
                    dh, &mut s, dqp, &r, &origin, opcode, imm, len as u32, solicited, ev,
                );
                Step::Done(None)
            }
            Opcode::RdmaWrite | Opcode::RdmaWriteImm => {
                let Some(ra) = raddr else {
                    return Step::Done(Some(Syndrome::LocalQpOp));
                };
                if dqp.access & QP_RWE == 0 && len > 0 {
                    return Step::Done(Some(Syndrome::RemoteAccess));
                }
                let r = if c.opcode == Opcode::RdmaWriteImm {
                    match take_recv(dh, &dh.state.lock(), dqp) {
                        Some(r) => Some(r),
                        None => return rnr(h, qp, dqp),
                    }
                } else {
                    None
                };
                if let Err(e) = self.stream(
                    h,
                    (qp.pd, qp.rlkey),
                    sgl,
                    dh,
                    Target::Remote(ra, dqp.pd, PERM_REMOTE_WRITE),
                    len,
                    stage,
                ) {
                    return Step::Done(Some(e));
                }
                if let Some(r) = r {
                    let mut s = dh.state.lock();
                    if !commit_recv(dh, &mut s, dqp, &r, ev) {
                        return Step::Done(None);
                    }
                    let solicited = c.flags & crate::hw::wqe::CTRL_SOLICITED != 0;
                    push_recv(
                        dh,
                        &mut s,
                        dqp,
                        &r,
                        &origin,
                        RecvOpcode::RdmaWriteImm,
                        c.imm,
                        len as u32,
                        solicited,
                        ev,
                    );
                }
                Step::Done(None)
            }
            Opcode::RdmaRead => {
                let Some(ra) = raddr else {
                    return Step::Done(Some(Syndrome::LocalQpOp));
                };
                if dqp.access & QP_RRE == 0 && len > 0 {
                    return Step::Done(Some(Syndrome::RemoteAccess));
                }
                let mut done = 0u64;
                while done < len {
                    let n = (len - done).min(STAGE as u64) as usize;
                    {
                        let s = dh.state.lock();
                        let buf = Buf::Gather(&mut stage[..n]);
                        let Some(a) = ra.addr.checked_add(done) else {
                            return Step::Done(Some(Syndrome::RemoteAccess));
                        };
                        if copy_remote(dh, &s, ra.rkey, a, dqp.pd, PERM_REMOTE_READ, buf).is_err() {
                            return Step::Done(Some(Syndrome::RemoteAccess));
                        }
                    }
                    let s = h.state.lock();
                    if let Err(e) = copy_sgl(
                        h,
                        &s,
                        sgl,
                        (qp.pd, qp.rlkey),
                        PERM_LOCAL_WRITE,
                        done,
                        Buf::Scatter(&stage[..n]),
                    ) {
                        return Step::Done(Some(e));
                    }
                    done += n as u64;
                }
                Step::Read(len as u32)
            }
            Opcode::AtomicCs | Opcode::AtomicFa => {
                let (Some(ra), Some((swap_add, compare))) = (raddr, atomic) else {
                    return Step::Done(Some(Syndrome::LocalQpOp));
                };
                if dqp.access & QP_RAE == 0 || len < 8 {
                    let mut s = h.state.lock();
                    bump(&mut s, DIAG_SQ_NUM_RAE);
                    return Step::Done(Some(Syndrome::RemoteAccess));
                }
                let mut old = [0u8; 8];
                {
                    let s = dh.state.lock();
                    if ra.addr % 8 != 0
                        || copy_remote(
                            dh,
                            &s,
                            ra.rkey,
                            ra.addr,
                            dqp.pd,
                            PERM_ATOMIC,
                            Buf::Gather(&mut old),
                        )
                        .is_err()
                    {
                        return Step::Done(Some(Syndrome::RemoteAccess));
                    }
                    // Atomics operate on the responder's memory in its byte order (x86: LE).
                    let v = u64::from_le_bytes(old);
                    let new = match c.opcode {
                        Opcode::AtomicCs => (v == compare).then_some(swap_add),
                        _ => Some(v.wrapping_add(swap_add)),
                    };
                    if let Some(n) = new {
                        let b = n.to_le_bytes();
                        // The same range was just translated for reading.
                        let _ = copy_remote(
                            dh,
                            &s,
                            ra.rkey,
                            ra.addr,
                            dqp.pd,
                            PERM_ATOMIC,
                            Buf::Scatter(&b),
                        );
                    }
                }
                let s = h.state.lock();
                let local = (qp.pd, qp.rlkey);
                if let Err(e) = copy_sgl(h, &s, sgl, local, PERM_LOCAL_WRITE, 0, Buf::Scatter(&old))
                {
                    return Step::Done(Some(e));
                }
                Step::Read(8)
            }
            Opcode::Nop => Step::Done(None),
            _ => Step::Done(Some(Syndrome::LocalQpOp)),
        }
    }

    /// Moves `len` bytes from `sgl` (at `h`) to the target at `dh`, one staging piece at a
    /// time.
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &self,
        h: &Hca,
        local: (u32, bool),
        sgl: &Sgl<'_>,
        dh: &Hca,
        target: Target<'_>,
        len: u64,
        stage: &mut [u8; STAGE],
    ) -> core::result::Result<(), Syndrome> {
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(STAGE as u64) as usize;
            {
                let s = h.state.lock();
                copy_sgl(h, &s, sgl, local, 0, done, Buf::Gather(&mut stage[..n]))?;
            }
            let s = dh.state.lock();
            match target {
                Target::Sgl(d, dpd, rl) => copy_sgl(
                    dh,
                    &s,
                    d,
                    (dpd, rl),
                    PERM_LOCAL_WRITE,
                    done,
                    Buf::Scatter(&stage[..n]),
                )
                .map_err(|_| Syndrome::RemoteInvalidRequest)?,
                Target::Remote(ra, dpd, perm) => copy_remote(
                    dh,
                    &s,
                    ra.rkey,
                    ra.addr.checked_add(done).ok_or(Syndrome::RemoteAccess)?,
                    dpd,
                    perm,
                    Buf::Scatter(&stage[..n]),
                )
                .map_err(|_| Syndrome::RemoteAccess)?,
            }
            done += n as u64;
        }
        Ok(())
    }
}

/// Where streamed data lands.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// A receive WQE's scatter list, with its PD and whether the reserved lkey is allowed.
    Sgl(&'a Sgl<'a>, u32, bool),
    /// Remote memory: address and rkey, the responder's PD, the access needed.
    Remote(Raddr, u32, u32),
}

/// The checks of an MLX WQE (QP0/QP1) against its inline headers `hdr` (LRH first): the
/// MLX segment's VL15, SLR, SL and rlid (`c.flags`, the high half of `c.imm`) as the LRH
/// says, VL15 exactly for SMPs (`smi`: sent on QP0), a UD SEND BTH, the ICRC segment.
fn mlx_checks(
    smi: bool,
    c: &Ctrl,
    hdr: &[u8],
    icrc: bool,
) -> core::result::Result<(), &'static str> {
    const VL15: u32 = 1 << 17;
    const SLR: u32 = 1 << 16;
    let vl = hdr[0] >> 4;
    let sl = hdr[1] >> 4;
    let dlid = u16::from_be_bytes([hdr[2], hdr[3]]);
    let bth = if hdr[1] & 3 == 3 { 48 } else { 8 };
    if smi != (c.flags & VL15 != 0) {
        return Err(if smi {
            "SMP without VL15"
        } else {
            "VL15 on QP1"
        });
    }
    if smi != (vl == 15) {
        return Err("LRH VL does not match the QP (15 for SMPs only)");
    }
    if (c.flags >> 8) & 0xf != u32::from(sl) {
        return Err("MLX SL differs from the LRH's");
    }
    if (c.flags & SLR != 0) != (dlid == 0xffff) {
        return Err("SLR not set exactly for the permissive DLID");
    }
    if (c.imm >> 16) as u16 != dlid {
        return Err("MLX rlid differs from the LRH DLID");
    }
    if !matches!(hdr.get(bth), Some(0x64 | 0x65)) {
        return Err("BTH opcode is not UD SEND");
    }
    // The BTH's destination QP and the DETH's source QP: an SMP goes from QP0 to QP0, a GMP
    // from QP1 (to QP1 or a redirected QP).
    let qpn = |o: usize| {
        hdr.get(o..o + 3)
            .map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]))
    };
    if smi && qpn(bth + 5) != Some(0) {
        return Err("SMP to a QP other than QP0");
    }
    if qpn(bth + 12 + 5) != Some(u32::from(!smi)) {
        return Err("DETH source QP is not the sending special QP");
    }
    if !icrc {
        return Err("no ICRC segment after the data");
    }
    Ok(())
}

/// The head send WQE of RC/UC `qp` gets no answer (link down, dropped or NAKed by the
/// responder): it waits, and fails with "retry exceeded" once an RC QP has retried as often
/// as its retry count says, an ACK timeout each time (never with timeout code 0, as the IBA
/// says), or a UC QP after `UC_LINK_TIMEOUT_MS`. Also returns whether the stall begins now.
fn stall(h: &Hca, qp: &QpView) -> (Step, bool) {
    let now = now_ms();
    let mut s = h.state.lock();
    let Some(rec) = s.qps.get_mut(&qp.qpn) else {
        return (Step::Wait, false);
    };
    if rec.stall_since == 0 {
        rec.stall_since = now.max(1);
        return (Step::Wait, true);
    }
    let limit_ms = if qp.st == ST_RC {
        if qp.ack_timeout == 0 {
            return (Step::Wait, false);
        }
        // (retries + 1) * 4.096 us << code.
        (u64::from(qp.retry_cnt) + 1) * (4096u64 << qp.ack_timeout) / 1_000_000
    } else {
        UC_LINK_TIMEOUT_MS
    };
    if now.saturating_sub(rec.stall_since) > limit_ms {
        return (Step::Done(Some(Syndrome::RetryExceeded)), false);
    }
    (Step::Wait, false)
}

/// The PSN `qpn` of `h` sends next, or (`expected`) the one it expects next.
fn psn(h: &Hca, qpn: u32, expected: bool) -> u32 {
    let s = h.state.lock();
    s.qps.get(&qpn).map_or(0, |r| {
        let v = if expected {
            r.ctx.rnr_nextrecvpsn
        } else {
            r.ctx.next_send_psn
        };
        be32(v) & PSN_MASK
    })
}

/// Sets the PSN `qp` sends next, or (`expected`) the one it expects next, unless the QP
/// changed meanwhile. The context holds them, so a query reads them back.
fn set_psn(h: &Hca, qp: &QpView, psn: u32, expected: bool) {
    let mut s = h.state.lock();
    let Some(rec) = s.qps.get_mut(&qp.qpn).filter(|r| r.gen == qp.gen) else {
        return;
    };
    let field = if expected {
        &mut rec.ctx.rnr_nextrecvpsn
    } else {
        &mut rec.ctx.next_send_psn
    };
    *field = ((be32(*field) & !PSN_MASK) | (psn & PSN_MASK)).to_be();
}

/// Milliseconds since boot (the monotonic clock). The model once scaled jiffies by the
/// bindings' `HZ`, which is the userspace 100, not `CONFIG_HZ`: its timers ran ten times fast.
pub(crate) fn now_ms() -> u64 {
    kernel::time::Ktime::ktime_get().to_ms() as u64
}

/// Increments the diagnostic counter at byte `off`.
fn bump(s: &mut State, off: usize) {
    if let Some(c) = s.diag.get_mut(off / 4) {
        *c = c.wrapping_add(1);
    }
}

/// Moves QP `qpn` to the error state (a responder error).
fn set_err(s: &mut State, qpn: u32) {
    if let Some(rec) = s.qps.get_mut(&qpn) {
        rec.state = raw::mlx4_qp_state_MLX4_QP_STATE_ERR;
        rec.gen = rec.gen.wrapping_add(1);
    }
}

/// Reads the next receive WQE of `qp` (from its RQ or SRQ) without consuming it.
fn take_recv(h: &Hca, s: &State, qp: &QpView) -> Option<RecvWqe> {
    let mut r = RecvWqe {
        sgl: Sgl::new(),
        index: 0,
        srq_next: None,
        pd: qp.pd,
    };
    let (ring, idx, skip) = if let Some(srqn) = qp.srqn {
        let srq = s.srqs.get(&srqn)?;
        // SAFETY: The doorbell record is the driver's while the SRQ exists.
        let prod = unsafe { read_be32(h.dma_to_virt(srq.db_rec)) } & 0xffff;
        if srq.cons & 0xffff == prod {
            return None;
        }
        let ring = Ring {
            mtt: srq.mtt,
            off: 0,
            cnt: srq.max,
            shift: srq.wqe_shift,
        };
        let off = u64::from(srq.head) << srq.wqe_shift;
        let dma = s.buf_dma(srq.mtt, off)?;
        // SAFETY: The SRQ buffer is mapped by its MTT; the next index is at byte 2.
        let next =
            u16::from_be(unsafe { ptr::read_volatile(h.dma_to_virt(dma + 2).cast::<u16>()) });
        r.srq_next = Some(u32::from(next) & (srq.max - 1));
        r.index = srq.head as u16;
        r.pd = srq.pdn;
        (ring, srq.head, DS)
    } else {
        let rq = qp.rq?;
        let rec = s.qps.get(&qp.qpn)?;
        // SAFETY: The doorbell record is the driver's while the QP exists.
        let prod = unsafe { read_be32(h.dma_to_virt(qp.db_rec)) } & 0xffff;
        if rec.rq_cons & 0xffff == prod {
            return None;
        }
        r.index = rec.rq_cons as u16;
        (rq, rec.rq_cons & (rq.cnt - 1), 0)
    };
    fence(Ordering::Acquire);
    let base = ring.off + (u64::from(idx) << ring.shift);
    let stride = 1usize << ring.shift;
    let mut off = skip;
    while off + DS <= stride && r.sgl.n < MAX_SGE {
        let dma = s.buf_dma(ring.mtt, base + off as u64)?;
        let mut seg = [0u8; DS];
        // SAFETY: The queue buffer is mapped by its MTT; a WQE never crosses a page.
        unsafe { ptr::copy_nonoverlapping(h.dma_to_virt(dma), seg.as_mut_ptr(), DS) };
        let d = Data::read(&seg);
        if d.lkey == INVALID_LKEY {
            break;
        }
        r.sgl.push(d);
        off += DS;
    }
    Some(r)
}

/// Consumes the receive WQE `take_recv` returned, if the queue is still where it was:
/// false if the QP changed (reset, destroyed) or the SRQ moved on meanwhile, and then nothing
/// may be reported for it. Raises the SRQ limit event when the SRQ drops below its limit.
fn commit_recv(h: &Hca, s: &mut State, qp: &QpView, r: &RecvWqe, ev: &mut Events) -> bool {
    if s.qps.get(&qp.qpn).map(|q| q.gen) != Some(qp.gen) {
        return false;
    }
    if let (Some(srqn), Some(next)) = (qp.srqn, r.srq_next) {
        let Some(srq) = s.srqs.get_mut(&srqn) else {
            return false;
        };
        if srq.head as u16 != r.index {
            return false;
        }
        srq.cons = srq.cons.wrapping_add(1);
        srq.head = next;
        if srq.limit != 0 {
            // SAFETY: The doorbell record is the driver's while the SRQ exists.
            let prod = unsafe { read_be32(h.dma_to_virt(srq.db_rec)) } & 0xffff;
            let left = prod.wrapping_sub(srq.cons) & 0xffff;
            if left < srq.limit && ev.nsrq < ev.srqs.len() {
                srq.limit = 0;
                let msrq = srq.srq;
                // SAFETY: The SRQ is in the table, so `mlx4_srq_free` has not returned.
                unsafe { raw::refcount_get(&raw mut (*msrq).refcount) };
                ev.srqs[ev.nsrq] = msrq;
                ev.nsrq += 1;
            }
        }
        true
    } else if let Some(rec) = s.qps.get_mut(&qp.qpn) {
        rec.rq_cons = rec.rq_cons.wrapping_add(1);
        true
    } else {
        false
    }
}

/// The IBA's RNR timer values (microseconds) by code.
const RNR_TIMER_US: [u32; 32] = [
    655_360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960, 1280, 1920, 2560, 3840,
    5120, 7680, 10_240, 15_360, 20_480, 30_720, 40_960, 61_440, 81_920, 122_880, 163_840, 245_760,
    327_680, 491_520,
];

/// The responder had no receive WQE (an RNR NAK): retry after its RNR timer, as often as the
/// requester's RNR retry count allows (7: forever), then fail.
fn rnr(h: &Hca, qp: &QpView, dqp: &QpView) -> Step {
    let mut s = h.state.lock();
    bump(&mut s, DIAG_SQ_NUM_RNR);
    if qp.rnr_retry == 7 {
        return Step::Wait;
    }
    let now = now_ms() * 1000;
    let Some(rec) = s.qps.get_mut(&qp.qpn) else {
        return Step::Wait;
    };
    if rec.gen != qp.gen || now < rec.rnr_until {
        return Step::Wait;
    }
    if rec.rnr_attempts >= u32::from(qp.rnr_retry) {
        return Step::Done(Some(Syndrome::RnrRetryExceeded));
    }
    rec.rnr_attempts += 1;
    rec.rnr_until = now + u64::from(RNR_TIMER_US[usize::from(dqp.min_rnr & 0x1f)]);
    Step::Wait
}

/// Records a CQ to be notified; arms are single-shot (`arm_sn` moves on, as mlx4_core does).
fn fire(cq: *mut raw::mlx4_cq, ev: &mut Events) {
    if ev.ncq == ev.cqs.len() || ev.cqs[..ev.ncq].contains(&cq) {
        return;
    }
    // SAFETY: The caller holds the HCA lock and the CQ is in its table, so alive.
    unsafe {
        (*cq).arm_sn = (*cq).arm_sn.wrapping_add(1);
        raw::refcount_get(&raw mut (*cq).refcount);
    }
    ev.cqs[ev.ncq] = cq;
    ev.ncq += 1;
}

/// Writes a CQE on CQ `cqn` with `f(buf, owner)` and notifies it if it is armed for it.
fn push_cqe(
    h: &Hca,
    s: &mut State,
    cqn: u32,
    solicited: bool,
    ev: &mut Events,
    f: impl FnOnce(&mut [u8], bool),
) {
    let Some(cq) = s.cqs.get(&cqn) else {
        return;
    };
    let (mtt, nent, prod, db, mcq) = (cq.mtt, cq.nent, cq.prod, cq.db_rec, cq.cq);
    // SAFETY: The doorbell record is the driver's while the CQ exists.
    let ci = unsafe { read_be32(h.dma_to_virt(db)) } & 0xff_ffff;
    if prod.wrapping_sub(ci) & 0xff_ffff >= nent {
        // Overflow: the entry is lost and the CQ reports an error, as on hardware.
        bump(s, DIAG_NUM_CQOVF);
        if ev.ncqerr < ev.cq_errors.len() {
            // SAFETY: The CQ is in the table, so alive.
            unsafe { raw::refcount_get(&raw mut (*mcq).refcount) };
            ev.cq_errors[ev.ncqerr] = mcq;
            ev.ncqerr += 1;
        }
        return;
    }
    // With 64-byte CQEs the entry is the second half of its slot, the ownership bit its last
    // byte (C: `get_sw_cqe`).
    let slot = u64::from(h.cqe_size);
    let off = u64::from(prod & (nent - 1)) * slot + slot - CQE_SIZE as u64;
    let Some(dma) = s.buf_dma(mtt, off) else {
        return;
    };
    let mut buf = [0u8; CQE_SIZE];
    f(&mut buf, prod & nent != 0);
    let p = h.dma_to_virt(dma);
    // SAFETY: The CQ buffer is mapped by its MTT and allocated while the CQ exists. The
    // ownership byte goes last, after a barrier, as the driver reads it first.
    unsafe {
        ptr::copy_nonoverlapping(buf.as_ptr(), p, CQE_SIZE - 1);
        fence(Ordering::Release);
        ptr::write_volatile(p.add(CQE_SIZE - 1), buf[CQE_SIZE - 1]);
    }
    if let Some(cq) = s.cqs.get_mut(&cqn) {
        cq.prod = prod.wrapping_add(1);
    }
    // SAFETY: As above, for the arm word of the doorbell record.
    let arm = unsafe { read_be32(h.dma_to_virt(db + 4)) };
    // SAFETY: The CQ is alive (in the table).
    let sn = unsafe { (*mcq).arm_sn } as u32;
    let rung = s.cqs.get(&cqn).is_some_and(|cq| s.cq_rung(cq, arm));
    if (arm >> 28) & 3 == sn & 3 && (arm & ARM_ALL != 0 || arm & ARM_SOL != 0 && solicited) && rung
    {
        fire(mcq, ev);
        s.cq_fired(cqn);
    }
}

/// A successful receive completion.
#[allow(clippy::too_many_arguments)]
fn push_recv(
    h: &Hca,
    s: &mut State,
    qp: &QpView,
    r: &RecvWqe,
    origin: &Origin,
    opcode: RecvOpcode,
    imm: u32,
    len: u32,
    solicited: bool,
    ev: &mut Events,
) {
    push_cqe(h, s, qp.cqn_recv, solicited, ev, |buf, owner| {
        Cqe {
            qpn: qp.qpn,
            immed: imm,
            rqpn: origin.qpn,
            sl_vid: u16::from(origin.sl) << 12,
            rlid: origin.slid,
            byte_cnt: len,
            wqe_index: r.index,
            opcode: opcode as u8,
            owner,
            ..Cqe::default()
        }
        .write(buf)
    });
}

/// An error receive completion.
fn push_recv_err(h: &Hca, s: &mut State, qp: &QpView, r: &RecvWqe, e: Syndrome, ev: &mut Events) {
    // Error completions wake solicited waiters too.
    push_cqe(h, s, qp.cqn_recv, true, ev, |buf, owner| {
        ErrCqe {
            qpn: qp.qpn,
            wqe_index: r.index,
            vendor_syndrome: 0,
            syndrome: Some(e),
        }
        .write(e as u8, false, owner, buf)
    });
}

/// A flush completion for WQE `index` of the send or receive queue.
fn push_flush(h: &Hca, s: &mut State, qp: &QpView, index: u16, send: bool, ev: &mut Events) {
    let cqn = if send { qp.cqn_send } else { qp.cqn_recv };
    push_cqe(h, s, cqn, true, ev, |buf, owner| {
        ErrCqe {
            qpn: qp.qpn,
            wqe_index: index,
            vendor_syndrome: 0,
            syndrome: Some(Syndrome::WrFlush),
        }
        .write(Syndrome::WrFlush as u8, send, owner, buf)
    });
}
