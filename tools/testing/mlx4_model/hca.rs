// SPDX-License-Identifier: GPL-2.0

//! One model HCA: the `struct mlx4_dev` mlx4_ib sees, the firmware state behind it and the
//! auxiliary device that binds mlx4_ib.
//!
//! Each HCA stands on an `ivshmem-plain` PCI device: BAR 2 holds its UAR (doorbell) pages, so
//! that mlx4_ib's `ioremap` and libmlx4's `mmap` of a UAR work as on hardware, and the PCI
//! device is the DMA device. Host memory is reached by DMA address through the kernel's direct
//! mapping (QEMU has no IOMMU here).

use crate::fabric::Fabric;
use crate::idalloc::Bitmap;
use crate::rust_bindings::params::c_int_param;
use crate::rust_bindings::pci;
use crate::rust_bindings::raw;
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use crate::sma;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::alloc::{KVec, VVec};
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::rbtree::{RBTree, RBTreeNode};
use kernel::sync::{Arc, Mutex};
use kernel::types::Opaque;
use kernel::{c_str, new_mutex};

/// The firmware version the model reports (2.42.5000, the last ConnectX-3 release).
pub(crate) const FW_VER: u64 = (2 << 32) | (42 << 16) | 5000;
/// Mellanox's IEEE OUI.
const VENDOR_ID: u32 = 0x02c9;
/// ConnectX-3 PCI device id, reported in NodeInfo:DeviceID.
const DEVICE_ID: u16 = 4099;

/// Object counts (log2), close to a ConnectX-3 with mlx4_core's default parameters where the
/// model's memory allows.
const LOG_NUM_QPS: u32 = 17;
const LOG_NUM_CQS: u32 = 16;
const LOG_NUM_SRQS: u32 = 16;
const LOG_NUM_MPTS: u32 = 17;
const LOG_NUM_MTTS: u32 = 20;
const LOG_NUM_PDS: u32 = 15;
/// MTT entries per allocation segment (`1 << log_mtts_per_seg`, default 3).
const MTTS_PER_SEG: u32 = 8;
c_int_param!(
    /// `cqe_size`: 64 (a shipping ConnectX-3 under mlx4_core's default) or 32.
    pub(crate) cqe_size_param => mlx4_model_cqe_size
);
c_int_param!(
    /// `inject`: a driver mistake to simulate once (see [`take_inject`]).
    pub(crate) inject_param => mlx4_model_inject
);

/// `inject` values: what the model corrupts, once, as a buggy driver would have written it.
pub(crate) const INJECT_MLX_NO_VL15: i32 = 1;
pub(crate) const INJECT_MLX_NO_ICRC: i32 = 2;
pub(crate) const INJECT_MTT_MISALIGNED: i32 = 3;
pub(crate) const INJECT_LSO_MSS_ZERO: i32 = 4;
pub(crate) const INJECT_WIRE_BIT_FLIP: i32 = 5;
pub(crate) const INJECT_MLX_BAD_SRC_QP: i32 = 6;

/// Whether the negative test asked for `what` now; it is consumed.
pub(crate) fn take_inject(what: i32) -> bool {
    if inject_param::get() == what {
        inject_param::set(0);
        true
    } else {
        false
    }
}

c_int_param!(
    /// `violations`: driver mistakes detected so far (read-only to userspace).
    pub(crate) violations_param => mlx4_model_violations
);
c_int_param!(
    /// `expect_violations`: set by a negative test; violations are then logged as expected.
    pub(crate) expect_violations_param => mlx4_model_expect_violations
);
c_int_param!(
    /// `doorbells`: send and CQ doorbells read from the UAR pages.
    pub(crate) doorbells_param => mlx4_model_doorbells
);
c_int_param!(
    /// `lso_wqes`: LSO WQEs executed.
    pub(crate) lso_wqes_param => mlx4_model_lso_wqes
);
c_int_param!(
    /// `csum_ok`: UD receive CQEs with verified checksums.
    pub(crate) csum_ok_param => mlx4_model_csum_ok
);
c_int_param!(
    /// `rsvd_lkey`: whether the reserved lkey is advertised (`BMME_FLAG_RESERVED_LKEY`).
    pub(crate) rsvd_lkey_param => mlx4_model_rsvd_lkey
);
c_int_param!(
    /// `busy_poll`: an idle engine passes again at once instead of a jiffy later.
    pub(crate) busy_poll_param => mlx4_model_busy_poll
);
c_int_param!(
    /// `offloads`: IPoIB checksum offload and UD LSO are advertised and executed.
    pub(crate) offloads_param => mlx4_model_offloads
);
/// The largest LSO message (`caps.max_gso_sz`; QUERY_DEV_CAP gives its log2, 16 here).
pub(crate) const MAX_GSO_SZ: c_int = 1 << 16;

/// QPNs below this are reserved; the special QPs start at `BASE_SQPN`.
pub(crate) const BASE_SQPN: u32 = 0x40;
const FIRST_QPN: u32 = 0x48;
const RESERVED_CQS: u32 = 32;
const RESERVED_SRQS: u32 = 64;
const RESERVED_MRWS: u32 = 16;
const RESERVED_PDS: u32 = 1;
const RESERVED_UARS: u32 = 1;
/// The lkey that addresses host memory by DMA address (`caps.reserved_lkey`). Neither 0, so
/// that an lkey a driver forgot to set is not taken for it, nor `MLX4_INVALID_LKEY` (0x100,
/// which ends a receive scatter list); its MPT index (2) is among the reserved ones. (Which
/// value ConnectX-3 firmware reports is not known here.)
pub(crate) const RESERVED_LKEY: u32 = 0x200;
/// Multicast groups and members per group (`num_mgms + num_amgms`, `num_qp_per_mgm`).
const MAX_MCAST_GROUPS: usize = 1 << 14;
const QPS_PER_MCAST_GROUP: usize = 248;
/// Words of the diagnostic report the model keeps (offsets up to 0x1ff).
const DIAG_WORDS: usize = 0x200 / 4;
/// Size of a mailbox (`MLX4_MAILBOX_SIZE`).
const MAILBOX_SIZE: usize = 4096;

/// The ivshmem BAR holding the UARs.
pub(crate) const UAR_BAR: u32 = 2;

/// Firmware commands the model answers (`enum` in `include/linux/mlx4/cmd.h`).
mod op {
    pub(super) const SET_PORT: u16 = 0x0c;
    pub(super) const MAD_IFC: u16 = 0x24;
    pub(super) const QUERY_PORT: u16 = 0x43;
    pub(super) const SET_NODE: u16 = 0x5a;
}

// The records are read by the execution engine (engine.rs).
/// A completion queue as the firmware knows it.
pub(crate) struct CqRec {
    /// The driver's `mlx4_cq` (it stays valid until `mlx4_cq_free` returns).
    pub(crate) cq: *mut raw::mlx4_cq,
    /// Number of entries (a power of two).
    pub(crate) nent: u32,
    /// First MTT entry and page shift of the buffer.
    pub(crate) mtt: (u32, u32),
    /// DMA address of the doorbell record (consumer index, arm).
    pub(crate) db_rec: u64,
    /// Producer index of the model.
    pub(crate) prod: u32,
    /// The UAR page whose CQ doorbell arms it (`mlx4_cq_alloc`'s `uar`).
    pub(crate) uar: u32,
    /// The arm doorbell (`sn << 28 | cmd`) rung since the CQ last fired, 0 if none.
    pub(crate) arm_db: u32,
    /// `State::cq_db_writes` of its UAR page when it last fired.
    pub(crate) idle_writes: u32,
}

