// SPDX-License-Identifier: GPL-2.0

//! Hardware CQs, QPs and SRQs of mlx4_core feeding RDMA core objects (`struct mlx4_cq`,
//! `struct mlx4_qp`, `struct mlx4_srq`).
//!
//! C headers: [`include/linux/mlx4/cq.h`](srctree/include/linux/mlx4/cq.h),
//! [`include/linux/mlx4/qp.h`](srctree/include/linux/mlx4/qp.h),
//! [`include/linux/mlx4/srq.h`](srctree/include/linux/mlx4/srq.h).
//!
//! mlx4_core calls a CQ's `comp` and `event` and a QP's `event` from its EQ interrupt, as soon
//! as the object is allocated; these wrappers route them to the `ib_cq`/`ib_qp` the object was
//! made for: completions and SRQ events straight to the consumer's handler (hard IRQ, as the
//! C driver does), QP events through a work item (process context, as the C driver does).

use super::{Dev, QpState};
use crate::rust_bindings::raw;
use crate::rust_bindings::rdma::provider::{CqCore, QpCore, SrqCore};
use core::ptr::addr_of_mut;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

/// `MLX4_RES_USAGE_DRIVER`.
const USAGE_DRIVER: u8 = raw::mlx4_resource_usage_MLX4_RES_USAGE_DRIVER as u8;
/// `MLX4_RES_USAGE_USER_VERBS`.
const USAGE_USER: u8 = raw::mlx4_resource_usage_MLX4_RES_USAGE_USER_VERBS as u8;

/// A hardware CQ (`struct mlx4_cq`) whose completions go to an `ib_cq`.
///
/// # Invariants
///
/// `cq` was allocated by `mlx4_cq_alloc` on `dev` (freed in drop), and `ibcq` is the core CQ
/// this object is part of (it outlives the hardware CQ).
#[pin_data(PinnedDrop)]
pub(crate) struct HwCq {
    #[pin]
    cq: Opaque<raw::mlx4_cq>,
    ibcq: *mut raw::ib_cq,
    dev: *mut raw::mlx4_dev,
}

// SAFETY: The pointers are to objects that outlive `HwCq` and are shared with interrupt context
// by design; mlx4_core serialises access to the `mlx4_cq`.
unsafe impl Send for HwCq {}
// SAFETY: As above; `&HwCq` only reads the CQ number and arm sequence.
unsafe impl Sync for HwCq {}

/// What a CQ is made of, for `mlx4_cq_alloc`.
pub(crate) struct CqResources<'a> {
    /// The number of entries (a power of two).
    pub(crate) nent: u32,
    /// The translation of the CQ buffer.
    pub(crate) mtt: &'a super::Mtt,
    /// The UAR page its doorbells are rung on.
    pub(crate) uar: &'a super::Uar,
    /// The doorbell record pair (set_ci, arm) and who polls the CQ.
    pub(crate) mem: CqMem<'a>,
    /// The completion vector.
    pub(crate) vector: u32,
}

/// Who polls a CQ, and where its doorbell records are.
pub(crate) enum CqMem<'a> {
    /// The kernel: the records are in a [`Db`](super::Db) the driver polls with.
    Kernel(&'a super::Db),
    /// A process: the records are at bus address `db_dma` of its memory, and its ring at
    /// `buf_addr` of its address space. Completions are reported from mlx4_core's tasklet.
    User {
        /// The bus address of the record pair.
        db_dma: u64,
        /// The process's address of the ring.
        buf_addr: u64,
    },
}

