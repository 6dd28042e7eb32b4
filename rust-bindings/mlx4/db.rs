// SPDX-License-Identifier: GPL-2.0

//! Doorbell records: 4-byte big-endian counters in host memory that the HCA reads
//! (`mlx4_db_alloc`), e.g. a QP's receive queue head or a CQ's consumer index and arm state.
//!
//! C header: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h).

use super::Dev;
use crate::rust_bindings::raw;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use kernel::error::{to_result, Result};
use kernel::ffi::c_uint;
use kernel::prelude::*;

/// One or two consecutive doorbell records (order 0 or 1), freed on drop.
///
/// The records are zeroed on allocation (mlx4_core hands them out as they were left) and
/// written with single atomic stores, so the HCA never sees a torn value.
///
/// # Invariants
///
/// `db` was filled by `mlx4_db_alloc(dev, .., order)` and is owned: `db.db` points to
/// `1 << order` 4-byte-aligned records of coherent DMA memory at bus address `db.dma`, which
/// the CPU only accesses atomically. `dev` follows the resource lifetime rule of the module
/// documentation.
pub(crate) struct Db {
    dev: NonNull<raw::mlx4_dev>,
    db: raw::mlx4_db,
    count: usize,
}

// SAFETY: The records are owned by this object and can be freed from any thread (mlx4_core's
// doorbell page list has a mutex).
unsafe impl Send for Db {}
// SAFETY: Every access through `&Db` is atomic.
unsafe impl Sync for Db {}

impl Db {
    /// Allocates `1 << order` records (`order` 0 or 1; may sleep).
    pub(crate) fn new(dev: &Dev, order: u32) -> Result<Self> {
        if order > 1 {
            return Err(EINVAL);
        }
        let mut db = raw::mlx4_db::default();
        // SAFETY: `dev` is a bound device; `db` is valid for writes.
        to_result(unsafe { raw::mlx4_db_alloc(dev.as_raw(), &mut db, c_uint::from(order)) })?;
        // INVARIANT: `db` was just allocated from `dev` with `order`.
        let this = Self {
            dev: dev.as_non_null(),
            db,
            count: 1 << order,
        };
        for i in 0..this.count {
            // Cannot fail: `i` is in range.
            let _ = this.write(i, 0);
        }
        Ok(this)
    }

    /// Returns the number of records.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Returns the bus address of the first record (`db.dma`), for QP, CQ and SRQ contexts.
    pub(crate) fn dma(&self) -> u64 {
        self.db.dma
    }

    fn record(&self, index: usize) -> Result<&AtomicU32> {
        if index >= self.count {
            return Err(EINVAL);
        }
        // SAFETY: `index < 1 << order`, so the record is one of ours: aligned, initialised
        // and only accessed atomically by the CPU (type invariant); it lives as long as `self`.
        Ok(unsafe { AtomicU32::from_ptr(self.db.db.cast::<u32>().add(index)) })
    }

    /// Stores `v` big-endian in record `index` (`*db = cpu_to_be32(v)`).
    pub(crate) fn write(&self, index: usize, v: u32) -> Result {
        self.record(index)?.store(v.to_be(), Relaxed);
        Ok(())
    }

    /// Reads record `index` as a host value.
    pub(crate) fn read(&self, index: usize) -> Result<u32> {
        Ok(u32::from_be(self.record(index)?.load(Relaxed)))
    }

    /// Returns the address of the first record, for rust-bindings code wiring it into an
    /// `mlx4_cq` (`set_ci_db`, `arm_db`).
    pub(crate) fn as_ptr(&self) -> *mut u32 {
        self.db.db.cast()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        // SAFETY: `db` was allocated from `dev` (type invariant), which is still bound; the
        // records are not used after this.
        unsafe { raw::mlx4_db_free(self.dev.as_ptr(), &mut self.db) };
    }
}
