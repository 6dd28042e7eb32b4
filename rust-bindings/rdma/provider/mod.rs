// SPDX-License-Identifier: GPL-2.0

//! The provider side of the RDMA core: an `ib_device` driven by a Rust driver.
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`Documentation/infiniband/core_locking.rst`](srctree/Documentation/infiniband/core_locking.rst).
//!
//! The consumer side (`rdma::Device`, `rdma::Cq`, …) uses devices other drivers registered; this
//! module is for the driver that registers one. The RDMA core allocates most verbs objects
//! itself (`rdma_zalloc_drv_obj`, sized by `ib_device_ops.size_ib_*`) and hands the driver a
//! zeroed core structure to fill: here each such object is a `#[repr(C)]` pair of the core
//! structure and the driver's data ([`Pd`], [`Cq`], [`Qp`], [`Ah`]), the data initialised in
//! place by the driver's `create` (pin-init) and dropped exactly once in `destroy`. Memory
//! regions are allocated by the driver ([`Mr`], a `KBox`).
//!
//! Every callback gets a context token: [`Sleepable`] for the verbs that may sleep, [`Atomic`]
//! for those that must work in any context, up to hard IRQ (`post_send`, `post_recv`,
//! `poll_cq`, `req_notify_cq` and the address-handle verbs). APIs that sleep take a
//! `&Sleepable`, so an atomic callback cannot call them.
//!
//! # Examples
//!
//! ```ignore
//! struct MyPd { pdn: u32 }
//! impl PdOps<MyDriver> for MyPd {
//!     fn alloc<'a>(dev: &'a Dev<MyDriver>, _cx: &'a Sleepable<'a>)
//!         -> Result<impl PinInit<Self, Error> + 'a> {
//!         Ok(MyPd { pdn: dev.alloc_pdn()? })
//!     }
//!     fn dealloc(pd: &Pd<MyDriver>, _cx: &Sleepable<'_>) {
//!         pd.device().free_pdn(pd.pdn);
//!     }
//! }
//! ```

mod adapter;
mod attrs;
mod wr;

pub(crate) use attrs::{
    device_cap, kernel_cap, DeviceAttr, MadIn, MadOut, MadResult, MadWc, PortAttr, PortImmutable,
    PortModify, PortState, ATOMIC_HCA, ATOMIC_NONE, CORE_PORT_IBA_IB, DRIVER_MLX4, MGMT_MAD_SIZE,
};
pub(crate) use wr::{
    wc_opcode, wc_status, AhAttr, CqInitAttr, GlobalRoute, QpAttr, QpCap, QpHandle, QpInitAttr,
    QpType, RecvWr, SendWr, UdWr, WcOpcode, WcOut, WcStatus, WrOpcode, WrSge, SEND_FENCE,
    SEND_INLINE, SEND_IP_CSUM, SEND_SIGNALED, SEND_SOLICITED, WC_GRH, WC_IP_CSUM_OK, WC_WITH_IMM,
    WC_WITH_INVALIDATE,
};

use crate::rust_bindings::error::code::EOPNOTSUPP;
use crate::rust_bindings::raw;
use crate::rust_bindings::sync::{new_spinlock_irq, SpinLockIrq};
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;
use kernel::build_error;
use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// Proof that the running callback may sleep (process context, no spinlock held by the core).
///
/// Only the adapter creates it, and it cannot leave the callback it was given to.
pub(crate) struct Sleepable<'a>(PhantomData<&'a *mut ()>);

/// Proof that the running callback must not sleep: it may run in any context, up to hard IRQ
/// with interrupts disabled.
pub(crate) struct Atomic<'a>(PhantomData<&'a *mut ()>);

impl Sleepable<'_> {
    /// # Safety
    ///
    /// The caller runs in a context that may sleep.
    unsafe fn new() -> Self {
        Self(PhantomData)
    }
}

impl Atomic<'_> {
    fn new() -> Self {
        Self(PhantomData)
    }
}

/// The link layer of a port (`enum rdma_link_layer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkLayer {
    /// InfiniBand.
    Infiniband,
    /// Ethernet (RoCE).
    Ethernet,
}

