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
mod objects;
mod ucontext;
mod udata;
mod umem;
mod wr;

pub(crate) use attrs::{
    device_cap, kernel_cap, DeviceAttr, MadIn, MadOut, MadResult, MadWc, PortAttr, PortImmutable,
    PortModify, PortState, SrqAttr, SrqInitAttr, SrqType, ATOMIC_HCA, ATOMIC_NONE,
    CORE_PORT_IBA_IB, DRIVER_MLX4, MGMT_MAD_SIZE, SRQ_LIMIT, SRQ_MAX_WR,
};
pub(crate) use objects::{
    Ah, AhOps, Cq, CqCore, CqOps, Mr, MrCore, MrOps, NotifyFlags, Pd, PdOps, Qp, QpCore, QpOps,
    Srq, SrqCore, SrqOps, UContext, UserRegion,
};
pub(crate) use ucontext::{IoCaching, UContextOps, User, UserMap};
pub(crate) use udata::UData;
pub(crate) use umem::{user_range_writable, DmaSeg, Umem, ACCESS_LOCAL_WRITE};
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
    /// Shared receive queues.
    type Srq: SrqOps<Self>;
    /// Address handles.
    type Ah: AhOps<Self>;
    /// Memory regions.
    type Mr: MrOps<Self>;
    /// User contexts.
    type UContext: UContextOps<Self>;

    /// Reports the device's attributes (`query_device`). Also runs inside registration.
    /// `uhw` is the extended query's driver data: none from the kernel, and empty at
    /// registration.
    fn query_device(
        dev: &Dev<Self>,
        attr: &mut DeviceAttr,
        uhw: Option<&UData<'_>>,
        cx: &Sleepable<'_>,
    ) -> Result;

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