/// A queue pair as the firmware knows it.
pub(crate) struct QpRec {
    /// The driver's `mlx4_qp`.
    pub(crate) qp: *mut raw::mlx4_qp,
    /// State (`enum mlx4_qp_state`).
    pub(crate) state: u32,
    /// The context, as the transitions so far set it.
    pub(crate) ctx: KBox<raw::mlx4_qp_context>,
    /// Send WQEs consumed (free-running).
    pub(crate) sq_cons: u32,
    /// Receive WQEs consumed (free-running).
    pub(crate) rq_cons: u32,
    /// Since when (ms) the head send WQE waits for the link; 0 when not waiting.
    pub(crate) stall_since: u64,
    /// RNR NAKs the head send WQE got so far, and until when (us) it waits to retry.
    pub(crate) rnr_attempts: u32,
    pub(crate) rnr_until: u64,
    /// The "last WQE reached" event of an SRQ's QP in error was raised.
    pub(crate) last_wqe_sent: bool,
    /// Changes with every transition, so the engine notices a QP that changed under it.
    pub(crate) gen: u32,
    /// A send doorbell named this QP since its send queue was last found empty.
    pub(crate) rung: bool,
    /// `State::sq_db_writes` of the QP's UAR page when its send queue was last found empty.
    pub(crate) idle_writes: u32,
}

impl QpRec {
    /// A QP in reset.
    pub(crate) fn new(qp: *mut raw::mlx4_qp, ctx: KBox<raw::mlx4_qp_context>) -> Self {
        Self {
            qp,
            state: raw::mlx4_qp_state_MLX4_QP_STATE_RST,
            ctx,
            sq_cons: 0,
            rq_cons: 0,
            stall_since: 0,
            rnr_attempts: 0,
            rnr_until: 0,
            last_wqe_sent: false,
            gen: 0,
            rung: false,
            idle_writes: 0,
        }
    }

    /// The fields firmware requires of an RC or UC QP's INIT to RTR transition (IBA 11.2.4.2:
    /// path, destination QP, path MTU): a context without them is refused.
    pub(crate) fn rtr_required(
        new: &raw::mlx4_qp_context,
    ) -> core::result::Result<(), &'static str> {
        let grh = new.pri_path.grh_mylmc & 0x80 != 0;
        if new.pri_path.rlid == 0 && !grh {
            return Err("no path (DLID 0, no GRH)");
        }
        if u32::from_be(new.remote_qpn) & 0xff_ffff == 0 {
            return Err("no destination QP");
        }
        if !(1..=5).contains(&(new.mtu_msgmax >> 5)) {
            return Err("no path MTU");
        }
        Ok(())
    }

    /// Applies the context of a transition from `cur` to `next` as firmware does. RST to
    /// INIT takes the context whole. The others take the fields the transition requires
    /// (even when zero: a field the driver forgot is lost, not kept) and the optional
    /// parameters `optpar` names; the rest of `new` is ignored. A transition without a
    /// context (to reset or error, RTS to SQD) takes nothing. Refuses an optional parameter
    /// the transition does not take (`qpc::optpar_allowed`), changing nothing.
    pub(crate) fn apply(
        &mut self,
        cur: u32,
        next: u32,
        new: &raw::mlx4_qp_context,
        optpar: u32,
    ) -> core::result::Result<(), &'static str> {
        use crate::hw::qp_state::{MLX4_QP_STATE_INIT as INIT, MLX4_QP_STATE_RST as RST};
        use crate::hw::qp_state::{MLX4_QP_STATE_RTR as RTR, MLX4_QP_STATE_RTS as RTS};
        use crate::hw::qpc::*;
        let Some(allowed) = optpar_allowed(cur, next) else {
            return Ok(());
        };
        if optpar & !allowed != 0 {
            return Err("an optional parameter this transition does not take");
        }
        if cur == RST && next == INIT {
            *self.ctx = *new;
            return Ok(());
        }
        let c = &mut *self.ctx;
        let st = (u32::from_be(c.flags) >> 16) & 0xff;
        // Replaces the bits `mask` of big-endian `old` by those of `new`.
        let bits = |old: &mut u32, new: u32, mask: u32| {
            *old = ((u32::from_be(*old) & !mask) | (u32::from_be(new) & mask)).to_be();
        };
        // Fields the transition requires.
        if cur == INIT && next == RTR {
            c.mtu_msgmax = new.mtu_msgmax;
            c.remote_qpn = new.remote_qpn;
            bits(&mut c.rnr_nextrecvpsn, new.rnr_nextrecvpsn, PSN_MASK);
            if st == MLX4_QP_ST_RC || st == MLX4_QP_ST_UC {
                // The primary path, but for what has parameters of its own.
                let old = c.pri_path;
                c.pri_path = new.pri_path;
                c.pri_path.pkey_index = old.pkey_index;
                c.pri_path.counter_index = old.counter_index;
                c.pri_path.ackto =
                    (old.ackto & !ACKTO_LINK_TYPE) | (new.pri_path.ackto & ACKTO_LINK_TYPE);
            } else {
                c.pri_path.sched_queue = new.pri_path.sched_queue;
            }
        }
        if cur == RTR && next == RTS {
            c.next_send_psn = new.next_send_psn;
            c.params1 = new.params1;
            if st == MLX4_QP_ST_RC {
                c.pri_path.ackto = new.pri_path.ackto;
            }
        }
        // Optional parameters.
        let has = |bit: u32| optpar & bit != 0;
        if has(MLX4_QP_OPTPAR_PRIMARY_ADDR_PATH) {
            let old = c.pri_path;
            c.pri_path = new.pri_path;
            c.pri_path.pkey_index = old.pkey_index;
            c.pri_path.counter_index = old.counter_index;
            c.pri_path.sched_queue = old.sched_queue;
            c.pri_path.ackto = old.ackto;
        }
        if has(MLX4_QP_OPTPAR_SCHED_QUEUE) {
            c.pri_path.sched_queue = new.pri_path.sched_queue;
        }
        if has(MLX4_QP_OPTPAR_PKEY_INDEX) {
            c.pri_path.pkey_index = new.pri_path.pkey_index;
        }
        if has(MLX4_QP_OPTPAR_COUNTER_INDEX) {
            c.pri_path.counter_index = new.pri_path.counter_index;
        }
        if has(MLX4_QP_OPTPAR_ACK_TIMEOUT) {
            c.pri_path.ackto =
                (c.pri_path.ackto & ACKTO_LINK_TYPE) | (new.pri_path.ackto & !ACKTO_LINK_TYPE);
        }
        if has(MLX4_QP_OPTPAR_ALT_ADDR_PATH) {
            c.alt_path = new.alt_path;
        }
        if has(MLX4_QP_OPTPAR_Q_KEY) {
            c.qkey = new.qkey;
        }
        if has(MLX4_QP_OPTPAR_PM_STATE) {
            bits(&mut c.flags, new.flags, 3 << 11);
        }
        if has(MLX4_QP_OPTPAR_RNR_TIMEOUT) {
            bits(&mut c.rnr_nextrecvpsn, new.rnr_nextrecvpsn, 0x1f << 24);
        }
        for (bit, mask) in [
            (MLX4_QP_OPTPAR_RETRY_COUNT, 7 << 16),
            (MLX4_QP_OPTPAR_RNR_RETRY, 7 << 13),
            (MLX4_QP_OPTPAR_SRA_MAX, 7 << 21),
        ] {
            if has(bit) {
                bits(&mut c.params1, new.params1, mask);
            }
        }
        for (bit, mask) in [
            (MLX4_QP_OPTPAR_RRE, MLX4_QP_BIT_RRE),
            (MLX4_QP_OPTPAR_RAE, MLX4_QP_BIT_RAE),
            (MLX4_QP_OPTPAR_RWE, MLX4_QP_BIT_RWE),
            (MLX4_QP_OPTPAR_RRA_MAX, 7 << 21),
        ] {
            if has(bit) {
                bits(&mut c.params2, new.params2, mask);
            }
        }
        Ok(())
    }
}

/// The PSN bits of `next_send_psn` and `rnr_nextrecvpsn`.
pub(crate) const PSN_MASK: u32 = 0xff_ffff;
/// The link type bits of a path's `ackto` (the ACK timeout is bits 7:3).
const ACKTO_LINK_TYPE: u8 = 7;

