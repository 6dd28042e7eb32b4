// SPDX-License-Identifier: GPL-2.0

//! User access regions: the doorbell pages of BAR 2 (`mlx4_uar_alloc`), and their kernel mapping
//! through which QPs and CQs are rung.
//!
//! C headers: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h),
//! [`include/linux/mlx4/doorbell.h`](srctree/include/linux/mlx4/doorbell.h).
//!
//! A doorbell only tells the HCA to look at a queue it already owns: the queue memory of every
//! QP and CQ must stay valid as long as the object exists whether or not anyone rings, so ringing
//! (even a wrong number) is safe. Ordering is the caller's: the WQE or doorbell record must be
//! written before the doorbell, with [`barrier::wmb`](crate::rust_bindings::barrier::wmb).

use super::Dev;
use crate::rust_bindings::raw;
use crate::rust_bindings::rdma::provider::{IoCaching, UserMap};
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::prelude::*;
use kernel::types::Opaque;

/// Offset of the send doorbell in a UAR page (`MLX4_SEND_DOORBELL`).
const SEND_DOORBELL: usize = raw::MLX4_SEND_DOORBELL as usize;
/// Offset of the CQ doorbell in a UAR page (`MLX4_CQ_DOORBELL`).
const CQ_DOORBELL: usize = raw::MLX4_CQ_DOORBELL as usize;

kernel::static_assert!(CQ_DOORBELL + 8 <= kernel::page::PAGE_SIZE);
kernel::static_assert!(SEND_DOORBELL + 4 <= kernel::page::PAGE_SIZE);

/// A UAR page, freed on drop.
///
/// The `mlx4_uar` is boxed: CQs created with it keep a pointer to it (`mlx4_cq.uar`).
///
/// # Invariants
///
/// `uar` was filled by `mlx4_uar_alloc(dev)` and is owned; `index` and `pfn` are its fields.
/// `dev` follows the resource lifetime rule of the module documentation.
pub(crate) struct Uar {
    dev: NonNull<raw::mlx4_dev>,
    uar: KBox<Opaque<raw::mlx4_uar>>,
    index: u32,
    hw_index: u32,
    pfn: u64,
}

// SAFETY: A UAR can be freed from any thread (mlx4_core's bitmap has its own lock).
unsafe impl Send for Uar {}
// SAFETY: `&Uar` only reads copies of its fields.
unsafe impl Sync for Uar {}

impl Uar {
    /// Allocates a UAR page.
    pub(crate) fn new(dev: &Dev) -> Result<Self> {
        let uar = KBox::new(Opaque::new(raw::mlx4_uar::default()), GFP_KERNEL)?;
        // SAFETY: `dev` is a bound device; `uar` is valid, boxed memory.
        to_result(unsafe { raw::mlx4_uar_alloc(dev.as_raw(), uar.get()) })?;
        // SAFETY: Filled by `mlx4_uar_alloc` above.
        let (index, pfn) = unsafe { ((*uar.get()).index, (*uar.get()).pfn) };
        let (Ok(index), Ok(pfn)) = (u32::try_from(index), u64::try_from(pfn)) else {
            // SAFETY: Allocated above from `dev`.
            unsafe { raw::mlx4_uar_free(dev.as_raw(), uar.get()) };
            return Err(EINVAL);
        };
        // INVARIANT: `uar` was just allocated from `dev`.
        Ok(Self {
            dev: dev.as_non_null(),
            hw_index: dev.hw_uar_index(index),
            uar,
            index,
            pfn,
        })
    }

    /// Returns the UAR index (`uar.index`).
    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    /// Returns the index as the hardware counts it, for QP and CQ contexts
    /// (`mlx4_to_hw_uar_index`).
    pub(crate) fn hw_index(&self) -> u32 {
        self.hw_index
    }

    /// Returns the page frame number of the page (`uar.pfn`).
    pub(crate) fn pfn(&self) -> u64 {
        self.pfn
    }

    /// Maps the page into the process whose `mmap` this is, uncached (mlx4_ib's `mmap` at
    /// offset 0). The process rings its own queues' doorbells there, and only those: the HCA
    /// runs a queue only for doorbells on the queue's own page.
    pub(crate) fn map_user(&self, map: UserMap<'_>) -> Result {
        // SAFETY: The page is this UAR, which its owner (the process's context) hands to the
        // process; it outlives the mapping, which the core zaps before the context goes.
        unsafe { map.map_io_page(self.pfn, IoCaching::Uncached) }
    }

    /// Maps the page's BlueFlame page (`num_uars` pages further in the BAR), write-combining
    /// (mlx4_ib's `mmap` at offset 1); `EINVAL` if the HCA has no BlueFlame
    /// (`bf_reg_size == 0`), as C.
    pub(crate) fn map_user_bf(&self, map: UserMap<'_>, bf_reg_size: u32, num_uars: u32) -> Result {
        if bf_reg_size == 0 {
            return Err(EINVAL);
        }
        let pfn = self.pfn.checked_add(u64::from(num_uars)).ok_or(EINVAL)?;
        // SAFETY: As in `map_user`: the BlueFlame page of this UAR belongs to its owner.
        unsafe { map.map_io_page(pfn, IoCaching::WriteCombine) }
    }

