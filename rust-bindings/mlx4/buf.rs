// SPDX-License-Identifier: GPL-2.0

//! Queue memory (`mlx4_buf_alloc`) and the translation tables that give it to the HCA
//! (`mlx4_mtt_init`, `mlx4_write_mtt`).
//!
//! C header: [`include/linux/mlx4/device.h`](srctree/include/linux/mlx4/device.h).
//!
//! The HCA reads WQEs from queue memory and writes CQEs to it while the CPU does the same, so
//! every CPU access here is a relaxed atomic of the access's size (`READ_ONCE`/`WRITE_ONCE`):
//! never torn, and free of data races between CPUs; the device's accesses are ordered against
//! them with the barriers of [`barrier`](crate::rust_bindings::barrier). Mixing access sizes on
//! the same bytes at the same time (a `be32` write racing a byte copy) gives values the kernel
//! memory model defines but Rust's does not promise; the queue formats never need it.

use super::mtt_calc::{EntryWriter, ShiftCalc};
use super::Dev;
use crate::rust_bindings::raw;
use crate::rust_bindings::rdma::provider::Umem;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use kernel::error::{to_result, Result};
use kernel::ffi::c_int;
use kernel::page::{PAGE_SHIFT, PAGE_SIZE};
use kernel::prelude::*;

/// The largest buffer allocated in one piece, as mlx4_ib allocates its queues (`PAGE_SIZE * 2`);
/// larger ones are a list of pages.
pub(crate) const MAX_DIRECT: usize = PAGE_SIZE * 2;

/// Queue memory: coherent DMA memory in one piece or a list of pages, freed on drop.
///
/// # Invariants
///
/// `buf` was filled by `mlx4_buf_alloc(dev, size, ..)` and is owned: with `nbufs == 1`,
/// `direct.buf` points to `size` bytes; otherwise `page_list` holds `nbufs` page-aligned pages
/// of `PAGE_SIZE` bytes covering `size`. The memory is initialised (`dma_alloc_coherent` zeroes
/// it), mapped for `dev`, and accessed by the CPU only with atomics. `dev` follows the resource
/// lifetime rule of the module documentation.
pub(crate) struct Buf {
    dev: NonNull<raw::mlx4_dev>,
    buf: raw::mlx4_buf,
    size: usize,
}

// SAFETY: The memory is owned by this object; it can be freed from any thread.
unsafe impl Send for Buf {}
// SAFETY: Every access through `&Buf` is atomic.
unsafe impl Sync for Buf {}

impl Buf {
    /// Allocates `size` bytes, in one piece up to [`MAX_DIRECT`] (may sleep).
    pub(crate) fn new(dev: &Dev, size: usize) -> Result<Self> {
        Self::with_max_direct(dev, size, MAX_DIRECT)
    }

    /// Allocates `size` bytes, in one piece up to `max_direct` bytes (at least a page), else
    /// page by page.
    pub(crate) fn with_max_direct(dev: &Dev, size: usize, max_direct: usize) -> Result<Self> {
        if size == 0 {
            return Err(EINVAL);
        }
        let c_size = c_int::try_from(size).map_err(|_| EINVAL)?;
        // A list of one page would look like a direct buffer (`nbufs == 1`) to mlx4_core's
        // `mlx4_buf_offset` and `mlx4_buf_free`: anything up to a page is allocated direct.
        let c_max = c_int::try_from(max_direct.max(PAGE_SIZE)).unwrap_or(c_int::MAX);
        let mut buf = raw::mlx4_buf::default();
        // SAFETY: `dev` is a bound device; `buf` is valid for writes. On failure mlx4_buf_alloc
        // frees what it allocated.
        to_result(unsafe { raw::mlx4_buf_alloc(dev.as_raw(), c_size, c_max, &mut buf) })?;
        // INVARIANT: `buf` was just allocated from `dev` with `size`.
        Ok(Self {
            dev: dev.as_non_null(),
            buf,
            size,
        })
    }

    /// Returns the size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Returns whether the buffer is one piece of memory (`nbufs == 1`).
    pub(crate) fn is_direct(&self) -> bool {
        self.buf.nbufs == 1
    }