impl HwCq {
    /// Allocates the hardware CQ for `ibcq` (`mlx4_cq_alloc`).
    pub(crate) fn new<'a>(
        dev: &'a Dev,
        res: CqResources<'a>,
        ibcq: CqCore<'a>,
    ) -> impl PinInit<Self, Error> + 'a {
        let ibcq = ibcq.as_raw();
        let mdev = dev.as_raw();
        // SAFETY: The closure initialises every field of `slot` or fails without leaving
        // anything to undo.
        unsafe {
            kernel::init::pin_init_from_closure(move |slot: *mut Self| {
                let cq = Opaque::raw_get(addr_of_mut!((*slot).cq));
                cq.write(core::mem::zeroed());
                let (db_dma, buf, user) = match res.mem {
                    CqMem::Kernel(db) => {
                        (*cq).set_ci_db = db.as_ptr();
                        (*cq).arm_db = db.as_ptr().add(1);
                        (*cq).usage = USAGE_DRIVER;
                        (db.dma(), core::ptr::null_mut(), false)
                    }
                    CqMem::User { db_dma, buf_addr } => {
                        (*cq).usage = USAGE_USER;
                        (db_dma, buf_addr as usize as *mut kernel::ffi::c_void, true)
                    }
                };
                addr_of_mut!((*slot).ibcq).write(ibcq);
                addr_of_mut!((*slot).dev).write(mdev);
                to_result(raw::mlx4_cq_alloc(
                    mdev,
                    res.nent as i32,
                    res.mtt.as_raw(),
                    res.uar.as_raw(),
                    db_dma,
                    cq,
                    res.vector,
                    0,
                    0,
                    buf,
                    user,
                ))?;
                // mlx4_core points `comp` at its tasklet queue; mlx4_ib then takes kernel
                // CQs' completions straight from the interrupt and user CQs' from the tasklet.
                if user {
                    (*cq).tasklet_ctx.comp = Some(Self::comp_callback);
                } else {
                    (*cq).comp = Some(Self::comp_callback);
                }
                (*cq).event = Some(Self::event_callback);
                Ok(())
            })
        }
    }

    /// The CQ number.
    pub(crate) fn cqn(&self) -> u32 {
        // SAFETY: `cqn` is set by `mlx4_cq_alloc` and never changes afterwards.
        unsafe { (*self.cq.get()).cqn as u32 }
    }

    /// Sets the interrupt moderation: an event after `count` completions or `period`
    /// microseconds (`mlx4_cq_modify`; may sleep).
    pub(crate) fn modify(&self, count: u16, period: u16) -> Result {
        // SAFETY: The CQ was allocated on `dev` (type invariant); the command only reads it.
        to_result(unsafe { raw::mlx4_cq_modify(self.dev, self.cq.get(), count, period) })
    }

    /// The arm sequence number mlx4_core advances on each completion event.
    pub(crate) fn arm_sn(&self) -> u32 {
        // SAFETY: The field is valid; mlx4_core updates it from the interrupt, so read it once.
        unsafe { core::ptr::read_volatile(addr_of_mut!((*self.cq.get()).arm_sn)) as u32 }
    }

    /// `mlx4_cq.comp`.
    ///
    /// # Safety
    ///
    /// Called by mlx4_core only, from its EQ interrupt, for a CQ allocated by [`HwCq::new`].
    unsafe extern "C" fn comp_callback(cq: *mut raw::mlx4_cq) {
        // SAFETY: mlx4_core calls this for a CQ of `HwCq` (the only one setting it), which is
        // alive: `mlx4_cq_free` waits for the EQ interrupt before the memory goes.
        let ibcq = unsafe { (*kernel::container_of!(cq, HwCq, cq)).ibcq };
        // SAFETY: `ibcq` outlives the hardware CQ (type invariant); the core never changes
        // `comp_handler` or `cq_context` after create.
        unsafe {
            if let Some(f) = (*ibcq).comp_handler {
                f(ibcq, (*ibcq).cq_context);
            }
        }
    }

    /// `mlx4_cq.event`.
    ///
    /// # Safety
    ///
    /// As for `comp_callback`.
    unsafe extern "C" fn event_callback(cq: *mut raw::mlx4_cq, kind: raw::mlx4_event) {
        if kind != raw::mlx4_event_MLX4_EVENT_TYPE_CQ_ERROR {
            pr_warn!("mlx4_ib: unexpected event type {} on CQ\n", kind);
            return;
        }
        // SAFETY: As in `comp_callback`.
        let ibcq = unsafe { (*kernel::container_of!(cq, HwCq, cq)).ibcq };
        // SAFETY: As in `comp_callback`; an all-zero `ib_event` is valid.
        unsafe {
            if let Some(f) = (*ibcq).event_handler {
                let mut ev: raw::ib_event = core::mem::zeroed();
                ev.device = (*ibcq).device;
                ev.event = raw::ib_event_type_IB_EVENT_CQ_ERR;
                ev.element.cq = ibcq;
                f(&mut ev, (*ibcq).cq_context);
            }
        }
    }
}

#[pinned_drop]
impl PinnedDrop for HwCq {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The CQ was allocated on `dev` (type invariant); `mlx4_cq_free` waits for
        // its interrupt handlers.
        unsafe { raw::mlx4_cq_free(self.dev, self.cq.get()) };
    }
}