/// A shared receive queue as the firmware knows it.
pub(crate) struct SrqRec {
    /// The driver's `mlx4_srq`.
    pub(crate) srq: *mut raw::mlx4_srq,
    pub(crate) pdn: u32,
    pub(crate) cqn: u32,
    /// First MTT entry and page shift of the buffer.
    pub(crate) mtt: (u32, u32),
    /// DMA address of the doorbell record (WQE counter).
    pub(crate) db_rec: u64,
    /// Limit event watermark (0: disarmed).
    pub(crate) limit: u32,
    /// WQEs (a power of two) and log2 of their stride.
    pub(crate) max: u32,
    pub(crate) wqe_shift: u32,
    /// WQEs consumed (free-running) and the index of the next one.
    pub(crate) cons: u32,
    pub(crate) head: u32,
}

/// A multicast group attached on the port.
pub(crate) struct McGroup {
    qpns: [u32; QPS_PER_MCAST_GROUP],
    n: usize,
}

impl McGroup {
    /// The QPNs attached.
    pub(crate) fn members(&self) -> &[u32] {
        &self.qpns[..self.n]
    }
}

/// A memory region or window (an MPT entry).
pub(crate) struct MptRec {
    pub(crate) key: u32,
    pub(crate) pd: u32,
    pub(crate) iova: u64,
    pub(crate) size: u64,
    pub(crate) access: u32,
    /// First MTT entry and page shift; `None` for a physical (DMA address) region.
    pub(crate) mtt: Option<(u32, u32)>,
    pub(crate) enabled: bool,
}

/// The UAR pages (the ivshmem BAR), mapped uncached as the drivers map them, for the
/// model's doorbell reads.
pub(crate) struct UarMap {
    bar: pci::BarMap,
    pages: u32,
}

impl UarMap {
    /// Reads and clears the doorbell word at byte `off` of UAR page `index` (4 or 8 bytes),
    /// in one atomic exchange, so a write racing the read is never lost. Returns the bytes
    /// as a big-endian number, as the doorbells are written; 0 if nothing was rung.
    pub(crate) fn take(&self, index: u32, off: usize, wide: bool) -> u64 {
        if index >= self.pages {
            return 0;
        }
        let at = index as usize * kernel::page::PAGE_SIZE + off;
        self.bar.take_be(at, wide).unwrap_or(0)
    }
}

/// Everything the firmware keeps, under one lock.
pub(crate) struct State {
    pds: KVec<u64>,
    uars: KVec<u64>,
    qpns: KVec<u64>,
    cqns: KVec<u64>,
    srqns: KVec<u64>,
    mpts: KVec<u64>,
    mtt_segs: KVec<u64>,
    /// MTT entries (DMA address | present bit), big-endian as the hardware stores them.
    pub(crate) mtt: VVec<u64>,
    pub(crate) cqs: RBTree<u32, CqRec>,
    pub(crate) qps: RBTree<u32, QpRec>,
    pub(crate) mrs: RBTree<u32, MptRec>,
    pub(crate) srqs: RBTree<u32, SrqRec>,
    pub(crate) mcast: RBTree<[u8; 16], McGroup>,
    mcast_groups: usize,
    pub(crate) node: sma::Node,
    pub(crate) port: sma::Port,
    /// INIT_PORT was run and CLOSE_PORT not since.
    pub(crate) port_open: bool,
    /// The `DIAG_RPRT` report: transport error counters at mlx4_ib's byte offsets.
    pub(crate) diag: [u32; DIAG_WORDS],
    /// Send (offset 0x14) and CQ (0x20) doorbell writes seen on each UAR page.
    pub(crate) sq_db_writes: [u32; MAX_UARS],
    pub(crate) cq_db_writes: [u32; MAX_UARS],
    /// Port events waiting for the engine, which raises them from hard-IRQ context as the
    /// EQ interrupt would (never inside the command that caused them).
    pub(crate) port_events: [(u32, raw::mlx4_eqe); MAX_PORT_EVENTS],
    pub(crate) nport_events: usize,
    /// The last QPs and CQs destroyed: (QPN, or CQN | `GONE_CQ`; UAR page; when in ms). A
    /// process may still ring one while the kernel destroys it under it (device removal);
    /// the hardware ignores such doorbells.
    pub(crate) gone: [(u32, u32, u64); 16],
    pub(crate) gone_next: usize,
}

/// `MLX4_USER_DEV_CAP_LARGE_CQE` (an enum bindgen does not see).
const USER_DEV_CAP_LARGE_CQE: u32 = 1 << 0;

/// Port events the EQ holds before the engine raises them.
pub(crate) const MAX_PORT_EVENTS: usize = 16;

/// Marks a CQN in `State::gone`.
pub(crate) const GONE_CQ: u32 = 1 << 31;

/// UAR pages the model offers at most (the bitmap's size).
pub(crate) const MAX_UARS: usize = 256;

/// Allocates a zeroed bitmap of `1 << log` bits.
fn bitmap(log: u32) -> Result<KVec<u64>> {
    let n = Bitmap::words_for(1 << log);
    let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
    v.extend_with(n, 0, GFP_KERNEL)?;
    Ok(v)
}

/// Runs `f` on the bitmap stored in `words` of `1 << log` bits.
fn with_bitmap<R>(words: &mut KVec<u64>, log: u32, f: impl FnOnce(&mut Bitmap<'_>) -> R) -> R {
    // The vector was made by `bitmap(log)`, so it is large enough.
    let mut b = Bitmap::new(words, 1 << log).expect("bitmap sized by bitmap()");
    f(&mut b)
}

/// What the firmware's tables hold, to compare before a driver binds and after it is gone.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Census {
    qps: usize,
    cqs: usize,
    srqs: usize,
    mpts: usize,
    mcast_groups: usize,
    pds: u32,
    uars: u32,
    qpns: u32,
    mtt_segs: u32,
}

impl core::fmt::Display for Census {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} QPs, {} CQs, {} SRQs, {} MPTs, {} multicast groups, {} PDs, {} UARs, \
             {} QPNs reserved, {} MTT segments",
            self.qps,
            self.cqs,
            self.srqs,
            self.mpts,
            self.mcast_groups,
            self.pds,
            self.uars,
            self.qpns,
            self.mtt_segs
        )
    }
}

fn ones(words: &[u64]) -> u32 {
    words.iter().map(|w| w.count_ones()).sum()
}

impl State {
    /// The firmware's tables, counted.
    pub(crate) fn census(&self) -> Census {
        Census {
            qps: self.qps.iter().count(),
            cqs: self.cqs.iter().count(),
            srqs: self.srqs.iter().count(),
            mpts: self.mrs.iter().count(),
            mcast_groups: self.mcast_groups,
            pds: ones(&self.pds),
            uars: ones(&self.uars),
            qpns: ones(&self.qpns),
            mtt_segs: ones(&self.mtt_segs),
        }
    }

