// SPDX-License-Identifier: GPL-2.0

//! User contexts: what a process that opened the device's uverbs file gets from the driver
//! (`struct ib_ucontext`), the `mmap` of its pages, and the user side of the object verbs.
//!
//! C headers: [`include/rdma/ib_verbs.h`](srctree/include/rdma/ib_verbs.h),
//! [`include/rdma/uverbs_ioctl.h`](srctree/include/rdma/uverbs_ioctl.h).
//!
//! The core allocates the context (`size_ib_ucontext`), as it does the other objects, and
//! destroys every object of the process before `dealloc_ucontext`; on device removal it first
//! zaps the process's mappings and calls `disassociate_ucontext`, so the process sees errors
//! rather than holding up the removal.

use super::{Dev, Driver, Sleepable, UContext, UData};
use crate::rust_bindings::raw;
use kernel::error::to_result;
use kernel::prelude::*;

/// A verb called from user space: the driver data of the call and the caller's context.
pub(crate) struct User<'a, D: Driver> {
    /// The request of the user-space provider library and the room for the response.
    pub(crate) udata: UData<'a>,
    /// The context of the calling process.
    pub(crate) ctx: &'a UContext<D>,
}

impl<'a, D: Driver> User<'a, D> {
    /// # Safety
    ///
    /// `udata` is NULL or the driver udata of a user verb on a device of `D`, in the user's
    /// system call (the context of its bundle is set and initialised).
    pub(super) unsafe fn from_raw(udata: *mut raw::ib_udata) -> Option<Self> {
        // SAFETY: The caller's guarantee.
        let u = unsafe { UData::from_raw(udata) }?;
        // SAFETY: The udata of a user verb is the `driver_udata` of its bundle, whose context
        // the core set before the driver's op runs; the context outlives the call.
        let ctx = unsafe { UContext::from_raw(raw::udata_ucontext(udata)) };
        Some(Self { udata: u, ctx })
    }
}

/// The operations of a user context.
pub(crate) trait UContextOps<D: Driver>: Sized + Send + Sync {
    /// Creates the context of a process (`alloc_ucontext`); `udata` takes its response.
    fn alloc<'a>(
        dev: &'a Dev<D>,
        udata: &'a UData<'a>,
        cx: &'a Sleepable<'a>,
    ) -> Result<impl PinInit<Self, Error> + 'a>;

    /// Releases the context's resources (`dealloc_ucontext`): every object and mapping of the
    /// process is gone. The data is dropped afterwards.
    fn dealloc(_ctx: &UContext<D>, _cx: &Sleepable<'_>) {}

    /// Maps a page of the device into the process (`mmap`), chosen by the offset.
    fn mmap(ctx: &UContext<D>, map: UserMap<'_>, cx: &Sleepable<'_>) -> Result;
}

/// How a page of I/O memory is mapped into a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IoCaching {
    /// Uncached (`pgprot_noncached`): doorbells, clock registers.
    Uncached,
    /// Write-combining (`pgprot_writecombine`): BlueFlame buffers.
    WriteCombine,
}

/// An `mmap` request of a process on the device's uverbs file.
///
/// # Invariants
///
/// `vma` is the area being mapped by the current `mmap` op call of context `ctx`.
pub(crate) struct UserMap<'a> {
    vma: &'a mut raw::vm_area_struct,
    ctx: *mut raw::ib_ucontext,
}

impl<'a> UserMap<'a> {
    /// # Safety
    ///
    /// `vma` and `ctx` are the arguments of the running `mmap` op.
    pub(super) unsafe fn new(vma: *mut raw::vm_area_struct, ctx: *mut raw::ib_ucontext) -> Self {
        // SAFETY: The caller's guarantee: the core holds the area during the op.
        let vma = unsafe { &mut *vma };
        Self { vma, ctx }
    }

    /// The page offset the process asked for (`vm_pgoff`).
    pub(crate) fn pgoff(&self) -> u64 {
        // SAFETY: The area is valid (type invariant).
        unsafe { raw::vma_pgoff(self.vma) as u64 }
    }

    /// Maps the page of I/O memory at frame `pfn` (`rdma_user_mmap_io`, one page: `EINVAL`
    /// unless the area is exactly one shared page). The mapping is zapped by the core when the
    /// device goes away.
    ///
    /// # Safety
    ///
    /// `pfn` is a page of the device's I/O space that this context may use (its own UAR
    /// page, say): the process gets access to whatever it controls.
    pub(crate) unsafe fn map_io_page(self, pfn: u64, caching: IoCaching) -> Result {
        let pfn = usize::try_from(pfn).map_err(|_| EINVAL)?;
        // SAFETY: `vma` and `ctx` are those of this op (type invariant); the page is the
        // caller's to give.
        to_result(unsafe {
            raw::user_mmap_io_page(self.ctx, self.vma, pfn, caching == IoCaching::WriteCombine)
        })
    }
}