/// A hardware QP (`struct mlx4_qp`) whose events go to an `ib_qp`.
///
/// # Invariants
///
/// `qp` was allocated by `mlx4_qp_alloc` on `dev` (removed and freed in drop), and `ibqp` is
/// the core QP this object is part of.
#[pin_data(PinnedDrop)]
pub(crate) struct HwQp {
    #[pin]
    qp: Opaque<raw::mlx4_qp>,
    ibqp: *mut raw::ib_qp,
    dev: NonNull<raw::mlx4_dev>,
}

// SAFETY: As for `HwCq`.
unsafe impl Send for HwQp {}
// SAFETY: As for `HwCq`.
unsafe impl Sync for HwQp {}

impl HwQp {
    /// Makes QP number `qpn` known to the hardware for `ibqp` (`mlx4_qp_alloc`).
    pub(crate) fn new<'a>(
        dev: &'a Dev,
        qpn: u32,
        ibqp: QpCore<'a>,
    ) -> impl PinInit<Self, Error> + 'a {
        let ibqp = ibqp.as_raw();
        let mdev = dev.as_non_null();
        // SAFETY: As in `HwCq::new`.
        unsafe {
            kernel::init::pin_init_from_closure(move |slot: *mut Self| {
                let qp = Opaque::raw_get(addr_of_mut!((*slot).qp));
                qp.write(core::mem::zeroed());
                (*qp).event = Some(Self::event_callback);
                (*qp).usage = USAGE_DRIVER;
                addr_of_mut!((*slot).ibqp).write(ibqp);
                addr_of_mut!((*slot).dev).write(mdev);
                to_result(raw::mlx4_qp_alloc(mdev.as_ptr(), qpn as i32, qp))
            })
        }
    }

    /// The hardware QP number.
    pub(crate) fn qpn(&self) -> u32 {
        // SAFETY: `qpn` is set by `mlx4_qp_alloc` and never changes afterwards.
        unsafe { (*self.qp.get()).qpn as u32 }
    }

    /// Changes the QP's state in the hardware (`mlx4_qp_modify`): `context` is the
    /// `mlx4_qp_context` as bytes, `optpar` the optional-parameter mask.
    pub(crate) fn modify(
        &self,
        mtt: Option<&super::Mtt>,
        cur: QpState,
        new: QpState,
        context: &[u8; 248],
        optpar: u32,
        sqd_event: bool,
    ) -> Result {
        // SAFETY: `qp` is an allocated QP of `dev`, which outlives it (type invariant); the
        // context is the driver's for this QP.
        unsafe {
            super::qp_modify(
                Dev::from_raw(self.dev),
                mtt,
                cur,
                new,
                context,
                optpar,
                sqd_event,
                self.qp.get(),
            )
        }
    }

    /// Reads the QP's context from the hardware (`mlx4_qp_query`, `QUERY_QP`; may sleep).
    pub(crate) fn query(&self) -> Result<[u8; 248]> {
        // SAFETY: As in `modify`; the command only reads `qpn`.
        unsafe { super::qp_query(Dev::from_raw(self.dev), self.qp.get()) }
    }

    /// `mlx4_qp.event`.
    ///
    /// # Safety
    ///
    /// Called by mlx4_core only, from its EQ interrupt, for a QP allocated by [`HwQp::new`],
    /// holding a reference of it that this callback (or the work it queues) releases.
    unsafe extern "C" fn event_callback(qp: *mut raw::mlx4_qp, kind: raw::mlx4_event) {
        // SAFETY: mlx4_core calls this for a QP of `HwQp` with a reference held (released by
        // `mlx4_put_qp`), so the QP and its `ib_qp` stay alive until then.
        let ibqp = unsafe { (*kernel::container_of!(qp, HwQp, qp)).ibqp };
        let work = Arc::pin_init(
            pin_init!(QpEventWork {
                qp,
                ibqp,
                kind,
                work <- new_work!("mlx4_ib_qp_event"),
            }),
            GFP_ATOMIC,
        );
        match work {
            Ok(w) => {
                let _ = workqueue::system().enqueue(w);
            }
            // SAFETY: The reference mlx4_core took for the event is released.
            Err(_) => unsafe { raw::mlx4_put_qp(qp) },
        }
    }
}

#[pinned_drop]
impl PinnedDrop for HwQp {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The QP was allocated on `dev` (type invariant). `mlx4_qp_free` waits until
        // every event reference (held by queued work) is released.
        unsafe {
            raw::mlx4_qp_remove(self.dev.as_ptr(), self.qp.get());
            raw::mlx4_qp_free(self.dev.as_ptr(), self.qp.get());
        }
    }
}

