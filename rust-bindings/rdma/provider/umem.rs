// SPDX-License-Identifier: GPL-2.0

//! User memory pinned and mapped for a device (`struct ib_umem`).
//!
//! C header: [`include/rdma/ib_umem.h`](srctree/include/rdma/ib_umem.h).
//!
//! A user verb hands the driver buffer addresses of the calling process (queue rings, doorbell
//! records, memory regions). `ib_umem_get` pins those pages and maps them for the device's DMA;
//! the driver gives the device the bus addresses of the segments, and the memory stays pinned
//! and mapped until the `Umem` is dropped.

use super::{Dev, Driver, Sleepable};
use crate::rust_bindings::raw;
use core::ptr::NonNull;
use kernel::error::from_err_ptr;
use kernel::prelude::*;

/// `IB_ACCESS_LOCAL_WRITE`.
pub(crate) const ACCESS_LOCAL_WRITE: u32 = raw::ib_access_flags_IB_ACCESS_LOCAL_WRITE;

/// Pinned user memory, mapped for one device.
///
/// # Invariants
///
/// `umem` was returned by a successful `ib_umem_get` and is released in drop.
pub(crate) struct Umem {
    umem: NonNull<raw::ib_umem>,
}

// SAFETY: An `ib_umem` is not tied to the thread that pinned it; `ib_umem_release` may run in
// any process context.
unsafe impl Send for Umem {}
// SAFETY: `&Umem` only reads fields set at creation.
unsafe impl Sync for Umem {}

/// One DMA-contiguous segment of a [`Umem`]: its bus address and length in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DmaSeg {
    /// The bus address.
    pub(crate) addr: u64,
    /// The length in bytes.
    pub(crate) len: u64,
}

impl Umem {
    /// Pins `size` bytes at user address `addr` of the calling process and maps them for
    /// `dev` (`ib_umem_get`); `access` holds `IB_ACCESS_*` bits (writable pages unless it is
    /// read-only). Only in the user's own system call (`cx`: it pins `current->mm`).
    pub(crate) fn get<D: Driver>(
        dev: &Dev<D>,
        addr: u64,
        size: usize,
        access: u32,
        _cx: &Sleepable<'_>,
    ) -> Result<Self> {
        let addr = usize::try_from(addr).map_err(|_| EINVAL)?;
        // SAFETY: The device is registered; `ib_umem_get` checks the range against the
        // caller's address space and limits (EINVAL, EFAULT, ENOMEM as C drivers return).
        let p = from_err_ptr(unsafe { raw::ib_umem_get(dev.as_raw(), addr, size, access as i32) })?;
        // INVARIANT: `p` is a successfully created umem.
        NonNull::new(p).map(|umem| Self { umem }).ok_or(ENOMEM)
    }

    fn raw(&self) -> &raw::ib_umem {
        // SAFETY: The umem is valid while `self` lives (type invariant).
        unsafe { self.umem.as_ref() }
    }

    /// The user address it was created for.
    pub(crate) fn address(&self) -> u64 {
        self.raw().address as u64
    }

    /// Its length in bytes.
    pub(crate) fn length(&self) -> u64 {
        self.raw().length as u64
    }

    /// The number of blocks of `1 << shift` bytes its range touches (`ib_umem_num_dma_blocks`
    /// for an umem whose IOVA is its address).
    pub(crate) fn num_blocks(&self, shift: u32) -> u64 {
        let size = 1u64 << shift;
        let start = self.address() & !(size - 1);
        let end = (self.address() + self.length()).next_multiple_of(size);
        (end - start) >> shift
    }

    /// Calls `f` with each DMA-contiguous segment, in order, until it fails.
    pub(crate) fn for_each_seg(&self, mut f: impl FnMut(DmaSeg) -> Result) -> Result {
        let mut nents = 0u32;
        // SAFETY: The umem is valid (type invariant) and its table was mapped by
        // `ib_umem_get`; the helper only reads it.
        let mut sg = unsafe { raw::umem_dma_sgl(self.umem.as_ptr(), &mut nents) };
        for _ in 0..nents {
            let (mut addr, mut len) = (0u64, 0u64);
            // SAFETY: `sg` is one of the `nents` mapped entries of the table (`sg_next`
            // follows chained tables).
            sg = unsafe { raw::sg_dma_seg(sg, &mut addr, &mut len) };
            f(DmaSeg { addr, len })?;
        }
        Ok(())
    }

    /// The bus address of the first page.
    pub(crate) fn first_page_dma(&self) -> Result<u64> {
        let mut first = None;
        let _ = self.for_each_seg(|s| {
            first = Some(s.addr);
            Err(EAGAIN)
        });
        first.ok_or(EINVAL)
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: The umem was created by `ib_umem_get` and is released once (type
        // invariant); nothing refers to it afterwards.
        unsafe { raw::ib_umem_release(self.umem.as_ptr()) };
    }
}

/// Whether `start..start + length` of the calling process lies in a single mapping, and if so
/// whether that mapping is writable: `(one_mapping, writable)`.
pub(crate) fn user_range_writable(start: u64, length: u64, _cx: &Sleepable<'_>) -> (bool, bool) {
    let mut one = false;
    // SAFETY: Process context of the user's system call (`_cx`); the helper takes the
    // address space's read lock.
    let w = unsafe { raw::user_range_writable(start, length, &mut one) };
    (one, w)
}