/// An asynchronous event of a device or port (`enum ib_event_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceEvent {
    /// `IB_EVENT_PORT_ACTIVE`.
    PortActive,
    /// `IB_EVENT_PORT_ERR`.
    PortErr,
    /// `IB_EVENT_LID_CHANGE`.
    LidChange,
    /// `IB_EVENT_PKEY_CHANGE`.
    PkeyChange,
    /// `IB_EVENT_SM_CHANGE`.
    SmChange,
    /// `IB_EVENT_CLIENT_REREGISTER`.
    ClientReregister,
    /// `IB_EVENT_GID_CHANGE`.
    GidChange,
    /// `IB_EVENT_DEVICE_FATAL`.
    DeviceFatal,
}

impl DeviceEvent {
    fn to_raw(self) -> raw::ib_event_type {
        match self {
            Self::PortActive => raw::ib_event_type_IB_EVENT_PORT_ACTIVE,
            Self::PortErr => raw::ib_event_type_IB_EVENT_PORT_ERR,
            Self::LidChange => raw::ib_event_type_IB_EVENT_LID_CHANGE,
            Self::PkeyChange => raw::ib_event_type_IB_EVENT_PKEY_CHANGE,
            Self::SmChange => raw::ib_event_type_IB_EVENT_SM_CHANGE,
            Self::ClientReregister => raw::ib_event_type_IB_EVENT_CLIENT_REREGISTER,
            Self::GidChange => raw::ib_event_type_IB_EVENT_GID_CHANGE,
            Self::DeviceFatal => raw::ib_event_type_IB_EVENT_DEVICE_FATAL,
        }
    }
}

/// An asynchronous event of a queue pair (`enum ib_event_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QpEvent {
    /// `IB_EVENT_COMM_EST`.
    CommEst,
    /// `IB_EVENT_SQ_DRAINED`.
    SqDrained,
    /// `IB_EVENT_PATH_MIG`.
    PathMig,
    /// `IB_EVENT_PATH_MIG_ERR`.
    PathMigErr,
    /// `IB_EVENT_QP_FATAL`.
    Fatal,
    /// `IB_EVENT_QP_REQ_ERR`.
    ReqErr,
    /// `IB_EVENT_QP_ACCESS_ERR`.
    AccessErr,
    /// `IB_EVENT_QP_LAST_WQE_REACHED`.
    LastWqeReached,
}

impl QpEvent {
    fn to_raw(self) -> raw::ib_event_type {
        match self {
            Self::CommEst => raw::ib_event_type_IB_EVENT_COMM_EST,
            Self::SqDrained => raw::ib_event_type_IB_EVENT_SQ_DRAINED,
            Self::PathMig => raw::ib_event_type_IB_EVENT_PATH_MIG,
            Self::PathMigErr => raw::ib_event_type_IB_EVENT_PATH_MIG_ERR,
            Self::Fatal => raw::ib_event_type_IB_EVENT_QP_FATAL,
            Self::ReqErr => raw::ib_event_type_IB_EVENT_QP_REQ_ERR,
            Self::AccessErr => raw::ib_event_type_IB_EVENT_QP_ACCESS_ERR,
            Self::LastWqeReached => raw::ib_event_type_IB_EVENT_QP_LAST_WQE_REACHED,
        }
    }
}

/// A sysfs attribute of the device directory that drivers commonly have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SysfsAttr {
    /// `hw_rev`: the hardware revision.
    HwRev,
    /// `hca_type`: the HCA's model.
    HcaType,
    /// `board_id`: the board's identifier.
    BoardId,
}

/// The page a sysfs attribute is shown into.
pub(crate) struct SysfsBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for SysfsBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// What a registered device is: the core's `ib_device` followed by the driver's data.
///
/// # Invariants
///
/// `core` is an `ib_device` allocated by `_ib_alloc_device` for this type, and `data` is
/// initialised, from the end of [`Registration::new`] until the registration is dropped; the
/// device only reaches the driver (callbacks, [`Registration::device`]) in that time.
#[repr(C)]
pub(crate) struct Dev<D: Driver> {
    core: Opaque<raw::ib_device>,
    data: D,
}

impl<D: Driver> Deref for Dev<D> {
    type Target = D;

    fn deref(&self) -> &D {
        &self.data
    }
}

