// SPDX-License-Identifier: GPL-2.0

//! Memory regions (`mlx4_mr_alloc`, `mlx4_mr_enable`): the keys WQEs and peers name memory
//! with.
//!
//! C header: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h).
//!
//! An enabled region lets the HCA reach memory through its key: local work requests through the
//! lkey, remote peers through the rkey if it grants remote access. Allocating a region is safe
//! (the HCA does not use it yet); enabling one is unsafe unless it is the local-only DMA region
//! of [`Mr::dma`], which the HCA only uses for addresses the kernel posts.

use super::buf::{mtt_capacity, umem_mtt_entries, umem_mtt_size, write_mtt};
use super::{Dev, Pd};
use crate::rust_bindings::raw;
use crate::rust_bindings::rdma::provider::Umem;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::ffi::c_int;
use kernel::prelude::*;

/// The access rights of a region (`MLX4_PERM_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Access(u32);

impl Access {
    /// `MLX4_PERM_LOCAL_READ` (always granted by [`convert_access`]).
    pub(crate) const LOCAL_READ: Self = Self(raw::MLX4_PERM_LOCAL_READ);
    /// `MLX4_PERM_LOCAL_WRITE`.
    pub(crate) const LOCAL_WRITE: Self = Self(raw::MLX4_PERM_LOCAL_WRITE);
    /// `MLX4_PERM_REMOTE_READ`.
    pub(crate) const REMOTE_READ: Self = Self(raw::MLX4_PERM_REMOTE_READ);
    /// `MLX4_PERM_REMOTE_WRITE`.
    pub(crate) const REMOTE_WRITE: Self = Self(raw::MLX4_PERM_REMOTE_WRITE);
    /// `MLX4_PERM_ATOMIC`: remote atomics.
    pub(crate) const ATOMIC: Self = Self(raw::MLX4_PERM_ATOMIC);
    /// `MLX4_PERM_BIND_MW`: memory windows may be bound to it.
    pub(crate) const BIND_MW: Self = Self(raw::MLX4_PERM_BIND_MW);

    /// Returns the bits.
    pub(crate) fn bits(self) -> u32 {
        self.0
    }

    /// Returns whether only the local HCA may use the region (no remote access, no windows).
    pub(crate) fn is_local_only(self) -> bool {
        self.0 & !(Self::LOCAL_READ.0 | Self::LOCAL_WRITE.0) == 0
    }
}

impl core::ops::BitOr for Access {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// Converts IB access flags (`IB_ACCESS_*`) to region rights, as mlx4_ib's `convert_access`:
/// local read is always granted.
pub(crate) fn convert_access(ib_access: u32) -> Access {
    let map = [
        (raw::ib_access_flags_IB_ACCESS_REMOTE_ATOMIC, Access::ATOMIC),
        (
            raw::ib_access_flags_IB_ACCESS_REMOTE_WRITE,
            Access::REMOTE_WRITE,
        ),
        (
            raw::ib_access_flags_IB_ACCESS_REMOTE_READ,
            Access::REMOTE_READ,
        ),
        (
            raw::ib_access_flags_IB_ACCESS_LOCAL_WRITE,
            Access::LOCAL_WRITE,
        ),
        (raw::ib_access_flags_IB_ACCESS_MW_BIND, Access::BIND_MW),
    ];
    map.iter()
        .filter(|(ib, _)| ib_access & ib != 0)
        .fold(Access::LOCAL_READ, |acc, &(_, a)| acc | a)
}

/// A memory region, freed on drop (`mlx4_mr_free`; may sleep).
///
/// # Invariants
///
/// `mr` was filled by `mlx4_mr_alloc(dev, ..)` and is owned; mlx4_core keeps no pointer to it.
/// `dev` follows the resource lifetime rule of the module documentation. `umem`, if any, is the
/// user memory the region's MTT entries map; it stays pinned until the region is freed.
pub(crate) struct Mr {
    dev: NonNull<raw::mlx4_dev>,
    mr: raw::mlx4_mr,
    umem: Option<Umem>,
}

// SAFETY: The region is owned by this object; mlx4_core's MPT and MTT allocators have their own
// locks.
unsafe impl Send for Mr {}
// SAFETY: `&Mr` reads copies of fields, or writes MTT entries under the callers' contracts.
unsafe impl Sync for Mr {}

impl Mr {
    /// Allocates a region of `size` bytes at I/O virtual address `iova` in PD `pdn`, translated
    /// by `npages` MTT entries of `1 << page_shift` bytes (none: a physical region, `iova` being
    /// a bus address). It is not enabled: the HCA does not use it yet.
    pub(crate) fn alloc(
        dev: &Dev,
        pdn: u32,
        iova: u64,
        size: u64,
        access: Access,
        npages: u32,
        page_shift: u32,
    ) -> Result<Self> {
        let npages = c_int::try_from(npages).map_err(|_| EINVAL)?;
        let page_shift = c_int::try_from(page_shift).map_err(|_| EINVAL)?;
        let mut mr = raw::mlx4_mr::default();
        // SAFETY: `dev` is a bound device; `mr` is valid for writes and not kept by mlx4_core.
        to_result(unsafe {
            raw::mlx4_mr_alloc(
                dev.as_raw(),
                pdn,
                iova,
                size,
                access.bits(),
                npages,
                page_shift,
                &mut mr,
            )
        })?;
        // INVARIANT: `mr` was just allocated from `dev`.
        Ok(Self {
            dev: dev.as_non_null(),
            mr,
            umem: None,
        })
    }