    fn new(index: u32) -> Result<Self> {
        let node_guid = 0x0002_c903_00a0_0000u64 | (u64::from(index) << 8);
        let mut desc = [0u8; 64];
        let name = b"MT25408 ConnectX Mellanox Technologies";
        desc[..name.len()].copy_from_slice(name);
        let mut s = Self {
            pds: bitmap(LOG_NUM_PDS)?,
            uars: bitmap(8)?,
            qpns: bitmap(LOG_NUM_QPS)?,
            cqns: bitmap(LOG_NUM_CQS)?,
            srqns: bitmap(LOG_NUM_SRQS)?,
            mpts: bitmap(LOG_NUM_MPTS)?,
            mtt_segs: bitmap(LOG_NUM_MTTS - MTTS_PER_SEG.ilog2())?,
            mtt: {
                let n = 1usize << LOG_NUM_MTTS;
                let mut v = VVec::with_capacity(n, GFP_KERNEL)?;
                v.extend_with(n, 0, GFP_KERNEL)?;
                v
            },
            cqs: RBTree::new(),
            qps: RBTree::new(),
            mrs: RBTree::new(),
            srqs: RBTree::new(),
            mcast: RBTree::new(),
            mcast_groups: 0,
            node: sma::Node {
                node_guid,
                sys_image_guid: node_guid | 3,
                device_id: DEVICE_ID,
                revision: 1,
                vendor_id: VENDOR_ID,
                desc,
                num_ports: 1,
            },
            port: sma::Port::new(1, node_guid | 1),
            port_open: false,
            diag: [0; DIAG_WORDS],
            sq_db_writes: [0; MAX_UARS],
            cq_db_writes: [0; MAX_UARS],
            port_events: [(0, raw::mlx4_eqe::default()); MAX_PORT_EVENTS],
            nport_events: 0,
            gone: [(0, 0, 0); 16],
            gone_next: 0,
        };
        with_bitmap(&mut s.pds, LOG_NUM_PDS, |b| b.reserve(0, RESERVED_PDS));
        with_bitmap(&mut s.uars, 8, |b| b.reserve(0, RESERVED_UARS));
        with_bitmap(&mut s.qpns, LOG_NUM_QPS, |b| b.reserve(0, FIRST_QPN));
        with_bitmap(&mut s.cqns, LOG_NUM_CQS, |b| b.reserve(0, RESERVED_CQS));
        with_bitmap(&mut s.srqns, LOG_NUM_SRQS, |b| b.reserve(0, RESERVED_SRQS));
        with_bitmap(&mut s.mpts, LOG_NUM_MPTS, |b| b.reserve(0, RESERVED_MRWS));
        // Segment 0 stays reserved: MTT offset 0 means "no MTT" in contexts.
        with_bitmap(&mut s.mtt_segs, LOG_NUM_MTTS - MTTS_PER_SEG.ilog2(), |b| {
            b.reserve(0, 1)
        });
        Ok(s)
    }

    /// The diagnostic counter at byte `offset` of the report; `None` past the mailbox.
    pub(crate) fn diag_counter(&self, offset: u32) -> Option<u32> {
        if offset as usize > MAILBOX_SIZE {
            return None;
        }
        Some(self.diag.get(offset as usize / 4).copied().unwrap_or(0))
    }

    /// Allocates a PD number.
    pub(crate) fn pd_alloc(&mut self) -> Option<u32> {
        with_bitmap(&mut self.pds, LOG_NUM_PDS, |b| b.alloc(1, 1, 0))
    }

    /// Frees a PD number; false if it was not allocated.
    pub(crate) fn pd_free(&mut self, pdn: u32) -> bool {
        with_bitmap(&mut self.pds, LOG_NUM_PDS, |b| b.free(pdn, 1))
    }

    /// Allocates a UAR index below `limit` (the pages the BAR holds).
    pub(crate) fn uar_alloc(&mut self, limit: u32) -> Option<u32> {
        with_bitmap(&mut self.uars, 8, |b| b.alloc(1, 1, 0)).and_then(|i| {
            if i < limit {
                Some(i)
            } else {
                with_bitmap(&mut self.uars, 8, |b| b.free(i, 1));
                None
            }
        })
    }

    /// Frees a UAR index.
    pub(crate) fn uar_free(&mut self, index: u32) -> bool {
        with_bitmap(&mut self.uars, 8, |b| b.free(index, 1))
    }

    /// Remembers that QP (or CQ, `id | GONE_CQ`) `id` of UAR page `uar` was destroyed now.
    pub(crate) fn remember_gone(&mut self, id: u32, uar: u32, now_ms: u64) {
        let i = self.gone_next % self.gone.len();
        self.gone[i] = (id, uar, now_ms);
        self.gone_next = i + 1;
    }

    /// Whether QP (or CQ) `id` of page `uar` was destroyed less than two seconds ago.
    pub(crate) fn recently_gone(&self, id: u32, uar: u32, now_ms: u64) -> bool {
        self.gone
            .iter()
            .any(|&(g, u, t)| g == id && u == uar && t != 0 && now_ms.wrapping_sub(t) < 2000)
    }

    /// The UAR pages allocated to drivers (not the reserved ones), as a bit per index.
    pub(crate) fn uars_in_use(&self) -> [u64; MAX_UARS / 64] {
        let mut out = [0u64; MAX_UARS / 64];
        for (o, w) in out.iter_mut().zip(self.uars.iter()) {
            *o = *w;
        }
        out[0] &= !((1u64 << RESERVED_UARS) - 1);
        out
    }

    /// Reserves `cnt` QPNs aligned on `align`.
    pub(crate) fn qpn_reserve(&mut self, cnt: u32, align: u32) -> Option<u32> {
        with_bitmap(&mut self.qpns, LOG_NUM_QPS, |b| {
            b.alloc(cnt, align, FIRST_QPN)
        })
    }

    /// Releases QPNs reserved by `qpn_reserve`.
    pub(crate) fn qpn_release(&mut self, base: u32, cnt: u32) -> bool {
        with_bitmap(&mut self.qpns, LOG_NUM_QPS, |b| b.free(base, cnt))
    }

    /// Whether `qpn` may carry a QP: a reserved regular QPN or a special QP of the port.
    pub(crate) fn qpn_valid(&mut self, qpn: u32) -> bool {
        let reserved = with_bitmap(&mut self.qpns, LOG_NUM_QPS, |b| b.is_used(qpn));
        (reserved && qpn >= FIRST_QPN) || (BASE_SQPN..BASE_SQPN + 8).contains(&qpn)
    }

    /// Allocates a CQN.
    pub(crate) fn cqn_alloc(&mut self) -> Option<u32> {
        with_bitmap(&mut self.cqns, LOG_NUM_CQS, |b| b.alloc(1, 1, 0))
    }

    /// Frees a CQN.
    pub(crate) fn cqn_free(&mut self, cqn: u32) -> bool {
        with_bitmap(&mut self.cqns, LOG_NUM_CQS, |b| b.free(cqn, 1))
    }

    /// Allocates an SRQN.
    pub(crate) fn srqn_alloc(&mut self) -> Option<u32> {
        with_bitmap(&mut self.srqns, LOG_NUM_SRQS, |b| b.alloc(1, 1, 0))
    }

    /// Frees an SRQN.
    pub(crate) fn srqn_free(&mut self, srqn: u32) -> bool {
        with_bitmap(&mut self.srqns, LOG_NUM_SRQS, |b| b.free(srqn, 1))
    }

    /// Allocates an MPT index.
    pub(crate) fn mpt_alloc(&mut self) -> Option<u32> {
        with_bitmap(&mut self.mpts, LOG_NUM_MPTS, |b| b.alloc(1, 1, 0))
    }

    /// Frees an MPT index.
    pub(crate) fn mpt_free(&mut self, index: u32) -> bool {
        with_bitmap(&mut self.mpts, LOG_NUM_MPTS, |b| b.free(index, 1))
    }

    /// Allocates `1 << order` MTT entries; returns the first entry's index.
    pub(crate) fn mtt_alloc(&mut self, order: u32) -> Option<u32> {
        let segs = (1u32 << order).div_ceil(MTTS_PER_SEG);
        with_bitmap(
            &mut self.mtt_segs,
            LOG_NUM_MTTS - MTTS_PER_SEG.ilog2(),
            |b| b.alloc(segs, segs.next_power_of_two(), 0),
        )
        .map(|seg| seg * MTTS_PER_SEG)
    }

    /// Frees what `mtt_alloc(order)` returned as `offset`, clearing the entries.
    pub(crate) fn mtt_free(&mut self, offset: u32, order: u32) -> bool {
        let segs = (1u32 << order).div_ceil(MTTS_PER_SEG);
        let ok = with_bitmap(
            &mut self.mtt_segs,
            LOG_NUM_MTTS - MTTS_PER_SEG.ilog2(),
            |b| b.free(offset / MTTS_PER_SEG, segs),
        );
        if ok {
            let start = offset as usize;
            let end = start + (segs * MTTS_PER_SEG) as usize;
            self.mtt[start..end].fill(0);
        }
        ok
    }
}