impl<D: Driver> Dev<D> {
    /// Returns the raw `ib_device`.
    pub(crate) fn as_raw(&self) -> *mut raw::ib_device {
        self.core.get()
    }

    /// # Safety
    ///
    /// `ptr` is the `ib_device` of a `Dev<D>` whose data is initialised, and stays so for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut raw::ib_device) -> &'a Self {
        // SAFETY: `core` is at offset 0 of the `#[repr(C)]` type (the caller's guarantee).
        unsafe { &*ptr.cast::<Self>() }
    }

    /// Returns the device's name (`mlx4_0`).
    pub(crate) fn name(&self) -> &CStr {
        // SAFETY: `name` is a NUL-terminated array that the core sets at registration and only
        // changes under `rdma_dev_rename`, which keeps it NUL-terminated.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Reports an asynchronous event of `port` (0 for the whole device) to the RDMA core and
    /// its clients (`ib_dispatch_event`). Any context.
    pub(crate) fn dispatch_event(&self, port: u32, event: DeviceEvent) {
        // SAFETY: An all-zero `ib_event` is valid (pointers null, integers zero).
        let mut ev: raw::ib_event = unsafe { core::mem::zeroed() };
        ev.device = self.as_raw();
        ev.event = event.to_raw();
        ev.element.port_num = port;
        // SAFETY: `ev` is a complete event of a registered device; `ib_dispatch_event` copies
        // what it keeps (GFP_ATOMIC) and may be called in any context.
        unsafe { raw::ib_dispatch_event(&ev) };
    }

    /// Returns the node description (`ib_device.node_desc`).
    pub(crate) fn node_desc(&self) -> [u8; 64] {
        let mut d = [0u8; 64];
        // SAFETY: The device is valid; `node_desc` is 64 plain bytes (see `set_node_desc`).
        unsafe {
            core::ptr::copy_nonoverlapping(
                (*self.as_raw()).node_desc.as_ptr().cast::<u8>(),
                d.as_mut_ptr(),
                64,
            )
        };
        d
    }

    /// Reads P_Key table entry `index` of `port` from the core's cache (any context).
    pub(crate) fn cached_pkey(&self, port: u32, index: u16) -> Result<u16> {
        let mut pkey = 0u16;
        // SAFETY: The device is registered (its cache exists); the lookup takes the cache's
        // IRQ-safe read lock.
        to_result(unsafe {
            raw::ib_get_cached_pkey(self.as_raw(), port, index.into(), &mut pkey)
        })?;
        Ok(pkey)
    }

    /// Reads GID table entry `index` of `port` from the core's table (any context).
    pub(crate) fn cached_gid(&self, port: u32, index: u32) -> Result<[u8; 16]> {
        // SAFETY: An all-zero GID is valid.
        let mut gid: raw::ib_gid = unsafe { core::mem::zeroed() };
        // SAFETY: As in `cached_pkey`; `rdma_query_gid` takes the table's IRQ-safe read lock.
        to_result(unsafe { raw::rdma_query_gid(self.as_raw(), port, index as i32, &mut gid) })?;
        // SAFETY: Every bit pattern of the union is a valid byte array.
        Ok(unsafe { gid.raw })
    }

    /// Sets the node description (`ib_device.node_desc`), as `modify_device` does.
    pub(crate) fn set_node_desc(&self, desc: &[u8; 64]) {
        // SAFETY: The device is valid; `node_desc` is plain bytes the core reads for sysfs and
        // NodeDescription SMPs, which C drivers also write at any time (`mlx4_ib_modify_device`).
        unsafe {
            core::ptr::copy_nonoverlapping(
                desc.as_ptr(),
                (*self.as_raw()).node_desc.as_mut_ptr().cast(),
                64,
            )
        };
    }
}

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
            core: Opaque<raw::$raw>,
            data: D::$assoc,
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
            unsafe fn from_raw<'a>(ptr: *mut raw::$raw) -> &'a Self {
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
    /// An address handle (`struct ib_ah`).
    Ah, ib_ah, Ah
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

impl<D: Driver> Ah<D> {
    /// Returns the protection domain of the AH.
    pub(crate) fn pd(&self) -> &Pd<D> {
        // SAFETY: The core sets `pd` before create and holds a use count of it.
        unsafe { Pd::from_raw((*self.as_raw()).pd) }
    }
}

/// The core part of a CQ during its create: the driver data does not exist yet.
pub(crate) struct CqCore<'a>(&'a Opaque<raw::ib_cq>);

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
pub(crate) struct QpCore<'a>(&'a Opaque<raw::ib_qp>);

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

