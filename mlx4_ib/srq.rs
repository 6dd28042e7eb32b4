// SPDX-License-Identifier: GPL-2.0

//! Shared receive queues (C: drivers/infiniband/hw/mlx4/srq.c): create, arm, query, post,
//! destroy; the completions of the QPs on an SRQ give its WQEs back through [`SrqQueue`].

use crate::device::Mlx4Ib;
use crate::hw::abi::CreateQueue;
use crate::hw::srq::{self as hwsrq, SrqLayout, NEXT_SEG};
use crate::hw::wqe::Data;
use crate::qp::{hw_err, zeroed_vec};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::mlx4::{self, Db, HwSrq, Mtt, QueueBuf, SrqResources, UserBuf};
use crate::rust_bindings::rdma::provider::{
    Atomic, Pd, RecvWr, Sleepable, Srq, SrqAttr, SrqCore, SrqInitAttr, SrqOps, SrqType, Umem, User,
    SRQ_LIMIT, SRQ_MAX_WR,
};
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use crate::ucontext::UserDb;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The largest SRQ WQE posted here: 16 + 31 scatter entries of 16 bytes fit, and a
/// ConnectX-3 allows 31 (`caps.max_srq_sge`, `max_rq_sg - 1`).
const MAX_DESC: usize = 512;

/// The free list and the identifiers of posted requests (`head`, `tail`, `wqe_ctr`, `wrid`).
struct SrqRing {
    /// The WQE the next request goes into.
    head: u32,
    /// The last free WQE: completed WQEs are linked after it.
    tail: u32,
    /// Requests posted so far (the doorbell record's 16-bit counter).
    wqe_ctr: u16,
    wrid: KVec<u64>,
}

/// The ring of an SRQ, shared with the completions of its QPs (which may outlive the
/// `ib_srq`'s driver data by the time their CQs are cleaned).
#[pin_data]
pub(crate) struct SrqQueue {
    ring: QueueBuf,
    db: Db,
    layout: SrqLayout,
    #[pin]
    st: SpinLockIrq<SrqRing>,
}

impl SrqQueue {
    /// Links free WQE `index` after the tail (`mlx4_ib_free_srq_wqe`).
    fn free_locked(&self, st: &mut SrqRing, index: u16) {
        let off = self.layout.offset(st.tail) + hwsrq::next_link_offset();
        let _ = self.ring.buf().write_bytes(off, &hwsrq::next_link(index));
        st.tail = u32::from(index) & (self.layout.max - 1);
    }

    /// Completes WQE `index` of a receive completion: returns its `wr_id` and frees it.
    pub(crate) fn complete(&self, index: u16) -> u64 {
        let mut st = self.st.lock();
        let id = st.wrid.get(usize::from(index)).copied().unwrap_or(0);
        self.free_locked(&mut st, index);
        id
    }

    /// Frees WQE `index` of a completion that is dropped (a QP's CQ being cleaned).
    pub(crate) fn free(&self, index: u16) {
        let mut st = self.st.lock();
        self.free_locked(&mut st, index);
    }
}

/// Where an SRQ's ring is.
enum SrqMemory {
    /// A kernel consumer's, which the driver posts to.
    Kernel(Arc<SrqQueue>),
    /// A process's, which libmlx4 posts to.
    User { ring: UserBuf, _db: UserDb },
}

/// An SRQ (`struct mlx4_ib_srq`).
#[pin_data]
pub(crate) struct Mlx4Srq {
    /// Declared first so it is dropped first: the hardware SRQ goes before its ring.
    #[pin]
    hw: HwSrq,
    mem: SrqMemory,
    layout: SrqLayout,
}

impl Mlx4Srq {
    /// The SRQ number, for the QP contexts of its QPs.
    pub(crate) fn srqn(&self) -> u32 {
        self.hw.srqn()
    }

    /// The ring of a kernel SRQ, for the QPs receiving from it.
    pub(crate) fn queue(&self) -> Option<Arc<SrqQueue>> {
        match &self.mem {
            SrqMemory::Kernel(q) => Some(q.clone()),
            SrqMemory::User { .. } => None,
        }
    }

    /// The kernel SRQ's ring, or `EINVAL` for a process's SRQ.
    fn kernel(&self) -> Result<&Arc<SrqQueue>> {
        match &self.mem {
            SrqMemory::Kernel(q) => Ok(q),
            SrqMemory::User { .. } => Err(EINVAL),
        }
    }

    fn mtt_of(mem: &SrqMemory) -> &Mtt {
        match mem {
            SrqMemory::Kernel(q) => q.ring.mtt(),
            SrqMemory::User { ring, .. } => ring.mtt(),
        }
    }

    fn db_dma_of(mem: &SrqMemory) -> u64 {
        match mem {
            SrqMemory::Kernel(q) => q.db.dma(),
            SrqMemory::User { _db, .. } => _db.dma(),
        }
    }

    /// Sets up a kernel SRQ's ring: every WQE free, linked to the next, with no valid
    /// scatter entry, and the doorbell record at 0.
    fn kernel_queue(dev: &mlx4::Dev, l: SrqLayout) -> Result<Arc<SrqQueue>> {
        let db = Db::new(dev, 0)?;
        db.write(0, 0)?;
        let ring = QueueBuf::new(dev, l.buf_size())?;
        let mut wqe = KVec::with_capacity(l.desc_size(), GFP_KERNEL)?;
        wqe.extend_from_slice(&[0u8; NEXT_SEG], GFP_KERNEL)?;
        while wqe.len() < l.desc_size() {
            wqe.push(0, GFP_KERNEL)?;
        }
        for n in 0..l.max {
            hwsrq::init_wqe(&mut wqe, n, &l);
            ring.buf().write_bytes(l.offset(n), &wqe)?;
        }
        let wrid = zeroed_vec(l.max as usize)?;
        Arc::pin_init(
            try_pin_init!(SrqQueue {
                ring,
                db,
                layout: l,
                st <- new_spinlock_irq!(
                    SrqRing {
                        head: 0,
                        tail: l.max - 1,
                        wqe_ctr: 0,
                        wrid,
                    },
                    "mlx4_ib_srq"
                ),
            }? Error),
            GFP_KERNEL,
        )
    }
}