/// A tree node for `value` at `key`, allocated before taking the lock it is inserted under.
pub(crate) fn tree_node<V>(key: u32, value: V) -> Result<RBTreeNode<u32, V>> {
    tree_node_key(key, value)
}

/// As `tree_node`, for any key type.
pub(crate) fn tree_node_key<K, V>(key: K, value: V) -> Result<RBTreeNode<K, V>> {
    RBTreeNode::new(key, value, GFP_KERNEL)
}

/// A model HCA.
#[pin_data]
pub(crate) struct Hca {
    /// What mlx4_ib gets as `struct mlx4_dev *`.
    #[pin]
    pub(crate) mdev: Opaque<raw::mlx4_dev>,
    #[pin]
    persist: Opaque<raw::mlx4_dev_persistent>,
    #[pin]
    spec_qps: Opaque<raw::mlx4_spec_qps>,
    /// mlx4's event notifier chain (`mlx4_register_event_notifier`).
    #[pin]
    pub(crate) events: Opaque<raw::atomic_notifier_head>,
    #[pin]
    pub(crate) dl_port: Opaque<raw::devlink_port>,
    devlink: AtomicPtr<raw::devlink>,
    adev: AtomicPtr<raw::mlx4_adev>,
    /// The PCI device (DMA device, parent of everything).
    pub(crate) pdev: *mut raw::pci_dev,
    /// First page frame and number of UAR pages.
    pub(crate) uar_pfn: u64,
    pub(crate) uar_pages: u32,
    /// The same pages, mapped for reading doorbells.
    pub(crate) uar_map: UarMap,
    /// Position on the cable (0 or 1).
    pub(crate) index: u32,
    /// Bytes per CQE slot (32 or 64); with 64 the entry is the second half.
    pub(crate) cqe_size: u32,
    /// IPoIB checksum offload and UD LSO (`offloads`), fixed at probe.
    pub(crate) offloads: bool,
    pub(crate) fabric: Arc<Fabric>,
    #[pin]
    pub(crate) state: SpinLockIrq<State>,
    /// Serialises firmware commands, as mlx4_core's command interface does.
    #[pin]
    pub(crate) cmd: Mutex<()>,
    /// The tables before a driver was bound (`publish`).
    #[pin]
    empty: Mutex<Census>,
}

// SAFETY: The raw pointers are to the PCI device (alive while bound, and the HCA is dropped in
// `remove`) and to objects the HCA owns; all mutable state is behind `state`.
unsafe impl Send for Hca {}
// SAFETY: As above; shared access goes through the lock or to fields set before sharing.
unsafe impl Sync for Hca {}

impl Hca {
    /// Creates the HCA on `pdev`, at cable position `index`.
    pub(crate) fn new(
        pdev: &pci::Device,
        index: u32,
        fabric: Arc<Fabric>,
    ) -> Result<Pin<KBox<Self>>> {
        let (bar, len) = pdev.bar(UAR_BAR);
        let page = kernel::page::PAGE_SIZE as u64;
        if bar == 0 || len < page * 2 || bar % page != 0 {
            pr_err!("ivshmem BAR {} too small for UARs\n", UAR_BAR);
            return Err(ENODEV);
        }
        let cqe_size = match cqe_size_param::get() {
            32 => 32,
            64 => 64,
            v => {
                pr_err!("cqe_size={} (must be 32 or 64)\n", v);
                return Err(EINVAL);
            }
        };
        pdev.set_dma_mask(64)?;
        let uar_pages = (len / page).min(MAX_UARS as u64) as u32;
        let uar_map = UarMap {
            bar: pdev.map_bar(UAR_BAR)?,
            pages: uar_pages,
        };
        let state = State::new(index)?;
        let hca = KBox::pin_init(
            pin_init!(Self {
                mdev <- Opaque::ffi_init(|p: *mut raw::mlx4_dev| {
                    // SAFETY: `p` is valid for writes of a `mlx4_dev`; zero is its C initial
                    // state (the core allocates it with kzalloc).
                    unsafe { ptr::write_bytes(p, 0, 1) }
                }),
                persist <- Opaque::ffi_init(|p: *mut raw::mlx4_dev_persistent| {
                    // SAFETY: As above.
                    unsafe { ptr::write_bytes(p, 0, 1) }
                }),
                spec_qps <- Opaque::ffi_init(|p: *mut raw::mlx4_spec_qps| {
                    // SAFETY: As above.
                    unsafe { ptr::write_bytes(p, 0, 1) }
                }),
                events <- Opaque::ffi_init(|p| {
                    // SAFETY: `p` is valid for writes; this initialises the head in place.
                    unsafe { raw::atomic_notifier_head_init(p) }
                }),
                dl_port <- Opaque::ffi_init(|p: *mut raw::devlink_port| {
                    // SAFETY: As for `mdev`: a devlink port starts zeroed.
                    unsafe { ptr::write_bytes(p, 0, 1) }
                }),
                devlink: AtomicPtr::new(ptr::null_mut()),
                adev: AtomicPtr::new(ptr::null_mut()),
                pdev: pdev.as_raw(),
                uar_pfn: bar >> kernel::page::PAGE_SHIFT,
                uar_pages,
                uar_map,
                index,
                cqe_size,
                offloads: offloads_param::get() != 0,
                fabric,
                state <- new_spinlock_irq!(state, "mlx4_model::state"),
                cmd <- new_mutex!((), "mlx4_model::cmd"),
                empty <- new_mutex!(Census::default(), "mlx4_model::empty"),
            }),
            GFP_KERNEL,
        )?;
        hca.fill_dev();
        Ok(hca)
    }