/// The core part of an MR during its creation: the driver sets the keys.
pub(crate) struct MrCore<'a>(&'a mut raw::ib_mr);

impl MrCore<'_> {
    /// Sets the local and remote keys.
    pub(crate) fn set_keys(&mut self, lkey: u32, rkey: u32) {
        self.0.lkey = lkey;
        self.0.rkey = rkey;
    }
}

/// The operations of a protection domain.
pub(crate) trait PdOps<D: Driver>: Sized + Send + Sync {
    /// Allocates a PD (`alloc_pd`).
    fn alloc<'a>(dev: &'a Dev<D>, cx: &'a Sleepable<'a>) -> Result<impl PinInit<Self, Error> + 'a>;

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
    /// Creates a CQ for a kernel consumer (`create_cq`); must call `cq.set_cqe`.
    fn create<'a>(
        dev: &'a Dev<D>,
        cq: CqCore<'a>,
        attr: &CqInitAttr,
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
    /// Creates a kernel QP (`create_qp`): must call `qp.set_qp_num` and write the actual
    /// capabilities back into `attr`.
    fn create<'a>(
        pd: &'a Pd<D>,
        qp: QpCore<'a>,
        attr: &'a mut QpInitAttr<'a, D>,
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

/// The operations of a memory region.
pub(crate) trait MrOps<D: Driver>: Sized + Send + Sync {
    /// Registers all of memory for DMA (`get_dma_mr`); must set the keys.
    fn get_dma_mr<'a>(
        pd: &'a Pd<D>,
        mr: &mut MrCore<'_>,
        access: u32,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Deregisters the MR (`dereg_mr`); on error the MR stays registered and usable.
    fn dereg(mr: &Mr<D>, cx: &Sleepable<'_>) -> Result;
}

/// A provider of an RDMA device.
#[vtable]
pub(crate) trait Driver: Sized + Send + Sync + 'static {
    /// The driver id userspace providers match (`enum rdma_driver_id`).
    const DRIVER_ID: u32;

    /// Protection domains.
    type Pd: PdOps<Self>;
    /// Completion queues.
    type Cq: CqOps<Self>;
    /// Queue pairs.
    type Qp: QpOps<Self>;
    /// Address handles.
    type Ah: AhOps<Self>;
    /// Memory regions.
    type Mr: MrOps<Self>;