    /// Returns the number of pages the MTT of this buffer needs (`buf.npages`).
    pub(crate) fn npages(&self) -> u32 {
        u32::try_from(self.buf.npages).unwrap_or(0)
    }

    /// Returns the log2 size of those pages (`buf.page_shift`).
    pub(crate) fn page_shift(&self) -> u32 {
        u32::try_from(self.buf.page_shift).unwrap_or(0)
    }

    /// Returns the C object, for rust-bindings code that hands it to mlx4_core functions that
    /// only read it (`mlx4_buf_write_mtt`).
    pub(crate) fn as_raw(&self) -> *mut raw::mlx4_buf {
        core::ptr::from_ref(&self.buf).cast_mut()
    }

    /// Returns the address of byte `off` (`mlx4_buf_offset`).
    ///
    /// # Safety
    ///
    /// `off` must be below `size`.
    unsafe fn addr(&self, off: usize) -> *mut u8 {
        if self.is_direct() {
            // The type invariant makes `off < size` bytes into `direct.buf` valid.
            self.buf.direct.buf.cast::<u8>().wrapping_add(off)
        } else {
            // SAFETY: `off < size`, so page `off >> PAGE_SHIFT` is one of the `nbufs` entries of
            // `page_list` (type invariant), which mlx4_core does not change after allocation.
            let page = unsafe { (*self.buf.page_list.add(off >> PAGE_SHIFT)).buf };
            page.cast::<u8>().wrapping_add(off & (PAGE_SIZE - 1))
        }
    }

    /// Returns whether `off..off + len` is inside the buffer.
    fn contains(&self, off: usize, len: usize) -> bool {
        matches!(off.checked_add(len), Some(end) if end <= self.size)
    }

    /// Returns the address of a naturally aligned `T` at `off`, which is then inside one page.
    fn at<T>(&self, off: usize) -> Result<*mut T> {
        let n = core::mem::size_of::<T>();
        if off % n != 0 || !self.contains(off, n) {
            return Err(EINVAL);
        }
        // SAFETY: `off + n <= size` with `n >= 1` (checked above), so `off < size`.
        Ok(unsafe { self.addr(off) }.cast())
    }

    /// Calls `f(address, index in the range, length)` for each piece of `off..off + len` that
    /// is contiguous (one in a direct buffer, one per page otherwise).
    fn for_each_piece(
        &self,
        off: usize,
        len: usize,
        mut f: impl FnMut(*mut u8, usize, usize),
    ) -> Result {
        if !self.contains(off, len) {
            return Err(EINVAL);
        }
        let mut done = 0;
        while done < len {
            let pos = off + done;
            let piece = if self.is_direct() {
                len - done
            } else {
                (PAGE_SIZE - (pos & (PAGE_SIZE - 1))).min(len - done)
            };
            // SAFETY: `pos < off + len <= size` (checked above).
            f(unsafe { self.addr(pos) }, done, piece);
            done += piece;
        }
        Ok(())
    }

    /// Reads the byte at `off`.
    pub(crate) fn read_u8(&self, off: usize) -> Result<u8> {
        let p = self.at::<u8>(off)?;
        // SAFETY: `p` is inside the buffer (`at`), which is initialised and only accessed
        // atomically by the CPU (type invariant).
        Ok(unsafe { AtomicU8::from_ptr(p) }.load(Relaxed))
    }

    /// Writes the byte at `off`.
    pub(crate) fn write_u8(&self, off: usize, v: u8) -> Result {
        let p = self.at::<u8>(off)?;
        // SAFETY: As in `read_u8`.
        unsafe { AtomicU8::from_ptr(p) }.store(v, Relaxed);
        Ok(())
    }

    /// Reads the big-endian 16-bit value at `off` (2-byte aligned).
    pub(crate) fn read_be16(&self, off: usize) -> Result<u16> {
        let p = self.at::<u16>(off)?;
        // SAFETY: `p` is aligned and inside the buffer (`at`); see `read_u8`.
        Ok(u16::from_be(
            unsafe { AtomicU16::from_ptr(p) }.load(Relaxed),
        ))
    }