    /// Registers a process's memory pinned by `umem` (`start` being its address in the
    /// process) as a region of PD `pd` the HCA sees at `iova`, `length` bytes, and enables it
    /// (`mlx4_ib_reg_user_mr`: the MTT entry size mlx4_ib chooses, the entries written, then
    /// `SW2HW_MPT`). Returns the region and its entry shift.
    pub(crate) fn user(
        dev: &Dev,
        pd: &Pd,
        umem: Umem,
        start: u64,
        iova: u64,
        length: u64,
        access: Access,
    ) -> Result<(Self, u32)> {
        let (shift, n) = umem_mtt_size(&umem, start);
        let n = u32::try_from(n).map_err(|_| EINVAL)?;
        let mut mr = Self::alloc(dev, pd.pdn(), iova, length, access, n, shift)?;
        // SAFETY: The entries are the pages of `umem` (out to the entry size at both ends),
        // which the region keeps pinned until it is freed; the region is not enabled yet.
        umem_mtt_entries(&umem, shift, |i, e| unsafe { mr.mtt_write(i, e) })?;
        mr.umem = Some(umem);
        // SAFETY: The HCA reaches `iova..iova + length` through the entries just written, all
        // in the pinned memory the region owns.
        unsafe { mr.enable()? };
        Ok((mr, shift))
    }

    /// Allocates and enables the DMA region of `pd`, as mlx4_ib's `get_dma_mr`: all bus
    /// addresses (iova 0, size `~0`, no MTT), with `access`, which must be local only
    /// (`EINVAL` otherwise: see [`Mr::dma_global`]).
    pub(crate) fn dma(dev: &Dev, pd: &Pd, access: Access) -> Result<Self> {
        if !access.is_local_only() {
            return Err(EINVAL);
        }
        // SAFETY: A local-only region is only used for the addresses of work requests the
        // kernel posts, whose validity is the posting code's contract.
        unsafe { Self::dma_global(dev, pd, access) }
    }

    /// Allocates and enables the DMA region of `pd` with any access, remote included
    /// (`IB_PD_UNSAFE_GLOBAL_RKEY`).
    ///
    /// # Safety
    ///
    /// With remote access or windows, any peer that learns the rkey reaches all of memory: the
    /// caller must only do this when the administrator asked for it, and accepts that
    /// memory safety then depends on the peers.
    pub(crate) unsafe fn dma_global(dev: &Dev, pd: &Pd, access: Access) -> Result<Self> {
        let mut mr = Self::alloc(dev, pd.pdn(), 0, u64::MAX, access, 0, 0)?;
        // SAFETY: A physical region has no MTT entries; what the HCA may reach through it is
        // covered by the callers' contracts.
        unsafe { mr.enable()? };
        Ok(mr)
    }