/// A QP event on its way to process context, holding a reference of the `mlx4_qp`.
#[pin_data]
struct QpEventWork {
    qp: *mut raw::mlx4_qp,
    ibqp: *mut raw::ib_qp,
    kind: raw::mlx4_event,
    #[pin]
    work: Work<QpEventWork>,
}

// SAFETY: The pointers stay valid until the work has run (the `mlx4_qp` reference).
unsafe impl Send for QpEventWork {}
// SAFETY: As above.
unsafe impl Sync for QpEventWork {}

impl_has_work! {
    impl HasWork<Self> for QpEventWork { self.work }
}

impl WorkItem for QpEventWork {
    type Pointer = Arc<QpEventWork>;

    fn run(this: Arc<QpEventWork>) {
        let ev = match this.kind {
            raw::mlx4_event_MLX4_EVENT_TYPE_PATH_MIG => Some(raw::ib_event_type_IB_EVENT_PATH_MIG),
            raw::mlx4_event_MLX4_EVENT_TYPE_COMM_EST => Some(raw::ib_event_type_IB_EVENT_COMM_EST),
            raw::mlx4_event_MLX4_EVENT_TYPE_SQ_DRAINED => {
                Some(raw::ib_event_type_IB_EVENT_SQ_DRAINED)
            }
            raw::mlx4_event_MLX4_EVENT_TYPE_SRQ_QP_LAST_WQE => {
                Some(raw::ib_event_type_IB_EVENT_QP_LAST_WQE_REACHED)
            }
            raw::mlx4_event_MLX4_EVENT_TYPE_WQ_CATAS_ERROR => {
                Some(raw::ib_event_type_IB_EVENT_QP_FATAL)
            }
            raw::mlx4_event_MLX4_EVENT_TYPE_PATH_MIG_FAILED => {
                Some(raw::ib_event_type_IB_EVENT_PATH_MIG_ERR)
            }
            raw::mlx4_event_MLX4_EVENT_TYPE_WQ_INVAL_REQ_ERROR => {
                Some(raw::ib_event_type_IB_EVENT_QP_REQ_ERR)
            }
            raw::mlx4_event_MLX4_EVENT_TYPE_WQ_ACCESS_ERROR => {
                Some(raw::ib_event_type_IB_EVENT_QP_ACCESS_ERR)
            }
            k => {
                pr_warn!("mlx4_ib: unexpected event type {} on a QP\n", k);
                None
            }
        };
        let ibqp = this.ibqp;
        // SAFETY: The `mlx4_qp` reference keeps the QP (and the `ib_qp` it is part of) alive;
        // the core sets `event_handler` and `qp_context` before create. An all-zero `ib_event`
        // is valid. The reference is released last.
        unsafe {
            if let (Some(ev), Some(f)) = (ev, (*ibqp).event_handler) {
                let mut e: raw::ib_event = core::mem::zeroed();
                e.device = (*ibqp).device;
                e.event = ev;
                e.element.qp = ibqp;
                f(&mut e, (*ibqp).qp_context);
            }
            raw::mlx4_put_qp(this.qp);
        }
    }
}

/// A hardware SRQ (`struct mlx4_srq`) whose events go to an `ib_srq`.
///
/// # Invariants
///
/// `srq` was allocated by `mlx4_srq_alloc` on `dev` (freed in drop), and `ibsrq` is the core
/// SRQ this object is part of (it outlives the hardware SRQ).
#[pin_data(PinnedDrop)]
pub(crate) struct HwSrq {
    #[pin]
    srq: Opaque<raw::mlx4_srq>,
    ibsrq: *mut raw::ib_srq,
    dev: NonNull<raw::mlx4_dev>,
}

// SAFETY: As for `HwCq`.
unsafe impl Send for HwSrq {}
// SAFETY: As for `HwCq`.
unsafe impl Sync for HwSrq {}

/// What an SRQ is made of, for `mlx4_srq_alloc`.
pub(crate) struct SrqResources<'a> {
    /// The protection domain of its receive buffers.
    pub(crate) pdn: u32,
    /// The XRC domain: for a basic SRQ the first reserved one (`caps.reserved_xrcds`).
    pub(crate) xrcdn: u16,
    /// WQEs in the ring (a power of two).
    pub(crate) max: u32,
    /// Scatter entries per WQE.
    pub(crate) max_gs: u32,
    /// log2 of the WQE stride.
    pub(crate) wqe_shift: u32,
    /// The translation of the ring.
    pub(crate) mtt: &'a super::Mtt,
    /// The bus address of the doorbell record (the WQE counter), the driver's or the
    /// process's memory.
    pub(crate) db_dma: u64,
}