    /// Returns the C object, for rust-bindings code that creates CQs with it; C only reads it.
    pub(crate) fn as_raw(&self) -> *mut raw::mlx4_uar {
        self.uar.get()
    }
}

impl Drop for Uar {
    fn drop(&mut self) {
        // SAFETY: `uar` was allocated from `dev`, which is still bound (type invariant).
        unsafe { raw::mlx4_uar_free(self.dev.as_ptr(), self.uar.get()) };
    }
}

/// A kernel mapping of a UAR page (`ioremap(pfn << PAGE_SHIFT, PAGE_SIZE)`, as mlx4_ib maps
/// its `priv_uar`), unmapped on drop.
///
/// Drop it before the [`Uar`] it maps (mlx4_ib unmaps, then frees): a page freed while mapped
/// can go to another user, whose doorbells this would then ring.
///
/// # Invariants
///
/// `base` is an uncached mapping of `PAGE_SIZE` bytes of a UAR page of a bound HCA.
pub(crate) struct UarMap {
    base: NonNull<u8>,
}

// SAFETY: The mapping is device memory written with single stores only.
unsafe impl Send for UarMap {}
// SAFETY: As above; concurrent doorbell writes are what the HCA expects (on 32-bit, the 64-bit
// write is serialised by the helper's lock).
unsafe impl Sync for UarMap {}

impl UarMap {
    /// Maps `uar`.
    pub(crate) fn new(uar: &Uar) -> Result<Self> {
        let shift = u32::try_from(kernel::page::PAGE_SHIFT).map_err(|_| EINVAL)?;
        let phys = uar.pfn().checked_shl(shift).ok_or(EINVAL)?;
        let len = kernel::ffi::c_ulong::try_from(kernel::page::PAGE_SIZE).map_err(|_| EINVAL)?;
        // SAFETY: `phys` is the start of a UAR page of the HCA's BAR 2, which stays a device
        // resource while the HCA is bound.
        let base = unsafe { raw::ioremap(phys, len) };
        // INVARIANT: `base` maps `PAGE_SIZE` bytes of the UAR page until `drop`.
        Ok(Self {
            base: NonNull::new(base.cast::<u8>()).ok_or(ENOMEM)?,
        })
    }

    fn reg(&self, off: usize) -> *mut kernel::ffi::c_void {
        // The callers' offsets are constants inside the page (asserted above).
        self.base.as_ptr().wrapping_add(off).cast()
    }

    /// Rings the send doorbell of QP `qpn` (`writel_relaxed(swab32(qpn << 8), uar + 0x14)`, as
    /// mlx4_ib's `post_send`): the bytes on the bus are the big-endian `qpn << 8`.
    ///
    /// Relaxed: call [`barrier::wmb`](crate::rust_bindings::barrier::wmb) after writing the
    /// WQEs, as mlx4_ib does.
    pub(crate) fn ring_send(&self, qpn: u32) {
        let v = ((qpn & 0x00ff_ffff) << 8).swap_bytes();
        // SAFETY: `SEND_DOORBELL` is a 4-byte-aligned register inside the mapped page (type
        // invariant); a store to it only wakes the HCA (module documentation).
        unsafe { raw::writel_relaxed(v, self.reg(SEND_DOORBELL)) };
    }

    /// Writes the CQ doorbell (`mlx4_write64` at `uar + 0x20`): `dword0` then `dword1`, each
    /// stored big-endian, in one 64-bit store (two under a lock on 32-bit).
    ///
    /// For arming, `dword0` is `sn << 28 | cmd | cqn` and `dword1` the consumer index
    /// (`mlx4_cq_arm`). The doorbell record must be written first, followed by
    /// [`barrier::wmb`](crate::rust_bindings::barrier::wmb).
    pub(crate) fn ring_cq(&self, dword0: u32, dword1: u32) {
        self.write64([dword0.to_be(), dword1.to_be()]);
    }

    /// Writes the CQ doorbell with the 8 bytes in bus order (what
    /// `hw::doorbell::CqArm::uar()` builds).
    pub(crate) fn ring_cq_bytes(&self, bytes: &[u8; 8]) {
        let [a, b, c, d, e, f, g, h] = *bytes;
        // Native-endian: the two dwords hold the bytes in memory order, as `__be32 val[2]` does.
        self.write64([
            u32::from_ne_bytes([a, b, c, d]),
            u32::from_ne_bytes([e, f, g, h]),
        ]);
    }

    /// `mlx4_write64(val, uar + MLX4_CQ_DOORBELL)`.
    fn write64(&self, val: [u32; 2]) {
        /// The two dwords, aligned for the 64-bit load of `mlx4_write64`.
        #[repr(C, align(8))]
        struct Dwords([u32; 2]);

        let val = Dwords(val);
        // SAFETY: `CQ_DOORBELL` is an 8-byte-aligned register inside the mapped page (type
        // invariant); `val` is two readable, 8-byte-aligned dwords; a store to the register
        // only wakes the HCA.
        unsafe { raw::mlx4_write64(val.0.as_ptr(), self.reg(CQ_DOORBELL)) };
    }
}

impl Drop for UarMap {
    fn drop(&mut self) {
        // SAFETY: `base` came from `ioremap` (type invariant) and is not used after this.
        unsafe { raw::iounmap(self.base.as_ptr().cast()) };
    }
}