    /// Writes `v` big-endian at `off` (2-byte aligned).
    pub(crate) fn write_be16(&self, off: usize, v: u16) -> Result {
        let p = self.at::<u16>(off)?;
        // SAFETY: As in `read_be16`.
        unsafe { AtomicU16::from_ptr(p) }.store(v.to_be(), Relaxed);
        Ok(())
    }

    /// Reads the big-endian 32-bit value at `off` (4-byte aligned).
    pub(crate) fn read_be32(&self, off: usize) -> Result<u32> {
        let p = self.at::<u32>(off)?;
        // SAFETY: `p` is aligned and inside the buffer (`at`); see `read_u8`.
        Ok(u32::from_be(
            unsafe { AtomicU32::from_ptr(p) }.load(Relaxed),
        ))
    }

    /// Writes `v` big-endian at `off` (4-byte aligned).
    pub(crate) fn write_be32(&self, off: usize, v: u32) -> Result {
        let p = self.at::<u32>(off)?;
        // SAFETY: As in `read_be32`.
        unsafe { AtomicU32::from_ptr(p) }.store(v.to_be(), Relaxed);
        Ok(())
    }

    /// Reads the big-endian 64-bit value at `off` (8-byte aligned).
    pub(crate) fn read_be64(&self, off: usize) -> Result<u64> {
        let p = self.at::<u64>(off)?;
        // SAFETY: `p` is aligned and inside the buffer (`at`); see `read_u8`.
        Ok(u64::from_be(
            unsafe { AtomicU64::from_ptr(p) }.load(Relaxed),
        ))
    }

    /// Writes `v` big-endian at `off` (8-byte aligned).
    pub(crate) fn write_be64(&self, off: usize, v: u64) -> Result {
        let p = self.at::<u64>(off)?;
        // SAFETY: As in `read_be64`.
        unsafe { AtomicU64::from_ptr(p) }.store(v.to_be(), Relaxed);
        Ok(())
    }

    /// Copies `dst.len()` bytes from `off` into `dst`.
    pub(crate) fn read_bytes(&self, off: usize, dst: &mut [u8]) -> Result {
        self.for_each_piece(off, dst.len(), |p, at, n| {
            let mut i = 0;
            while i < n {
                let q = p.wrapping_add(i);
                if q.align_offset(8) == 0 && n - i >= 8 {
                    // SAFETY: `q..q + 8` is aligned and inside a contiguous piece of the
                    // buffer (`for_each_piece`); see `read_u8`.
                    let v = unsafe { AtomicU64::from_ptr(q.cast()) }.load(Relaxed);
                    dst[at + i..at + i + 8].copy_from_slice(&v.to_ne_bytes());
                    i += 8;
                } else {
                    // SAFETY: `q` is inside a contiguous piece of the buffer.
                    dst[at + i] = unsafe { AtomicU8::from_ptr(q) }.load(Relaxed);
                    i += 1;
                }
            }
        })
    }

    /// Copies `src` to the buffer at `off`.
    pub(crate) fn write_bytes(&self, off: usize, src: &[u8]) -> Result {
        self.for_each_piece(off, src.len(), |p, at, n| {
            let mut i = 0;
            while i < n {
                let q = p.wrapping_add(i);
                if q.align_offset(8) == 0 && n - i >= 8 {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(&src[at + i..at + i + 8]);
                    // SAFETY: As in `read_bytes`.
                    unsafe { AtomicU64::from_ptr(q.cast()) }.store(u64::from_ne_bytes(w), Relaxed);
                    i += 8;
                } else {
                    // SAFETY: As in `read_bytes`.
                    unsafe { AtomicU8::from_ptr(q) }.store(src[at + i], Relaxed);
                    i += 1;
                }
            }
        })
    }

    /// Sets `len` bytes from `off` to `byte`.
    pub(crate) fn fill(&self, off: usize, len: usize, byte: u8) -> Result {
        let word = u64::from_ne_bytes([byte; 8]);
        self.for_each_piece(off, len, |p, _, n| {
            let mut i = 0;
            while i < n {
                let q = p.wrapping_add(i);
                if q.align_offset(8) == 0 && n - i >= 8 {
                    // SAFETY: As in `read_bytes`.
                    unsafe { AtomicU64::from_ptr(q.cast()) }.store(word, Relaxed);
                    i += 8;
                } else {
                    // SAFETY: As in `read_bytes`.
                    unsafe { AtomicU8::from_ptr(q) }.store(byte, Relaxed);
                    i += 1;
                }
            }
        })
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        let size = c_int::try_from(self.size).unwrap_or(c_int::MAX);
        // SAFETY: `buf` was allocated from `dev` with `size` (type invariant; `new` checked it
        // fits a `c_int`), which is still bound; the memory is not used after this.
        unsafe { raw::mlx4_buf_free(self.dev.as_ptr(), size, &mut self.buf) };
    }
}

