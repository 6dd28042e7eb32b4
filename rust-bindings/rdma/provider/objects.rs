// SPDX-License-Identifier: GPL-2.0

//! The verbs objects of a provider: the core-allocated PD, CQ, QP, SRQ and AH (the core
//! structure followed by the driver's data), the driver-allocated MR, and their operations.

use super::{
    AhAttr, Atomic, CqInitAttr, Dev, Driver, QpAttr, QpCap, QpEvent, QpHandle, QpInitAttr, QpType,
    RecvWr, SendWr, Sleepable, SrqAttr, SrqInitAttr, User, WcOut,
};
use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::raw;
use core::ops::Deref;
use kernel::prelude::*;
use kernel::types::Opaque;

/// Defines a core-allocated verbs object: its core structure followed by the driver's data.
macro_rules! core_object {
    ($(#[$meta:meta])* $name:ident, $raw:ident, $assoc:ident) => {
        $(#[$meta])*
        ///
        /// # Invariants
        ///
        /// `core` was allocated by the RDMA core with `size_ib_*` of this type, and `data` is
        /// initialised between a successful create and the destroy, the only time references
        /// to the object exist.
        #[repr(C)]
        pub(crate) struct $name<D: Driver> {
            pub(super) core: Opaque<raw::$raw>,
            pub(super) data: D::$assoc,
        }

        impl<D: Driver> Deref for $name<D> {
            type Target = D::$assoc;

            fn deref(&self) -> &D::$assoc {
                &self.data
            }
        }

        impl<D: Driver> $name<D> {
            /// Returns the raw core structure.
            pub(crate) fn as_raw(&self) -> *mut raw::$raw {
                self.core.get()
            }

            /// Returns the device the object belongs to.
            pub(crate) fn device(&self) -> &Dev<D> {
                // SAFETY: The core sets `device` before create and the device outlives its
                // objects (the core destroys them all before `ib_unregister_device` returns).
                unsafe { Dev::from_raw((*self.as_raw()).device) }
            }

            /// # Safety
            ///
            /// `ptr` is the core structure of an object of this type whose data is initialised
            /// and stays so for `'a`.
            pub(super) unsafe fn from_raw<'a>(ptr: *mut raw::$raw) -> &'a Self {
                // SAFETY: `core` is at offset 0 (the caller's guarantee for the rest).
                unsafe { &*ptr.cast::<Self>() }
            }
        }
    };
}

core_object!(
    /// A protection domain (`struct ib_pd`).
    Pd, ib_pd, Pd
);
core_object!(
    /// A completion queue (`struct ib_cq`).
    Cq, ib_cq, Cq
);
core_object!(
    /// A queue pair (`struct ib_qp`).
    Qp, ib_qp, Qp
);
core_object!(
    /// A shared receive queue (`struct ib_srq`).
    Srq, ib_srq, Srq
);
core_object!(
    /// An address handle (`struct ib_ah`).
    Ah, ib_ah, Ah
);
core_object!(
    /// The context of a process using the device (`struct ib_ucontext`).
    UContext, ib_ucontext, UContext
);
core_object!(
    /// A memory region (`struct ib_mr`); unlike the others it is allocated by the adapter
    /// (a `KBox`), as the core leaves MR allocation to the driver.
    Mr, ib_mr, Mr
);

impl<D: Driver> Cq<D> {
    /// Calls the CQ's completion handler (`ib_cq.comp_handler`).
    ///
    /// Only from the device's completion interrupt (or the tasklet standing for it), never
    /// from inside a verb, and never twice at once for one CQ (core_locking.rst).
    pub(crate) fn completion(&self) {
        let cq = self.as_raw();
        // SAFETY: `cq` is valid (type invariant); the core sets `comp_handler` and
        // `cq_context` before create and never changes them.
        unsafe {
            if let Some(f) = (*cq).comp_handler {
                f(cq, (*cq).cq_context);
            }
        }
    }

    /// Reports a CQ error (`IB_EVENT_CQ_ERR`) to the CQ's owner.
    pub(crate) fn error_event(&self) {
        let cq = self.as_raw();
        // SAFETY: As in `completion`; an all-zero `ib_event` is valid.
        unsafe {
            if let Some(f) = (*cq).event_handler {
                let mut ev: raw::ib_event = core::mem::zeroed();
                ev.device = (*cq).device;
                ev.event = raw::ib_event_type_IB_EVENT_CQ_ERR;
                ev.element.cq = cq;
                f(&mut ev, (*cq).cq_context);
            }
        }
    }

    /// The number of entries the consumer may use (`ib_cq.cqe`).
    pub(crate) fn cqe(&self) -> u32 {
        // SAFETY: The CQ is valid; `cqe` is written only by the driver's create/resize.
        u32::try_from(unsafe { (*self.as_raw()).cqe }).unwrap_or(0)
    }
}

impl<D: Driver> Qp<D> {
    /// Returns the CQ of the send queue.
    pub(crate) fn send_cq(&self) -> &Cq<D> {
        // SAFETY: The core sets `send_cq` before create (restoring it after) and holds a use
        // count on it while the QP exists, so the CQ outlives `self`.
        unsafe { Cq::from_raw((*self.as_raw()).send_cq) }
    }

    /// Returns the CQ of the receive queue.
    pub(crate) fn recv_cq(&self) -> &Cq<D> {
        // SAFETY: As in `send_cq`.
        unsafe { Cq::from_raw((*self.as_raw()).recv_cq) }
    }

    /// Returns the protection domain of the QP.
    pub(crate) fn pd(&self) -> &Pd<D> {
        // SAFETY: As in `send_cq`: the core holds a use count of the PD.
        unsafe { Pd::from_raw((*self.as_raw()).pd) }
    }

    /// Returns the shared receive queue the QP receives from, if any.
    pub(crate) fn srq(&self) -> Option<&Srq<D>> {
        // SAFETY: The core sets `srq` before create and holds a use count on it while the QP
        // exists, so the SRQ (of this device) outlives `self`.
        let srq = unsafe { (*self.as_raw()).srq };
        // SAFETY: As above; a non-NULL `srq` is an SRQ whose create succeeded.
        (!srq.is_null()).then(|| unsafe { Srq::from_raw(srq) })
    }

    /// Returns the QP number the consumer sees (`ib_qp.qp_num`: 0 and 1 for the special QPs).
    pub(crate) fn qp_num(&self) -> u32 {
        // SAFETY: The QP is valid; `qp_num` is only written during create.
        unsafe { (*self.as_raw()).qp_num }
    }

    /// Returns the QP's type.
    pub(crate) fn qp_type(&self) -> QpType {
        // SAFETY: The QP is valid; the core sets `qp_type` before create.
        QpType::from_raw(unsafe { (*self.as_raw()).qp_type })
    }

    /// Returns the handle completions of this QP carry (`ib_wc.qp`).
    pub(crate) fn handle(&self) -> QpHandle {
        QpHandle::new(self.as_raw())
    }

    /// Reports an asynchronous event to the QP's owner (`ib_qp.event_handler`).
    ///
    /// Process context only: the C drivers also deliver QP events from a workqueue.
    pub(crate) fn event(&self, event: QpEvent, _cx: &Sleepable<'_>) {
        let qp = self.as_raw();
        // SAFETY: The QP is valid; the core sets `event_handler` and `qp_context` before
        // create. An all-zero `ib_event` is valid.
        unsafe {
            if let Some(f) = (*qp).event_handler {
                let mut ev: raw::ib_event = core::mem::zeroed();
                ev.device = (*qp).device;
                ev.event = event.to_raw();
                ev.element.qp = qp;
                f(&mut ev, (*qp).qp_context);
            }
        }
    }
}

impl<D: Driver> Srq<D> {
    /// Returns the protection domain of the SRQ.
    pub(crate) fn pd(&self) -> &Pd<D> {
        // SAFETY: The core sets `pd` before create and holds a use count of it.
        unsafe { Pd::from_raw((*self.as_raw()).pd) }
    }
}

impl<D: Driver> Ah<D> {
    /// Returns the protection domain of the AH.
    pub(crate) fn pd(&self) -> &Pd<D> {
        // SAFETY: The core sets `pd` before create and holds a use count of it.
        unsafe { Pd::from_raw((*self.as_raw()).pd) }
    }
}

/// The core part of a CQ during its create: the driver data does not exist yet.
pub(crate) struct CqCore<'a>(pub(super) &'a Opaque<raw::ib_cq>);

impl CqCore<'_> {
    /// Sets the number of usable entries reported to the consumer (`ib_cq.cqe`).
    pub(crate) fn set_cqe(&self, n: u32) {
        // SAFETY: The CQ is being created by the driver, which owns `cqe` now.
        unsafe { (*self.0.get()).cqe = n as i32 };
    }

    /// Returns the raw CQ, for the hardware CQ that reports to it.
    pub(crate) fn as_raw(&self) -> *mut raw::ib_cq {
        self.0.get()
    }
}