impl HwSrq {
    /// Allocates the hardware SRQ for `ibsrq` (`mlx4_srq_alloc`), a basic SRQ (no CQ).
    pub(crate) fn new<'a>(
        dev: &'a Dev,
        res: SrqResources<'a>,
        ibsrq: SrqCore<'a>,
    ) -> impl PinInit<Self, Error> + 'a {
        let ibsrq = ibsrq.as_raw();
        let mdev = dev.as_non_null();
        // SAFETY: As in `HwCq::new`.
        unsafe {
            kernel::init::pin_init_from_closure(move |slot: *mut Self| {
                let srq = Opaque::raw_get(addr_of_mut!((*slot).srq));
                srq.write(core::mem::zeroed());
                (*srq).max = res.max as i32;
                (*srq).max_gs = res.max_gs as i32;
                (*srq).wqe_shift = res.wqe_shift as i32;
                (*srq).event = Some(Self::event_callback);
                addr_of_mut!((*slot).ibsrq).write(ibsrq);
                addr_of_mut!((*slot).dev).write(mdev);
                to_result(raw::mlx4_srq_alloc(
                    mdev.as_ptr(),
                    res.pdn,
                    0,
                    res.xrcdn,
                    res.mtt.as_raw(),
                    res.db_dma,
                    srq,
                ))
            })
        }
    }

    /// The SRQ number.
    pub(crate) fn srqn(&self) -> u32 {
        // SAFETY: `srqn` is set by `mlx4_srq_alloc` and never changes afterwards.
        unsafe { (*self.srq.get()).srqn as u32 }
    }

    /// Arms the limit event: it fires once fewer than `limit` WQEs are posted
    /// (`mlx4_srq_arm`; may sleep).
    pub(crate) fn arm(&self, limit: u32) -> Result {
        let limit = i32::try_from(limit).map_err(|_| EINVAL)?;
        // SAFETY: The SRQ was allocated on `dev` (type invariant).
        to_result(unsafe { raw::mlx4_srq_arm(self.dev.as_ptr(), self.srq.get(), limit) })
    }

    /// Reads the armed limit back from the hardware (`mlx4_srq_query`; may sleep).
    pub(crate) fn query_limit(&self) -> Result<u32> {
        let mut limit = 0;
        // SAFETY: The SRQ was allocated on `dev` (type invariant); `limit` is a valid output.
        to_result(unsafe { raw::mlx4_srq_query(self.dev.as_ptr(), self.srq.get(), &mut limit) })?;
        Ok(limit as u32)
    }

    /// `mlx4_srq.event`.
    ///
    /// # Safety
    ///
    /// Called by mlx4_core only, from its EQ interrupt, for an SRQ allocated by
    /// [`HwSrq::new`], holding a reference that `mlx4_srq_free` waits for.
    unsafe extern "C" fn event_callback(srq: *mut raw::mlx4_srq, kind: raw::mlx4_event) {
        let ev = match kind {
            raw::mlx4_event_MLX4_EVENT_TYPE_SRQ_LIMIT => {
                raw::ib_event_type_IB_EVENT_SRQ_LIMIT_REACHED
            }
            raw::mlx4_event_MLX4_EVENT_TYPE_SRQ_CATAS_ERROR => raw::ib_event_type_IB_EVENT_SRQ_ERR,
            k => {
                // SAFETY: As below.
                let n = unsafe { (*srq).srqn };
                pr_warn!("mlx4_ib: unexpected event type {} on SRQ {:06x}\n", k, n);
                return;
            }
        };
        // SAFETY: The reference mlx4_core holds keeps the SRQ, and the `ib_srq` it is part
        // of, alive during the call.
        let ibsrq = unsafe { (*kernel::container_of!(srq, HwSrq, srq)).ibsrq };
        // SAFETY: As above; the core sets `event_handler` and `srq_context` before create and
        // never changes them. An all-zero `ib_event` is valid.
        unsafe {
            if let Some(f) = (*ibsrq).event_handler {
                let mut e: raw::ib_event = core::mem::zeroed();
                e.device = (*ibsrq).device;
                e.event = ev;
                e.element.srq = ibsrq;
                f(&mut e, (*ibsrq).srq_context);
            }
        }
    }
}

#[pinned_drop]
impl PinnedDrop for HwSrq {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The SRQ was allocated on `dev` (type invariant); `mlx4_srq_free` waits for
        // its event handlers.
        unsafe { raw::mlx4_srq_free(self.dev.as_ptr(), self.srq.get()) };
    }
}