    /// Fills `struct mlx4_dev` with the caps of a ConnectX-3 with one InfiniBand port.
    fn fill_dev(&self) {
        let d = self.mdev.get();
        let ps = self.persist.get();
        // SAFETY: The HCA is pinned and not shared yet; the fields are plain data written once.
        unsafe {
            (*ps).pdev = self.pdev;
            (*ps).dev = d;
            (*ps).state = raw::MLX4_DEVICE_STATE_UP as u8;
            (*ps).interface_state = raw::MLX4_INTERFACE_STATE_UP as u8;
            (*d).persist = ps;
            (*d).uar_page_shift = kernel::page::PAGE_SHIFT as u8;
            (*d).rev_id = 1;
            let id = b"MT_1090120019";
            for (i, &c) in id.iter().enumerate() {
                (*d).board_id[i] = c as kernel::ffi::c_char;
            }
            raw::radix_tree_init_atomic(&raw mut (*d).qp_table_tree);
            (*self.spec_qps.get()).qp0_proxy = 0;

            let c = &mut (*d).caps;
            c.fw_ver = FW_VER;
            c.num_ports = 1;
            c.port_type[1] = raw::mlx4_port_type_MLX4_PORT_TYPE_IB;
            c.port_mask[1] = raw::mlx4_port_type_MLX4_PORT_TYPE_IB;
            c.possible_type[1] = raw::mlx4_port_type_MLX4_PORT_TYPE_IB;
            c.supported_type[1] = raw::mlx4_port_type_MLX4_PORT_TYPE_IB as u8;
            c.vl_cap[1] = 4;
            c.ib_mtu_cap[1] = 5;
            c.port_ib_mtu[1] = 5;
            c.gid_table_len[1] = sma::GUID_TABLE_LEN as c_int;
            c.pkey_table_len[1] = sma::PKEY_TABLE_LEN as c_int;
            c.port_width_cap[1] = 3;
            c.local_ca_ack_delay = 15;
            c.num_uars = self.uar_pages as c_int;
            c.uar_page_size = kernel::page::PAGE_SIZE as u32;
            c.max_sq_sg = 32;
            c.max_rq_sg = 32;
            c.num_qps = 1 << LOG_NUM_QPS;
            c.max_wqes = 16384;
            c.max_sq_desc_sz = 1008;
            c.max_rq_desc_sz = 512;
            c.max_qp_init_rdma = 128;
            c.max_qp_dest_rdma = 16;
            c.spec_qps = self.spec_qps.get();
            c.num_srqs = 1 << LOG_NUM_SRQS;
            c.max_srq_wqes = 16384;
            c.max_srq_sge = 31;
            c.reserved_srqs = RESERVED_SRQS as c_int;
            c.num_cqs = 1 << LOG_NUM_CQS;
            c.max_cqes = (1 << 22) - 1;
            c.reserved_cqs = RESERVED_CQS as c_int;
            c.num_eqs = 32;
            c.reserved_eqs = 16;
            c.num_comp_vectors = 1;
            c.num_mpts = 1 << LOG_NUM_MPTS;
            c.num_mtts = 1 << LOG_NUM_MTTS;
            c.reserved_mtts = MTTS_PER_SEG as c_int;
            c.reserved_mrws = RESERVED_MRWS as c_int;
            c.reserved_uars = RESERVED_UARS as c_int;
            c.num_mgms = 1 << 13;
            c.num_amgms = 1 << 13;
            c.num_qp_per_mgm = 248;
            c.steering_mode = raw::MLX4_STEERING_MODE_B0 as c_int;
            c.num_pds = 1 << LOG_NUM_PDS;
            c.reserved_pds = RESERVED_PDS as c_int;
            c.mtt_entry_sz = 8;
            c.max_msg_sz = 1 << 30;
            c.page_size_cap = !0xfffu32;
            c.flags = (raw::MLX4_DEV_CAP_FLAG_RC
                | raw::MLX4_DEV_CAP_FLAG_UC
                | raw::MLX4_DEV_CAP_FLAG_UD
                | raw::MLX4_DEV_CAP_FLAG_SRQ
                | raw::MLX4_DEV_CAP_FLAG_BAD_PKEY_CNTR
                | raw::MLX4_DEV_CAP_FLAG_BAD_QKEY_CNTR
                | raw::MLX4_DEV_CAP_FLAG_RAW_MCAST
                | raw::MLX4_DEV_CAP_FLAG_UD_AV_PORT
                | raw::MLX4_DEV_CAP_FLAG_UD_MCAST
                | raw::MLX4_DEV_CAP_FLAG_ATOMIC
                | raw::MLX4_DEV_CAP_FLAG_PORT_MNG_CHG_EV) as u64;
            c.reserved_lkey = RESERVED_LKEY;
            c.stat_rate_support = 0x3ff;
            c.max_counters = 16;
            if self.cqe_size == 64 {
                // As mlx4_core's INIT_HCA with 64-byte CQEs: libmlx4 learns the size through
                // the ucontext (uverbs ABI 4 once `userspace_caps` is non-zero).
                c.flags |= (raw::MLX4_DEV_CAP_FLAG_64B_CQE | raw::MLX4_DEV_CAP_FLAG_64B_EQE) as u64;
                c.userspace_caps |= USER_DEV_CAP_LARGE_CQE;
            }
            c.eqe_size = self.cqe_size;
            c.cqe_size = self.cqe_size;
            if rsvd_lkey_param::get() != 0 {
                c.bmme_flags |= raw::MLX4_BMME_FLAG_RESERVED_LKEY;
            }
            if self.offloads {
                // mlx4_ib offers IB_DEVICE_UD_IP_CSUM and, with BLH and max_gso_sz, IBK_UD_TSO.
                c.flags |= (raw::MLX4_DEV_CAP_FLAG_IPOIB_CSUM | raw::MLX4_DEV_CAP_FLAG_BLH) as u64;
                c.max_gso_sz = MAX_GSO_SZ;
            }
            c.eqe_factor = 0;
            c.reserved_qps = FIRST_QPN as c_int;

            let pc = &mut (*d).phys_caps;
            pc.gid_phys_table_len[1] = sma::GUID_TABLE_LEN as u32;
            pc.pkey_phys_table_len[1] = sma::PKEY_TABLE_LEN as u32;
            pc.num_phys_eqs = 32;
            pc.base_sqpn = BASE_SQPN;

            let q = &mut (*d).quotas;
            q.qp = (1 << LOG_NUM_QPS) - FIRST_QPN as c_int;
            q.cq = (1 << LOG_NUM_CQS) - RESERVED_CQS as c_int;
            q.srq = (1 << LOG_NUM_SRQS) - RESERVED_SRQS as c_int;
            q.mpt = (1 << LOG_NUM_MPTS) - RESERVED_MRWS as c_int;
            q.mtt = 1 << LOG_NUM_MTTS;
            q.counter = 16;
        }
    }

    /// Returns the HCA whose `mlx4_dev` is `dev`.
    ///
    /// # Safety
    ///
    /// `dev` must be the `mdev` of a live `Hca` (every `mlx4_dev` mlx4_ib sees comes from the
    /// model, and the model outlives the driver's use of it), for `'a`.
    pub(crate) unsafe fn from_dev<'a>(dev: *mut raw::mlx4_dev) -> &'a Self {
        // SAFETY: Per the function's contract, `dev` points to the `mdev` field of an `Hca`;
        // `Opaque<T>` is `repr(transparent)`, so the field address is the `mlx4_dev` address.
        unsafe { &*kernel::container_of!(dev.cast::<Opaque<raw::mlx4_dev>>(), Self, mdev) }
    }

    /// Returns the kernel address of `len` bytes of host memory at DMA address `addr`.
    pub(crate) fn dma_to_virt(&self, addr: u64) -> *mut u8 {
        // SAFETY: The PCI device is valid (we are bound to it). The direct mapping translates
        // any DMA address into the linear map; the caller bounds its accesses.
        unsafe { raw::dma_addr_to_virt(&raw mut (*self.pdev).dev, addr).cast() }
    }

    /// The generic device of the PCI function.
    pub(crate) fn dma_dev(&self) -> *mut raw::device {
        // SAFETY: The PCI device is valid while the HCA exists.
        unsafe { &raw mut (*self.pdev).dev }
    }

    /// Registers the devlink instance and port, then the `mlx4_core.ib.N` auxiliary device,
    /// which binds mlx4_ib when it is loaded.
    pub(crate) fn publish(&self) -> Result {
        let empty = self.state.lock().census();
        *self.empty.lock() = empty;
        // SAFETY: The PCI device is valid; the devlink instance has no private data.
        let devlink = unsafe { raw::devlink_alloc_plain(self.dma_dev()) };
        if devlink.is_null() {
            return Err(ENOMEM);
        }
        self.devlink.store(devlink, Ordering::Release);
        // SAFETY: `attrs` is plain data; `dl_port` is pinned in the HCA and registered once.
        let ret = unsafe {
            let mut attrs: raw::devlink_port_attrs = core::mem::zeroed();
            attrs.flavour = raw::devlink_port_flavour_DEVLINK_PORT_FLAVOUR_PHYSICAL;
            attrs.__bindgen_anon_1.phys.port_number = 1;
            raw::devlink_port_attrs_set(self.dl_port.get(), &mut attrs);
            raw::devlink_port_register_with_ops(devlink, self.dl_port.get(), 1, ptr::null())
        };
        if ret != 0 {
            // SAFETY: Allocated above, not registered.
            unsafe { raw::devlink_free(devlink) };
            self.devlink.store(ptr::null_mut(), Ordering::Release);
            return Err(Error::from_errno(ret));
        }
        // SAFETY: The instance is allocated and its port registered.
        unsafe { raw::devlink_register(devlink) };

        // SAFETY: A zeroed `mlx4_adev` is its C initial state (kzalloc in mlx4_core).
        let madev: *mut raw::mlx4_adev =
            unsafe { raw::kzalloc_zeroed(core::mem::size_of::<raw::mlx4_adev>()) }.cast();
        if madev.is_null() {
            self.unpublish_devlink();
            return Err(ENOMEM);
        }
        // SAFETY: `madev` is a fresh allocation; after `auxiliary_device_init` succeeds its
        // release callback owns it.
        let ret = unsafe {
            (*madev).mdev = self.mdev.get();
            (*madev).idx = self.index as c_int;
            let adev = &raw mut (*madev).adev;
            (*adev).name = c_str!("ib").as_char_ptr();
            (*adev).id = self.index;
            (*adev).dev.parent = self.dma_dev();
            (*adev).dev.release = Some(adev_release);
            let ret = raw::auxiliary_device_init(adev);
            if ret != 0 {
                raw::kfree(madev.cast());
                ret
            } else {
                let ret = raw::__auxiliary_device_add(adev, c_str!("mlx4_core").as_char_ptr());
                if ret != 0 {
                    raw::auxiliary_device_put(adev);
                }
                ret
            }
        };
        if ret != 0 {
            self.unpublish_devlink();
            return Err(Error::from_errno(ret));
        }
        self.adev.store(madev, Ordering::Release);
        Ok(())
    }