/// The core part of a QP during its create.
pub(crate) struct QpCore<'a>(pub(super) &'a Opaque<raw::ib_qp>);

impl QpCore<'_> {
    /// Sets the QP number the consumer sees (0 and 1 for the special QPs).
    pub(crate) fn set_qp_num(&self, n: u32) {
        // SAFETY: The QP is being created by the driver, which owns `qp_num` now.
        unsafe { (*self.0.get()).qp_num = n };
    }

    /// Returns the raw QP, for the hardware QP that reports to it.
    pub(crate) fn as_raw(&self) -> *mut raw::ib_qp {
        self.0.get()
    }

    /// Returns the handle completions of this QP carry.
    pub(crate) fn handle(&self) -> QpHandle {
        QpHandle::new(self.0.get())
    }
}

/// The core part of an SRQ during its create.
pub(crate) struct SrqCore<'a>(pub(super) &'a Opaque<raw::ib_srq>);

impl SrqCore<'_> {
    /// Returns the raw SRQ, for the hardware SRQ that reports to it.
    pub(crate) fn as_raw(&self) -> *mut raw::ib_srq {
        self.0.get()
    }
}

/// The core part of an MR during its creation: the driver sets the keys.
pub(crate) struct MrCore<'a>(pub(super) &'a mut raw::ib_mr);