/// A range of entries of the HCA's memory translation table, freed on drop
/// (`mlx4_mtt_init`, `mlx4_mtt_cleanup`).
///
/// Each entry gives the HCA the bus address of one page of `1 << page_shift` bytes; a QP, CQ,
/// SRQ or memory region using the MTT reaches memory through them. Writing entries is therefore
/// unsafe: whoever makes the HCA use an MTT (an unsafe operation of rust-bindings) relies on
/// its entries.
///
/// # Invariants
///
/// `mtt` was filled by `mlx4_mtt_init(dev, npages, ..)` and is owned (`order < 0`: no entries,
/// for `npages == 0`). `dev` follows the resource lifetime rule of the module documentation.
pub(crate) struct Mtt {
    dev: NonNull<raw::mlx4_dev>,
    mtt: raw::mlx4_mtt,
}

// SAFETY: The entries are owned by this object; mlx4_core's allocator has its own lock.
unsafe impl Send for Mtt {}
// SAFETY: `&Mtt` reads copies of fields, or writes entries under the callers' contracts.
unsafe impl Sync for Mtt {}

impl Mtt {
    /// Reserves entries for `npages` pages of `1 << page_shift` bytes (rounded up to a power of
    /// two); none for `npages == 0` (a physical region).
    pub(crate) fn new(dev: &Dev, npages: u32, page_shift: u32) -> Result<Self> {
        if page_shift >= 64 {
            return Err(EINVAL);
        }
        let npages = c_int::try_from(npages).map_err(|_| EINVAL)?;
        let page_shift = c_int::try_from(page_shift).map_err(|_| EINVAL)?;
        let mut mtt = raw::mlx4_mtt::default();
        // SAFETY: `dev` is a bound device; `mtt` is valid for writes and freed by nobody on
        // failure.
        to_result(unsafe { raw::mlx4_mtt_init(dev.as_raw(), npages, page_shift, &mut mtt) })?;
        // INVARIANT: `mtt` was just allocated from `dev`.
        Ok(Self {
            dev: dev.as_non_null(),
            mtt,
        })
    }

    /// Reserves the entries `buf` needs (`npages` pages of `page_shift`).
    pub(crate) fn for_buf(dev: &Dev, buf: &Buf) -> Result<Self> {
        Self::new(dev, buf.npages(), buf.page_shift())
    }

    /// Returns the number of entries (`1 << order`, 0 without entries).
    pub(crate) fn capacity(&self) -> u32 {
        mtt_capacity(&self.mtt)
    }

    /// Returns the log2 page size of the entries (`mtt.page_shift`).
    pub(crate) fn page_shift(&self) -> u32 {
        u32::try_from(self.mtt.page_shift).unwrap_or(0)
    }

    /// Returns the index of the first entry in the HCA's table (`mtt.offset`).
    pub(crate) fn offset(&self) -> u32 {
        self.mtt.offset
    }

    /// Returns the C object, for rust-bindings code that hands it to mlx4_core functions that
    /// only read it (`mlx4_qp_modify`, `mlx4_cq_alloc`, `mlx4_srq_alloc`).
    pub(crate) fn as_raw(&self) -> *mut raw::mlx4_mtt {
        core::ptr::from_ref(&self.mtt).cast_mut()
    }

    /// Writes entries `start..start + pages.len()` (`mlx4_write_mtt`; may sleep).
    ///
    /// # Safety
    ///
    /// Each of `pages` must be the bus address, for this HCA, of `1 << page_shift` bytes aligned
    /// to that size. If a hardware object uses this MTT, that memory must stay allocated and
    /// mapped until the object no longer can (it is destroyed or moved to a state without
    /// access), and entries it may be using must not be rewritten meanwhile except under the
    /// same conditions.
    pub(crate) unsafe fn write(&self, start: u32, pages: &[u64]) -> Result {
        // SAFETY: `mtt` was allocated from `dev`, which is bound (type invariant); the entries'
        // contents are the caller's responsibility.
        unsafe { write_mtt(self.dev, &self.mtt, start, pages) }
    }