    fn unpublish_devlink(&self) {
        let devlink = self.devlink.swap(ptr::null_mut(), Ordering::AcqRel);
        if !devlink.is_null() {
            // SAFETY: Registered by `publish`, in reverse order.
            unsafe {
                raw::devlink_unregister(devlink);
                raw::devlink_port_unregister(self.dl_port.get());
                raw::devlink_free(devlink);
            }
        }
    }

    /// Removes the auxiliary device (unbinding mlx4_ib) and the devlink instance.
    pub(crate) fn unpublish(&self) {
        let madev = self.adev.swap(ptr::null_mut(), Ordering::AcqRel);
        if !madev.is_null() {
            // SAFETY: Added by `publish`; deleting unbinds the driver, putting frees it.
            unsafe {
                raw::auxiliary_device_del(&raw mut (*madev).adev);
                raw::auxiliary_device_put(&raw mut (*madev).adev);
            }
            // The driver is gone: whatever it allocated and did not free is a leak (kmemleak
            // cannot see these; they are firmware tables).
            let after = self.state.lock().census();
            let before = *self.empty.lock();
            if after != before {
                violation(
                    self,
                    format_args!(
                        "objects left after the driver unbound: {} (before: {})",
                        after, before
                    ),
                );
            }
        }
        self.unpublish_devlink();
    }

    /// Calls the event notifier chain (what mlx4_core's EQ handler does for port events).
    pub(crate) fn notify(&self, event: u32, param: *mut c_void) {
        // SAFETY: The head was initialised in `new`; the chain's callbacks accept these
        // (event, param) pairs (`mlx4_dispatch_event`).
        unsafe { raw::atomic_notifier_call_chain(self.events.get(), event as _, param) };
    }

    /// Queues a port event (PORT_UP/DOWN: `eqe` unused; PORT_MGMT_CHANGE: its EQE) for the
    /// engine to raise, as the firmware posts it to its EQ.
    fn queue_event(&self, event: u32, eqe: raw::mlx4_eqe) {
        let overflow = {
            let mut s = self.state.lock();
            let n = s.nport_events;
            if n < MAX_PORT_EVENTS {
                s.port_events[n] = (event, eqe);
                s.nport_events = n + 1;
            }
            n == MAX_PORT_EVENTS
        };
        if overflow {
            // The hardware's EQ would overrun too; the driver did not read events for long.
            pr_warn!("HCA {}: port event {} lost (EQ full)\n", self.index, event);
        }
    }

    /// Brings the port's physical link up or down, raising PORT_DOWN if it was Active.
    pub(crate) fn set_link(&self, up: bool) {
        let was_active = {
            let mut s = self.state.lock();
            let was = s.port.state == sma::LinkState::Active;
            s.port.set_link(up);
            was && s.port.state != sma::LinkState::Active
        };
        if was_active {
            self.queue_event(
                raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_DOWN,
                raw::mlx4_eqe::default(),
            );
        }
    }

    /// Executes a firmware command with a mailbox (`__mlx4_cmd`).
    pub(crate) fn command(
        &self,
        inbox: *mut u8,
        outbox: *mut u8,
        in_mod: u32,
        op_mod: u8,
        opcode: u16,
    ) -> Result {
        let _guard = self.cmd.lock();
        match opcode {
            op::MAD_IFC => {
                if inbox.is_null() || outbox.is_null() {
                    return Err(EINVAL);
                }
                let port = in_mod & 0xffff;
                if port != 1 {
                    return Err(EINVAL);
                }
                let mut inp = [0u8; sma::MAD_SIZE];
                let mut out = [0u8; sma::MAD_SIZE];
                // SAFETY: `inbox` is a mailbox of MAILBOX_SIZE bytes (the driver's DMA buffer).
                unsafe { ptr::copy_nonoverlapping(inbox, inp.as_mut_ptr(), sma::MAD_SIZE) };
                let _ = op_mod;
                let changes = {
                    let mut guard = self.state.lock();
                    let s = &mut *guard;
                    s.node.process(&mut s.port, &inp, &mut out)
                };
                // SAFETY: As above, for the out mailbox.
                unsafe { ptr::copy_nonoverlapping(out.as_ptr(), outbox, sma::MAD_SIZE) };
                self.port_changes(changes);
                Ok(())
            }
            op::SET_PORT => {
                if inbox.is_null() || in_mod & 0xff != 1 {
                    return Err(EINVAL);
                }
                if (in_mod >> 8) & 0xff != 0 {
                    // GID tables and the RoCE address table belong to Ethernet ports.
                    return Err(EINVAL);
                }
                // IB port capability mask, new layout (no MLX4_FLAG_OLD_PORT_CMDS): byte 3 is
                // "reset Q_Key violations", dword 1 the capability mask.
                // SAFETY: The inbox holds at least 8 bytes.
                let (reset, mask) = unsafe {
                    let b = core::slice::from_raw_parts(inbox, 8);
                    (
                        b[3] & 0x40 != 0,
                        u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    )
                };
                let mut s = self.state.lock();
                s.port.cap_mask = mask;
                if reset {
                    s.port.qkey_violations = 0;
                }
                Ok(())
            }
            op::SET_NODE => {
                if inbox.is_null() {
                    return Err(EINVAL);
                }
                let mut s = self.state.lock();
                // SAFETY: The inbox holds the 64-byte node description.
                unsafe { ptr::copy_nonoverlapping(inbox, s.node.desc.as_mut_ptr(), 64) };
                // Logged so that tests can see a driver passed it on (`modify_device`).
                let len = s.node.desc.iter().position(|&b| b == 0).unwrap_or(64);
                let desc = core::str::from_utf8(&s.node.desc[..len]).unwrap_or("?");
                pr_info!("HCA {}: SET_NODE \"{}\"\n", self.index, desc);
                Ok(())
            }
            op::QUERY_PORT => Err(EINVAL),
            _ => {
                pr_warn!("firmware command {:#x} not modelled\n", opcode);
                Err(EINVAL)
            }
        }
    }

