// SPDX-License-Identifier: GPL-2.0

//! Protection domains (`mlx4_pd_alloc`).
//!
//! C header: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h).

use super::Dev;
use crate::rust_bindings::raw;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};

/// A protection domain number, freed on drop.
///
/// # Invariants
///
/// `pdn` was allocated by `mlx4_pd_alloc(dev)` and is owned; `dev` follows the resource lifetime
/// rule of the module documentation.
pub(crate) struct Pd {
    dev: NonNull<raw::mlx4_dev>,
    pdn: u32,
}

// SAFETY: A PD number can be freed from any thread (mlx4_core's bitmap has its own lock).
unsafe impl Send for Pd {}
// SAFETY: `&Pd` only reads the number.
unsafe impl Sync for Pd {}

impl Pd {
    /// Allocates a protection domain.
    pub(crate) fn new(dev: &Dev) -> Result<Self> {
        let mut pdn = 0;
        // SAFETY: `dev` is a bound device; `pdn` is a valid out pointer.
        to_result(unsafe { raw::mlx4_pd_alloc(dev.as_raw(), &mut pdn) })?;
        // INVARIANT: `pdn` was just allocated from `dev`.
        Ok(Self {
            dev: dev.as_non_null(),
            pdn,
        })
    }

    /// Returns the PD number (the `pd` of QP contexts and MPTs).
    pub(crate) fn pdn(&self) -> u32 {
        self.pdn
    }
}

impl Drop for Pd {
    fn drop(&mut self) {
        // SAFETY: `pdn` was allocated from `dev`, which is still bound (type invariant).
        unsafe { raw::mlx4_pd_free(self.dev.as_ptr(), self.pdn) };
    }
}