    /// Writes the pages of `buf` to the first entries (`mlx4_buf_write_mtt`; may sleep).
    ///
    /// # Safety
    ///
    /// If a hardware object uses this MTT, `buf` must outlive that use, and entries it may be
    /// using must not be rewritten meanwhile (see [`Mtt::write`]).
    pub(crate) unsafe fn write_buf(&self, buf: &Buf) -> Result {
        if buf.dev != self.dev
            || buf.page_shift() != self.page_shift()
            || buf.npages() > self.capacity()
        {
            return Err(EINVAL);
        }
        // SAFETY: The device is bound (type invariant); `buf` and the MTT are only read; the
        // buffer's pages fit the entries (checked above) and were mapped for this device.
        to_result(unsafe {
            raw::mlx4_buf_write_mtt(self.dev.as_ptr(), self.as_raw(), buf.as_raw())
        })
    }
}

impl Drop for Mtt {
    fn drop(&mut self) {
        // SAFETY: `mtt` was allocated from `dev` (type invariant), which is still bound; it is
        // not used after this (`mlx4_mtt_cleanup` ignores an MTT without entries).
        unsafe { raw::mlx4_mtt_cleanup(self.dev.as_ptr(), &mut self.mtt) };
    }
}

/// Returns the number of entries of `mtt` (`1 << order`, 0 without entries).
pub(super) fn mtt_capacity(mtt: &raw::mlx4_mtt) -> u32 {
    u32::try_from(mtt.order)
        .ok()
        .and_then(|o| 1u32.checked_shl(o))
        .unwrap_or(0)
}

/// Writes entries `start..start + pages.len()` of `mtt` (`mlx4_write_mtt`), after checking they
/// are inside it.
///
/// # Safety
///
/// `mtt` must have been allocated from `dev`, which must be bound; `pages` must satisfy the
/// contract of [`Mtt::write`].
pub(super) unsafe fn write_mtt(
    dev: NonNull<raw::mlx4_dev>,
    mtt: &raw::mlx4_mtt,
    start: u32,
    pages: &[u64],
) -> Result {
    let end = u64::from(start) + u64::try_from(pages.len()).map_err(|_| EINVAL)?;
    if end > u64::from(mtt_capacity(mtt)) {
        return Err(EINVAL);
    }
    let start = c_int::try_from(start).map_err(|_| EINVAL)?;
    let n = c_int::try_from(pages.len()).map_err(|_| EINVAL)?;
    // SAFETY: Per the function's contract; the range is inside the MTT's entries (checked
    // above); `mtt` and `pages` are only read by mlx4_write_mtt.
    to_result(unsafe {
        raw::mlx4_write_mtt(
            dev.as_ptr(),
            core::ptr::from_ref(mtt).cast_mut(),
            start,
            n,
            pages.as_ptr().cast_mut(),
        )
    })
}

/// Queue memory with the MTT that maps it, as mlx4_ib sets up a kernel QP, CQ or SRQ
/// (`mlx4_buf_alloc`, `mlx4_mtt_init`, `mlx4_buf_write_mtt`).
///
/// # Invariants
///
/// The entries of `mtt` hold the pages of `buf` (rewriting them takes unsafe code bound by
/// [`Mtt::write`]): whoever makes the HCA use `mtt` only has to keep this object alive as long
/// as the HCA may. The MTT is dropped before the memory it maps (field order).
pub(crate) struct QueueBuf {
    mtt: Mtt,
    buf: Buf,
}

impl QueueBuf {
    /// Allocates `size` bytes of queue memory (in one piece up to [`MAX_DIRECT`]) and maps it.
    pub(crate) fn new(dev: &Dev, size: usize) -> Result<Self> {
        let buf = Buf::new(dev, size)?;
        let mtt = Mtt::for_buf(dev, &buf)?;
        // SAFETY: `mtt` is new: no hardware object uses it yet.
        unsafe { mtt.write_buf(&buf)? };
        // INVARIANT: `mtt` maps `buf`; neither is reachable mutably from outside.
        Ok(Self { mtt, buf })
    }