impl SrqOps<Mlx4Ib> for Mlx4Srq {
    fn create<'a>(
        pd: &'a Pd<Mlx4Ib>,
        core: SrqCore<'a>,
        attr: &mut SrqInitAttr,
        user: Option<&'a User<'a, Mlx4Ib>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a> {
        // The device offers no XRC (`IB_DEVICE_XRC`) and no tag matching.
        if attr.srq_type != SrqType::Basic {
            return Err(EOPNOTSUPP());
        }
        let dev = pd.device();
        let c = &dev.caps;
        let l = SrqLayout::new(attr.max_wr, attr.max_sge, c.max_srq_wqes, c.max_srq_sge)
            .map_err(hw_err)?;
        if l.desc_size() > MAX_DESC {
            return Err(EINVAL);
        }
        let mdev = dev.mdev();
        let mem = match user {
            None => SrqMemory::Kernel(Self::kernel_queue(mdev, l)?),
            Some(u) => {
                let req = CreateQueue::parse(&u.udata.copy_in(cx)?);
                let umem = Umem::get(dev, req.buf_addr, l.buf_size(), 0, cx)?;
                SrqMemory::User {
                    ring: UserBuf::with_page_entries(mdev, umem)?,
                    _db: u.ctx.map_db(dev, req.db_addr, cx)?,
                }
            }
        };
        attr.max_wr = l.max_wr();
        let pdn = pd.pdn();
        let xrcdn = c.reserved_xrcds as u16;
        Ok(try_pin_init!(Self {
            mem,
            layout: l,
            // Last, as it makes the SRQ live; its ring is in place.
            hw <- HwSrq::new(
                mdev,
                SrqResources {
                    pdn,
                    xrcdn,
                    max: l.max,
                    max_gs: l.max_gs,
                    wqe_shift: l.wqe_shift,
                    mtt: Self::mtt_of(mem),
                    db_dma: Self::db_dma_of(mem),
                },
                core,
            ),
        }? Error)
        .pin_chain(move |this| match user {
            // The SRQ number only (`sizeof(__u32)`), as C.
            Some(u) => u.udata.respond(&this.srqn(), cx),
            None => Ok(()),
        }))
    }

    fn modify(srq: &Srq<Mlx4Ib>, attr: &SrqAttr, mask: u32, _cx: &Sleepable<'_>) -> Result {
        // Resizing is not supported, as in C.
        if mask & SRQ_MAX_WR != 0 {
            return Err(EINVAL);
        }
        if mask & SRQ_LIMIT != 0 {
            if attr.srq_limit >= srq.layout.max {
                return Err(EINVAL);
            }
            srq.hw.arm(attr.srq_limit)?;
        }
        Ok(())
    }

    fn query(srq: &Srq<Mlx4Ib>, _cx: &Sleepable<'_>) -> Result<SrqAttr> {
        let l = &srq.layout;
        Ok(SrqAttr {
            max_wr: l.max_wr(),
            max_sge: l.max_gs,
            srq_limit: srq.hw.query_limit()?,
        })
    }

    fn post_recv(
        srq: &Srq<Mlx4Ib>,
        wrs: &mut dyn Iterator<Item = RecvWr<'_>>,
        _cx: &Atomic<'_>,
    ) -> core::result::Result<(), (usize, Error)> {
        // A process posts to its SRQs in its own memory (libmlx4), not through the kernel.
        let q = match srq.kernel() {
            Ok(q) => q,
            Err(e) => return Err((0, e)),
        };
        let l = &q.layout;
        let mut st = q.st.lock();
        let mut nreq = 0usize;
        let mut err = None;
        let mut scat = [0u8; MAX_DESC - NEXT_SEG];
        let scat = &mut scat[..l.desc_size() - NEXT_SEG];
        for wr in wrs {
            let sg = wr.sges();
            if sg.len() > l.max_gs as usize {
                err = Some(EINVAL);
                break;
            }
            if st.head == st.tail {
                err = Some(ENOMEM);
                break;
            }
            let head = st.head;
            st.wrid[head as usize] = wr.wr_id();
            let off = l.offset(head);
            let mut next = [0u8; 4];
            let _ = q.ring.buf().read_bytes(off, &mut next);
            st.head = u32::from(hwsrq::next_index(&next)) & (l.max - 1);
            let sges = sg.iter().map(|s| Data {
                byte_count: s.length(),
                lkey: s.lkey(),
                addr: s.addr(),
            });
            let len = hwsrq::write_scatter(scat, sges, l.max_gs);
            let _ = q.ring.buf().write_bytes(off + NEXT_SEG, &scat[..len]);
            nreq += 1;
        }
        if nreq > 0 {
            st.wqe_ctr = st.wqe_ctr.wrapping_add(nreq as u16);
            // The WQEs before the doorbell record.
            mlx4::barrier::wmb();
            let _ = q.db.write(0, u32::from(st.wqe_ctr));
        }
        match err {
            Some(e) => Err((nreq, e)),
            None => Ok(()),
        }
    }
}