    /// Writes MTT entries `start..start + pages.len()` of the region (`mlx4_write_mtt`).
    ///
    /// # Safety
    ///
    /// The contract of [`Mtt::write`](super::Mtt::write), for as long as the region is enabled.
    pub(crate) unsafe fn mtt_write(&self, start: u32, pages: &[u64]) -> Result {
        // SAFETY: The MTT was allocated with the region from `dev`, which is bound (type
        // invariant); the entries are the caller's responsibility.
        unsafe { write_mtt(self.dev, &self.mr.mtt, start, pages) }
    }

    /// Returns the number of MTT entries of the region (0 for a physical region).
    pub(crate) fn mtt_capacity(&self) -> u32 {
        mtt_capacity(&self.mr.mtt)
    }

    /// Hands the region to the HCA (`mlx4_mr_enable`, `SW2HW_MPT`); from then on its keys work.
    ///
    /// # Safety
    ///
    /// Until the region is dropped, everything the HCA can reach through it must stay valid:
    /// the memory of every MTT entry it uses (all written as [`Mr::mtt_write`] requires), or
    /// for a physical region the bus addresses `iova..iova + size` as far as work requests and,
    /// with remote access, peers name them.
    pub(crate) unsafe fn enable(&mut self) -> Result {
        // SAFETY: `mr` was allocated from `dev`, which is bound (type invariant); what the HCA
        // may access is the caller's responsibility.
        to_result(unsafe { raw::mlx4_mr_enable(self.dev.as_ptr(), &mut self.mr) })
    }

    /// Returns whether the region was enabled.
    pub(crate) fn is_enabled(&self) -> bool {
        self.mr.enabled != 0
    }

    /// Returns the key (`mr.key`), both lkey and rkey.
    pub(crate) fn key(&self) -> u32 {
        self.mr.key
    }

    /// Returns the key local work requests use.
    pub(crate) fn lkey(&self) -> u32 {
        self.mr.key
    }

    /// Returns the key peers use.
    pub(crate) fn rkey(&self) -> u32 {
        self.mr.key
    }

    /// Returns the PD number.
    pub(crate) fn pdn(&self) -> u32 {
        self.mr.pd
    }

    /// Returns the I/O virtual address.
    pub(crate) fn iova(&self) -> u64 {
        self.mr.iova
    }

    /// Returns the size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.mr.size
    }

    /// Frees the region, returning it with the error if the HCA refuses (`HW2SW_MPT` fails
    /// while memory windows are bound to it), as mlx4_ib's `dereg_mr` reports.
    pub(crate) fn free(self) -> core::result::Result<(), (Self, Error)> {
        let mut this = core::mem::ManuallyDrop::new(self);
        match this.release() {
            Ok(()) => {
                // The HCA no longer reaches the memory: unpin it.
                drop(this.umem.take());
                Ok(())
            }
            Err(e) => Err((core::mem::ManuallyDrop::into_inner(this), e)),
        }
    }

    fn release(&mut self) -> Result {
        // SAFETY: `mr` was allocated from `dev`, which is bound (type invariant). On success
        // it is gone; on failure mlx4_core left it as it was.
        to_result(unsafe { raw::mlx4_mr_free(self.dev.as_ptr(), &mut self.mr) })
    }
}

impl Drop for Mr {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            // The HCA still owns the MPT; its memory must stay as the enabling contract says,
            // and the entry is leaked rather than handed out again.
            pr_warn!(
                "mlx4: MR {:#x} not freed ({:?}), leaking it\n",
                self.mr.key,
                e
            );
            // Its memory stays pinned for the HCA.
            core::mem::forget(self.umem.take());
        }
    }
}