    /// Returns the memory.
    pub(crate) fn buf(&self) -> &Buf {
        &self.buf
    }

    /// Returns the MTT that maps it.
    pub(crate) fn mtt(&self) -> &Mtt {
        &self.mtt
    }
}

/// The entry shift and count mlx4_ib chooses for `umem` seen by the device at `start_va`
/// (`mlx4_ib_umem_calc_optimal_mtt_size`).
pub(super) fn umem_mtt_size(umem: &Umem, start_va: u64) -> (u32, u64) {
    let mut c = ShiftCalc::new(start_va, PAGE_SHIFT as u32);
    let _ = umem.for_each_seg(|s| {
        if c.push(s.addr, s.len) {
            Ok(())
        } else {
            Err(EAGAIN)
        }
    });
    c.finish(umem.num_blocks(PAGE_SHIFT as u32))
}

/// Hands `write` the MTT entries of `umem` with entries of `1 << shift` bytes, a page of them
/// at a time: `(first entry index, entries)` (`mlx4_ib_umem_write_mtt`).
pub(super) fn umem_mtt_entries(
    umem: &Umem,
    shift: u32,
    mut write: impl FnMut(u32, &[u64]) -> Result,
) -> Result {
    const BATCH: usize = PAGE_SIZE / 8;
    let mut batch = KVec::from_elem(0u64, BATCH, GFP_KERNEL)?;
    let mut n = 0usize;
    let mut start = 0u32;
    let mut w = EntryWriter::new(shift);
    let mut emit = |e: u64| -> Result {
        batch[n] = e;
        n += 1;
        if n == BATCH {
            write(start, &batch)?;
            start += BATCH as u32;
            n = 0;
        }
        Ok(())
    };
    umem.for_each_seg(|s| w.push(s.addr, s.len, &mut emit))?;
    w.finish(&mut emit)?;
    if n > 0 {
        write(start, &batch[..n])?;
    }
    Ok(())
}

/// A process's queue memory (pinned by an [`Umem`]) with the MTT that maps it, as mlx4_ib sets
/// up a user QP, CQ or SRQ.
///
/// # Invariants
///
/// The entries of `mtt` hold the pages of `umem` (the first and last rounded out to the entry
/// size); the MTT is dropped before the memory is unpinned (field order).
pub(crate) struct UserBuf {
    mtt: Mtt,
    umem: Umem,
}

impl UserBuf {
    /// Maps `umem` with the entry size mlx4_ib chooses for queues (as if at address 0).
    pub(crate) fn new(dev: &Dev, umem: Umem) -> Result<Self> {
        let (shift, n) = umem_mtt_size(&umem, 0);
        Self::with_shift(dev, umem, shift, n)
    }

    /// Maps `umem` with page-sized entries, as mlx4_ib does for SRQs.
    pub(crate) fn with_page_entries(dev: &Dev, umem: Umem) -> Result<Self> {
        let n = umem.num_blocks(PAGE_SHIFT as u32);
        Self::with_shift(dev, umem, PAGE_SHIFT as u32, n)
    }

    /// Maps `umem` with `n` entries of `1 << shift` bytes, as the size calculation counted
    /// them (writing more would fail the MTT's range check).
    fn with_shift(dev: &Dev, umem: Umem, shift: u32, n: u64) -> Result<Self> {
        let mtt = Mtt::new(dev, u32::try_from(n).map_err(|_| EINVAL)?, shift)?;
        // SAFETY: The entries are pages of `umem` (rounded out to the entry size, beyond which
        // the HCA never reaches for a queue of the umem's size) and `umem` lives as long as
        // the MTT (type invariant); no hardware object uses the new MTT yet.
        umem_mtt_entries(&umem, shift, |i, e| unsafe { mtt.write(i, e) })?;
        // INVARIANT: `mtt` maps `umem`.
        Ok(Self { mtt, umem })
    }

    /// Returns the MTT that maps it.
    pub(crate) fn mtt(&self) -> &Mtt {
        &self.mtt
    }
}