impl MrCore<'_> {
    /// Sets the local and remote keys.
    pub(crate) fn set_keys(&mut self, lkey: u32, rkey: u32) {
        self.0.lkey = lkey;
        self.0.rkey = rkey;
    }

    /// Sets the page size the region is mapped with (`ib_mr.page_size`).
    pub(crate) fn set_page_size(&mut self, size: u32) {
        self.0.page_size = size;
    }
}

/// The operations of a protection domain.
pub(crate) trait PdOps<D: Driver>: Sized + Send + Sync {
    /// Allocates a PD (`alloc_pd`), for a process if `user` is set.
    fn alloc<'a>(
        dev: &'a Dev<D>,
        user: Option<&'a User<'a, D>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Releases the PD's resources (`dealloc_pd`); the data is dropped afterwards.
    fn dealloc(_pd: &Pd<D>, _cx: &Sleepable<'_>) {}
}

/// Notification requests of `req_notify_cq`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NotifyFlags {
    /// `IB_CQ_SOLICITED`: only solicited completions (else the next completion).
    pub(crate) solicited: bool,
    /// `IB_CQ_REPORT_MISSED_EVENTS`: report completions already in the CQ.
    pub(crate) report_missed: bool,
}

/// The operations of a completion queue.
pub(crate) trait CqOps<D: Driver>: Sized + Send + Sync {
    /// Creates a CQ (`create_cq`), for a process if `user` is set; must call `cq.set_cqe`.
    fn create<'a>(
        dev: &'a Dev<D>,
        cq: CqCore<'a>,
        attr: &CqInitAttr,
        user: Option<&'a User<'a, D>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Stops the hardware of the CQ (`destroy_cq`); the data is dropped afterwards.
    fn destroy(_cq: &Cq<D>, _cx: &Sleepable<'_>) {}

    /// Fills `wc` from the CQ; returns how many entries were filled (`poll_cq`).
    fn poll(cq: &Cq<D>, wc: &mut [WcOut], cx: &Atomic<'_>) -> Result<usize>;

    /// Arms the CQ; returns whether completions may have been missed (`req_notify_cq`).
    fn req_notify(cq: &Cq<D>, flags: NotifyFlags, cx: &Atomic<'_>) -> Result<bool>;

    /// Sets the interrupt moderation (`modify_cq`).
    fn modify(_cq: &Cq<D>, _count: u16, _period: u16, _cx: &Sleepable<'_>) -> Result {
        Err(EOPNOTSUPP())
    }
}

/// The operations of a queue pair.
pub(crate) trait QpOps<D: Driver>: Sized + Send + Sync {
    /// Creates a QP (`create_qp`), for a process if `user` is set: must call
    /// `qp.set_qp_num` and write the actual capabilities back into `attr`.
    fn create<'a>(
        pd: &'a Pd<D>,
        qp: QpCore<'a>,
        attr: &'a mut QpInitAttr<'a, D>,
        user: Option<&'a User<'a, D>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Takes the QP out of the hardware (`destroy_qp`); the data is dropped afterwards.
    fn destroy(_qp: &Qp<D>, _cx: &Sleepable<'_>) {}

    /// Modifies the QP (`modify_qp`); `mask` is the `IB_QP_*` attribute mask.
    fn modify(qp: &Qp<D>, attr: &QpAttr, mask: u32, cx: &Sleepable<'_>) -> Result;

    /// Queries the QP (`query_qp`).
    fn query(
        qp: &Qp<D>,
        mask: u32,
        attr: &mut QpAttr,
        cap: &mut QpCap,
        cx: &Sleepable<'_>,
    ) -> Result;

    /// Posts send work requests; on error returns how many were posted before the failing one.
    fn post_send(
        qp: &Qp<D>,
        wrs: &mut dyn Iterator<Item = SendWr<'_, D>>,
        cx: &Atomic<'_>,
    ) -> core::result::Result<(), (usize, Error)>;

    /// Posts receive work requests; on error returns how many were posted before the failing
    /// one.
    fn post_recv(
        qp: &Qp<D>,
        wrs: &mut dyn Iterator<Item = RecvWr<'_>>,
        cx: &Atomic<'_>,
    ) -> core::result::Result<(), (usize, Error)>;

    /// Attaches the QP to a multicast group (`attach_mcast`).
    fn attach_mcast(qp: &Qp<D>, gid: &[u8; 16], lid: u16, cx: &Sleepable<'_>) -> Result;

    /// Detaches the QP from a multicast group (`detach_mcast`).
    fn detach_mcast(qp: &Qp<D>, gid: &[u8; 16], lid: u16, cx: &Sleepable<'_>) -> Result;
}

/// The operations of a shared receive queue.
pub(crate) trait SrqOps<D: Driver>: Sized + Send + Sync {
    /// Creates an SRQ (`create_srq`), for a process if `user` is set: must write the actual
    /// `max_wr` and `max_sge` back into `attr`.
    fn create<'a>(
        pd: &'a Pd<D>,
        srq: SrqCore<'a>,
        attr: &mut SrqInitAttr,
        user: Option<&'a User<'a, D>>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Takes the SRQ out of the hardware (`destroy_srq`); the data is dropped afterwards.
    fn destroy(_srq: &Srq<D>, _cx: &Sleepable<'_>) {}

    /// Resizes or arms the SRQ (`modify_srq`); `mask` holds [`SRQ_MAX_WR`] and [`SRQ_LIMIT`].
    fn modify(srq: &Srq<D>, attr: &SrqAttr, mask: u32, cx: &Sleepable<'_>) -> Result;

    /// Reports the SRQ's size and limit (`query_srq`).
    fn query(srq: &Srq<D>, cx: &Sleepable<'_>) -> Result<SrqAttr>;

    /// Posts receive work requests; on error returns how many were posted before the failing
    /// one (`post_srq_recv`).
    fn post_recv(
        srq: &Srq<D>,
        wrs: &mut dyn Iterator<Item = RecvWr<'_>>,
        cx: &Atomic<'_>,
    ) -> core::result::Result<(), (usize, Error)>;
}

/// The operations of an address handle; all in any context (ib_cm and ipoib create and destroy
/// AHs under spinlocks), so dropping the data must not sleep either.
pub(crate) trait AhOps<D: Driver>: Sized + Send + Sync {
    /// Creates an AH (`create_ah`).
    fn create<'a>(
        pd: &'a Pd<D>,
        attr: &'a AhAttr,
        cx: &'a Atomic<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Reads back the AH's attributes (`query_ah`).
    fn query(ah: &Ah<D>, attr: &mut AhAttr, cx: &Atomic<'_>) -> Result;
}

/// The user memory a `reg_user_mr` names.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserRegion {
    /// The process's address of the first byte.
    pub(crate) start: u64,
    /// The length in bytes.
    pub(crate) length: u64,
    /// The address the device sees for `start` (the IOVA).
    pub(crate) virt: u64,
    /// The `IB_ACCESS_*` rights.
    pub(crate) access: u32,
}

/// The operations of a memory region.
pub(crate) trait MrOps<D: Driver>: Sized + Send + Sync {
    /// Registers all of memory for DMA (`get_dma_mr`); must set the keys.
    fn get_dma_mr<'a>(
        pd: &'a Pd<D>,
        mr: &mut MrCore<'_>,
        access: u32,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Registers `length` bytes of the process's memory at `start`, seen by the device at
    /// `virt` (`reg_user_mr`); must set the keys.
    fn reg_user<'a>(
        pd: &'a Pd<D>,
        mr: &mut MrCore<'_>,
        region: UserRegion,
        user: &'a User<'a, D>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Deregisters the MR (`dereg_mr`); on error the MR stays registered and usable.
    fn dereg(mr: &Mr<D>, cx: &Sleepable<'_>) -> Result;
}