    /// Reports the device's attributes (`query_device`). Also runs inside registration.
    fn query_device(dev: &Dev<Self>, attr: &mut DeviceAttr, cx: &Sleepable<'_>) -> Result;

    /// Reports a port's attributes (`query_port`). Also runs inside registration.
    fn query_port(dev: &Dev<Self>, port: u32, attr: &mut PortAttr, cx: &Sleepable<'_>) -> Result;

    /// Reports what never changes about a port (`get_port_immutable`), inside registration.
    fn port_immutable(dev: &Dev<Self>, port: u32, cx: &Sleepable<'_>) -> Result<PortImmutable>;

    /// Returns a port's link layer (`get_link_layer`); must not sleep.
    fn link_layer(dev: &Dev<Self>, port: u32) -> LinkLayer;

    /// Reads a GID table entry (`query_gid`).
    fn query_gid(dev: &Dev<Self>, port: u32, index: u32, cx: &Sleepable<'_>) -> Result<[u8; 16]>;

    /// Reads a P_Key table entry (`query_pkey`).
    fn query_pkey(dev: &Dev<Self>, port: u32, index: u16, cx: &Sleepable<'_>) -> Result<u16>;

    /// Changes the node description (`modify_device`, `IB_DEVICE_MODIFY_NODE_DESC`).
    fn modify_node_desc(_dev: &Dev<Self>, _desc: &[u8; 64], _cx: &Sleepable<'_>) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Changes port capabilities (`modify_port`).
    fn modify_port(
        _dev: &Dev<Self>,
        _port: u32,
        _modify: &PortModify,
        _cx: &Sleepable<'_>,
    ) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Writes the firmware version string (`get_dev_fw_str`) into `buf`, NUL-terminated.
    fn fw_version(_dev: &Dev<Self>, _buf: &mut [u8]) {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Shows a sysfs attribute of the device (the three of `device_group`).
    fn sysfs_show(_dev: &Dev<Self>, _which: SysfsAttr, _out: &mut SysfsBuf<'_>) -> Result {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// Processes a MAD addressed to the device (`process_mad`); returns `IB_MAD_RESULT_*` bits.
    fn process_mad(
        _dev: &Dev<Self>,
        _port: u32,
        _mad: &MadIn<'_>,
        _out: &mut MadOut<'_>,
        _cx: &Sleepable<'_>,
    ) -> MadResult {
        build_error!(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// What a device is registered with.
pub(crate) struct DeviceConfig<'a> {
    /// The name pattern (`c"mlx4_%d"`).
    pub(crate) name: &'a CStr,
    /// The number of physical ports.
    pub(crate) phys_port_cnt: u32,
    /// The number of completion vectors.
    pub(crate) num_comp_vectors: u32,
    /// The reserved lkey that covers all memory (`local_dma_lkey`), if the device has one.
    pub(crate) local_dma_lkey: Option<u32>,
    /// The node GUID, as the wire carries it (big-endian bytes).
    pub(crate) node_guid: [u8; 8],
    /// The node description.
    pub(crate) node_desc: [u8; 64],
    /// The uverbs ABI version of the driver.
    pub(crate) uverbs_abi_ver: u32,
    /// The parent device, which also does DMA (the PCI function).
    pub(crate) parent: NonNull<raw::device>,
}

/// The device a [`DevHandle`] stands for, while it is registered.
struct LiveDev(*mut raw::ib_device);

// SAFETY: The pointer is only used under the lock, while the device is registered.
unsafe impl Send for LiveDev {}

/// A handle of a registered device that may outlive its registration, for interrupt-time
/// callbacks (an HCA's event notifier): it reports events while the device is registered and
/// nothing once [`Registration`]'s drop has begun.
///
/// # Invariants
///
/// `dev` holds the device's `ib_device` from registration until the registration's drop clears
/// it, before `ib_unregister_device`.
pub(crate) struct DevHandle<D: Driver> {
    dev: Arc<SpinLockIrq<Option<LiveDev>>>,
    _d: PhantomData<D>,
}

impl<D: Driver> Clone for DevHandle<D> {
    fn clone(&self) -> Self {
        Self {
            dev: self.dev.clone(),
            _d: PhantomData,
        }
    }
}

impl<D: Driver> DevHandle<D> {
    /// Reports an asynchronous event of `port` if the device is still registered; any
    /// context. Returns whether it was reported.
    pub(crate) fn dispatch_event(&self, port: u32, event: DeviceEvent) -> bool {
        let g = self.dev.lock();
        match &*g {
            Some(d) => {
                // SAFETY: The device stays registered while the lock is held and the value
                // set (type invariant).
                unsafe { Dev::<D>::from_raw(d.0) }.dispatch_event(port, event);
                true
            }
            None => false,
        }
    }

    /// Calls `f` with the device if it is still registered, under a spinlock (so `f` must
    /// not sleep).
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Dev<D>) -> R) -> Option<R> {
        let g = self.dev.lock();
        // SAFETY: As in `dispatch_event`.
        g.as_ref().map(|d| f(unsafe { Dev::<D>::from_raw(d.0) }))
    }
}

/// A registered RDMA device; dropping it unregisters the device (every client and object goes
/// first), drops the driver data and frees the device.
///
/// # Invariants
///
/// `dev` is a registered device whose data is initialised; `live` holds it until drop.
pub(crate) struct Registration<D: Driver> {
    dev: NonNull<Dev<D>>,
    live: Arc<SpinLockIrq<Option<LiveDev>>>,
}

// SAFETY: The device is reachable from any thread by design; `D` is `Send + Sync`.
unsafe impl<D: Driver> Send for Registration<D> {}
// SAFETY: As above.
unsafe impl<D: Driver> Sync for Registration<D> {}

impl<D: Driver> Registration<D> {
    /// Allocates the device, initialises the driver data with `data`, and registers it
    /// (`ib_register_device`, which already calls the device's verbs and adds the clients:
    /// ib_mad, ipoib, uverbs…).
    pub(crate) fn new(
        module: &'static ThisModule,
        cfg: &DeviceConfig<'_>,
        data: impl PinInit<D, Error>,
    ) -> Result<Self> {
        let live = Arc::pin_init(new_spinlock_irq!(None, "rdma_provider_live"), GFP_KERNEL)?;
        let size = core::mem::size_of::<Dev<D>>();
        // SAFETY: `size` covers an `ib_device` at offset 0 (`Dev` is `#[repr(C)]`).
        let ib = unsafe { raw::_ib_alloc_device(size) };
        let ib = NonNull::new(ib).ok_or(ENOMEM)?;
        let dev = ib.cast::<Dev<D>>();
        let raw = ib.as_ptr();
        // SAFETY: `raw` is a freshly allocated, zeroed device that no one else sees yet.
        unsafe {
            (*raw).node_type = raw::RDMA_NODE_IB_CA as u8;
            (*raw).phys_port_cnt = cfg.phys_port_cnt;
            (*raw).num_comp_vectors = cfg.num_comp_vectors as i32;
            (*raw).node_guid = u64::from_ne_bytes(cfg.node_guid);
            core::ptr::copy_nonoverlapping(
                cfg.node_desc.as_ptr(),
                (*raw).node_desc.as_mut_ptr().cast(),
                64,
            );
            if let Some(lkey) = cfg.local_dma_lkey {
                (*raw).local_dma_lkey = lkey;
            }
            (*raw).__bindgen_anon_1.dev.parent = cfg.parent.as_ptr();
            let mut ops = adapter::Adapter::<D>::ops();
            ops.owner = module.as_ptr().cast();
            ops.uverbs_abi_ver = cfg.uverbs_abi_ver;
            // `ib_set_device_ops` copies the table.
            raw::ib_set_device_ops(raw, &ops);
        }
        // SAFETY: `data` is inside the allocation, suitably aligned (kmalloc aligns to the
        // largest power of two dividing the size, a multiple of the alignment) and unused.
        let r = unsafe { data.__pinned_init(core::ptr::addr_of_mut!((*dev.as_ptr()).data)) };
        if let Err(e) = r {
            // SAFETY: The device was never registered; the data is not initialised.
            unsafe { raw::ib_dealloc_device(raw) };
            return Err(e);
        }
        // SAFETY: The device is complete; the parent does DMA for it.
        let r = to_result(unsafe {
            raw::ib_register_device(raw, cfg.name.as_char_ptr(), cfg.parent.as_ptr())
        });
        if let Err(e) = r {
            // SAFETY: Registration failed, so no callback runs any more: drop the data
            // initialised above, then free the device.
            unsafe {
                core::ptr::drop_in_place(core::ptr::addr_of_mut!((*dev.as_ptr()).data));
                raw::ib_dealloc_device(raw);
            }
            return Err(e);
        }
        *live.lock() = Some(LiveDev(raw));
        // INVARIANT: Registered, with the data initialised.
        Ok(Self { dev, live })
    }

    /// Returns a handle for callbacks that may run after the registration is gone.
    pub(crate) fn handle(&self) -> DevHandle<D> {
        DevHandle {
            dev: self.live.clone(),
            _d: PhantomData,
        }
    }

    /// Returns the registered device.
    pub(crate) fn device(&self) -> &Dev<D> {
        // SAFETY: The device is registered and initialised (type invariant) while `self` lives.
        unsafe { self.dev.as_ref() }
    }
}

impl<D: Driver> Drop for Registration<D> {
    fn drop(&mut self) {
        // No handle reports anything from here on (an event queued now would outlive the
        // device).
        *self.live.lock() = None;
        let dev = self.dev.as_ptr();
        // SAFETY: The device is registered (type invariant). After `ib_unregister_device`
        // returns the core calls no op any more and every object is destroyed, so the data may
        // be dropped; then the device is freed.
        unsafe {
            raw::ib_unregister_device(dev.cast());
            core::ptr::drop_in_place(core::ptr::addr_of_mut!((*dev).data));
            raw::ib_dealloc_device(dev.cast());
        }
    }
}
