// SPDX-License-Identifier: GPL-2.0

//! Memory barriers for memory shared with a device (`wmb`, `rmb`, `dma_wmb`, `dma_rmb`).
//!
//! C header: [`include/asm-generic/barrier.h`](srctree/include/asm-generic/barrier.h).
//!
//! `kernel` has none of these on 6.12. They order this CPU's accesses to DMA memory and MMIO
//! exactly where the C drivers put them: a WQE is complete before its ownership bit or doorbell
//! record, the doorbell record before the doorbell write, a CQE's owner bit before its contents.

use crate::rust_bindings::raw;

/// Orders earlier writes to memory and MMIO before later ones (`wmb()`).
#[inline]
pub(crate) fn wmb() {
    // SAFETY: A barrier has no memory-safety preconditions.
    unsafe { raw::wmb() }
}

/// Orders earlier reads of memory and MMIO before later ones (`rmb()`).
#[inline]
pub(crate) fn rmb() {
    // SAFETY: A barrier has no memory-safety preconditions.
    unsafe { raw::rmb() }
}

/// Orders earlier writes to coherent DMA memory before later ones (`dma_wmb()`); weaker than
/// [`wmb`], it does not order MMIO.
#[inline]
pub(crate) fn dma_wmb() {
    // SAFETY: A barrier has no memory-safety preconditions.
    unsafe { raw::dma_wmb() }
}

/// Orders earlier reads of coherent DMA memory before later ones (`dma_rmb()`).
#[inline]
pub(crate) fn dma_rmb() {
    // SAFETY: A barrier has no memory-safety preconditions.
    unsafe { raw::dma_rmb() }
}