    /// Raises the events a SubnSet caused, as ConnectX-3 firmware does (the model sets
    /// `MLX4_DEV_CAP_FLAG_PORT_MNG_CHG_EV`, so mlx4_ib does not snoop SMPs for them): a port
    /// management change event for PortInfo (master SM, LID, GID prefix, client
    /// reregistration) and P_Key table changes, then PORT_UP when the port becomes Active
    /// and PORT_DOWN when it stops being Active.
    fn port_changes(&self, ch: sma::Changes) {
        let mut changed_attr = 0u32;
        if ch.sm {
            changed_attr |= raw::MLX4_EQ_PORT_INFO_MSTR_SM_LID_CHANGE_MASK
                | raw::MLX4_EQ_PORT_INFO_MSTR_SM_SL_CHANGE_MASK;
        }
        if ch.lid {
            changed_attr |= raw::MLX4_EQ_PORT_INFO_LID_CHANGE_MASK;
        }
        if ch.gid {
            changed_attr |= raw::MLX4_EQ_PORT_INFO_GID_PFX_CHANGE_MASK;
        }
        if ch.client_rereg {
            changed_attr |= raw::MLX4_EQ_PORT_INFO_CLIENT_REREG_MASK;
        }
        if changed_attr != 0 {
            let (sm_lid, sm_sl, lid, prefix) = {
                let s = self.state.lock();
                (s.port.sm_lid, s.port.sm_sl, s.port.lid, s.port.gid_prefix)
            };
            let mut eqe = Self::mgmt_change_eqe(raw::MLX4_DEV_PMC_SUBTYPE_PORT_INFO);
            // A PortInfo change carries the `port_info` parameters.
            eqe.event.port_mgmt_change.params.port_info.mstr_sm_lid = sm_lid.to_be();
            eqe.event.port_mgmt_change.params.port_info.port_lid = lid.to_be();
            eqe.event.port_mgmt_change.params.port_info.changed_attr = changed_attr.to_be();
            eqe.event.port_mgmt_change.params.port_info.mstr_sm_sl = sm_sl;
            eqe.event.port_mgmt_change.params.port_info.gid_prefix = prefix.to_be();
            self.queue_event(raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_MGMT_CHANGE, eqe);
        }
        if ch.pkey {
            let mut eqe = Self::mgmt_change_eqe(raw::MLX4_DEV_PMC_SUBTYPE_PKEY_TABLE);
            // Which entries changed matters to an SR-IOV master only.
            eqe.event.port_mgmt_change.params.tbl_change_info.block_ptr = 0;
            eqe.event
                .port_mgmt_change
                .params
                .tbl_change_info
                .tbl_entries_mask = u32::MAX.to_be();
            self.queue_event(raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_MGMT_CHANGE, eqe);
        }
        if !ch.state {
            return;
        }
        let active = self.state.lock().port.state == sma::LinkState::Active;
        let ev = if active {
            raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_UP
        } else {
            raw::mlx4_dev_event_MLX4_DEV_EVENT_PORT_DOWN
        };
        self.queue_event(ev, raw::mlx4_eqe::default());
    }

    /// A port management change EQE of `subtype` for port 1 (`MLX4_EVENT_TYPE_PORT_MNG_CHG_EVENT`).
    fn mgmt_change_eqe(subtype: u32) -> raw::mlx4_eqe {
        let mut eqe = raw::mlx4_eqe {
            type_: raw::mlx4_event_MLX4_EVENT_TYPE_PORT_MNG_CHG_EVENT as u8,
            subtype: subtype as u8,
            ..Default::default()
        };
        eqe.event.port_mgmt_change.port = 1;
        eqe
    }

    /// Attaches `qpn` to the multicast group `gid` (`mlx4_qp_attach_common`): attaching twice
    /// is not an error, more than `num_qp_per_mgm` members is ENOMEM.
    pub(crate) fn mcast_attach(&self, gid: [u8; 16], qpn: u32) -> Result {
        let node = tree_node_key(
            gid,
            McGroup {
                qpns: [0; QPS_PER_MCAST_GROUP],
                n: 0,
            },
        )?;
        let mut s = self.state.lock();
        if s.mcast.get(&gid).is_none() {
            if s.mcast_groups >= MAX_MCAST_GROUPS {
                return Err(ENOMEM);
            }
            s.mcast.insert(node);
            s.mcast_groups += 1;
        }
        let g = s.mcast.get_mut(&gid).ok_or(EINVAL)?;
        if g.members().contains(&qpn) {
            return Ok(());
        }
        if g.n >= QPS_PER_MCAST_GROUP {
            return Err(ENOMEM);
        }
        g.qpns[g.n] = qpn;
        g.n += 1;
        Ok(())
    }

    /// Detaches `qpn` from `gid`; EINVAL if it was not attached (`mlx4_qp_detach_common`).
    pub(crate) fn mcast_detach(&self, gid: [u8; 16], qpn: u32) -> Result {
        let mut s = self.state.lock();
        let g = s.mcast.get_mut(&gid).ok_or(EINVAL)?;
        let j = g.members().iter().position(|&q| q == qpn).ok_or(EINVAL)?;
        g.qpns[j] = g.qpns[g.n - 1];
        g.n -= 1;
        if g.n == 0 {
            let _ = s.mcast.remove(&gid);
            s.mcast_groups -= 1;
        }
        Ok(())
    }

    /// Allocates a command mailbox in DMA memory of the HCA.
    pub(crate) fn mailbox_alloc(&self) -> Result<*mut raw::mlx4_cmd_mailbox> {
        // SAFETY: Allocating a zeroed plain-data struct.
        let mb: *mut raw::mlx4_cmd_mailbox =
            unsafe { raw::kzalloc_zeroed(core::mem::size_of::<raw::mlx4_cmd_mailbox>()) }.cast();
        if mb.is_null() {
            return Err(ENOMEM);
        }
        let mut dma: raw::dma_addr_t = 0;
        // SAFETY: The PCI device is the DMA device; `dma` receives the bus address.
        let buf = unsafe {
            raw::dma_alloc_attrs(self.dma_dev(), MAILBOX_SIZE, &mut dma, raw::GFP_KERNEL, 0)
        };
        if buf.is_null() {
            // SAFETY: Allocated above.
            unsafe { raw::kfree(mb.cast()) };
            return Err(ENOMEM);
        }
        // SAFETY: `buf` has MAILBOX_SIZE bytes; `mb` is ours.
        unsafe {
            ptr::write_bytes(buf.cast::<u8>(), 0, MAILBOX_SIZE);
            (*mb).buf = buf;
            (*mb).dma = dma;
        }
        Ok(mb)
    }

    /// Frees a mailbox from `mailbox_alloc`.
    ///
    /// # Safety
    ///
    /// `mb` must come from `mailbox_alloc` of this HCA and not be used afterwards.
    pub(crate) unsafe fn mailbox_free(&self, mb: *mut raw::mlx4_cmd_mailbox) {
        // SAFETY: Per the contract, both allocations are ours.
        unsafe {
            raw::dma_free_attrs(self.dma_dev(), MAILBOX_SIZE, (*mb).buf, (*mb).dma, 0);
            raw::kfree(mb.cast());
        }
    }
}

/// `device.release` of the auxiliary device: frees the `mlx4_adev`.
///
/// # Safety
///
/// Called by the driver core once the last reference to a device `Hca::publish` made is gone.
unsafe extern "C" fn adev_release(dev: *mut raw::device) {
    // SAFETY: The device is the `adev.dev` of a `mlx4_adev` allocated by `publish`.
    unsafe {
        let adev = kernel::container_of!(dev, raw::auxiliary_device, dev);
        let madev = kernel::container_of!(adev, raw::mlx4_adev, adev);
        raw::kfree(madev.cast_mut().cast());
    }
}

/// Reports a driver mistake the model detected where the HCA is not at hand (a CQ's
/// completion), as [`violation`] does.
pub(crate) fn violation_anywhere(what: core::fmt::Arguments<'_>) {
    violations_param::set(violations_param::get().wrapping_add(1));
    if expect_violations_param::get() != 0 {
        kernel::pr_info!("HCA ?: expected driver violation: {}\n", what);
    } else {
        kernel::pr_warn!("HCA ?: driver violation: {}\n", what);
    }
}

/// Reports a driver mistake the model detected: counted in the `violations` parameter and
/// logged as a failure (`tools/testing/vm/splats.txt`), or as expected while a negative test
/// provokes it (`expect_violations`).
pub(crate) fn violation(h: &Hca, what: core::fmt::Arguments<'_>) {
    violations_param::set(violations_param::get().wrapping_add(1));
    if expect_violations_param::get() != 0 {
        kernel::pr_info!("HCA {}: expected driver violation: {}\n", h.index, what);
    } else {
        kernel::pr_warn!("HCA {}: driver violation: {}\n", h.index, what);
    }
}
