// SPDX-License-Identifier: GPL-2.0

//! MTT entries for pinned user memory, as mlx4_ib computes them (C:
//! drivers/infiniband/hw/mlx4/mr.c, `mlx4_ib_umem_calc_optimal_mtt_size` and
//! `mlx4_ib_umem_write_mtt`).
//!
//! User memory reaches the HCA as a list of DMA-contiguous segments. The HCA translates a
//! region through MTT entries of one size, a power of two from the page size up to 2 GiB: the
//! largest size to which every join between segments is aligned (and, for a memory region, the
//! device-visible address agrees with the bus address below it) maps the region with the fewest
//! entries. The first and last entries may cover memory before and after the region, which the
//! HCA never reaches as it only accesses the region's own range.
//!
//! Pure code (only `core`): unit-tested on the host.

/// The largest MTT entry is 2 GiB (`MLX4_MAX_MTT_SHIFT`).
pub(crate) const MAX_MTT_SHIFT: u32 = 31;

/// log2 of the largest power of two dividing `p` (64 for 0, which divides by anything).
fn alignment_of(p: u64) -> u32 {
    p.trailing_zeros()
}

/// Chooses the entry size of a region, fed its segments in order
/// (`mlx4_ib_umem_calc_optimal_mtt_size`).
#[derive(Debug)]
pub(crate) struct ShiftCalc {
    page_shift: u32,
    start_va: u64,
    block_shift: u32,
    first: Option<u64>,
    cur_start: u64,
    cur_len: u64,
    total_len: u64,
    /// The shift fell to the page size: the answer is known.
    done: bool,
}

impl ShiftCalc {
    /// A calculation for a region whose first byte the device sees at `start_va` (0 for queue
    /// buffers, which have no virtual address of their own), with `page_shift` pages.
    pub(crate) fn new(start_va: u64, page_shift: u32) -> Self {
        Self {
            page_shift,
            start_va,
            block_shift: MAX_MTT_SHIFT,
            first: None,
            cur_start: 0,
            cur_len: 0,
            total_len: 0,
            done: false,
        }
    }

    /// Takes the next segment; returns `false` once more segments cannot change the answer.
    pub(crate) fn push(&mut self, addr: u64, len: u64) -> bool {
        if self.done {
            return false;
        }
        if self.first.is_none() {
            self.first = Some(addr);
            self.cur_start = addr;
            // The bits in which the device address and the bus address of the first page
            // differ: an entry larger than their alignment would translate to the wrong page.
            let page_mask = !((1u64 << self.page_shift) - 1);
            let misalignment = (self.start_va & page_mask) ^ addr;
            self.block_shift = self.block_shift.min(alignment_of(misalignment));
        }
        let cur_end = self.cur_start.wrapping_add(self.cur_len);
        if cur_end != addr {
            // A join between blocks: both its sides must be aligned to the entry size.
            if addr & ((1u64 << self.block_shift) - 1) != 0 {
                self.block_shift = alignment_of(addr);
            }
            if cur_end & ((1u64 << self.block_shift) - 1) != 0 {
                self.block_shift = alignment_of(cur_end);
            }
            if self.block_shift <= self.page_shift {
                self.done = true;
                return false;
            }
            self.total_len += self.cur_len;
            self.cur_start = addr;
            self.cur_len = len;
            return true;
        }
        self.cur_len += len;
        true
    }

    /// Returns the entry shift and the number of entries; `page_blocks` is the number of pages
    /// the region touches (the answer when the shift fell to the page size).
    pub(crate) fn finish(self, page_blocks: u64) -> (u32, u64) {
        if self.done || self.first.is_none() {
            return (self.page_shift, page_blocks);
        }
        let size = 1u64 << self.block_shift;
        let mut total = self.total_len + self.cur_len;
        // The first block's start and the last block's end, out to entry boundaries.
        total += self.first.unwrap_or(0) & (size - 1);
        let last_end = self.cur_start + self.cur_len;
        total += last_end.next_multiple_of(size) - last_end;
        (
            self.block_shift.max(self.page_shift),
            total >> self.block_shift,
        )
    }
}

/// Produces the MTT entries of a region from its segments (`mlx4_ib_umem_write_mtt`): each
/// run of contiguous segments becomes the entries covering it, rounded out to the entry size.
#[derive(Debug)]
pub(crate) struct EntryWriter {
    shift: u32,
    cur_start: u64,
    len: u64,
    started: bool,
}

impl EntryWriter {
    /// A writer of entries of `1 << shift` bytes.
    pub(crate) fn new(shift: u32) -> Self {
        Self {
            shift,
            cur_start: 0,
            len: 0,
            started: false,
        }
    }

    /// Takes the next segment, emitting the entries of the block it ends.
    pub(crate) fn push<E>(
        &mut self,
        addr: u64,
        len: u64,
        emit: &mut impl FnMut(u64) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.started && self.cur_start.wrapping_add(self.len) == addr {
            self.len += len;
            return Ok(());
        }
        if self.started {
            self.block(emit)?;
        }
        self.started = true;
        self.cur_start = addr;
        self.len = len;
        Ok(())
    }

    /// Emits the entries of the last block.
    pub(crate) fn finish<E>(
        mut self,
        emit: &mut impl FnMut(u64) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.started && self.len > 0 {
            self.block(emit)?;
        }
        Ok(())
    }

    fn block<E>(&mut self, emit: &mut impl FnMut(u64) -> Result<(), E>) -> Result<(), E> {
        let size = 1u64 << self.shift;
        let first = self.cur_start & !(size - 1);
        let end = (self.cur_start + self.len).next_multiple_of(size);
        for k in 0..((end - first) >> self.shift) {
            emit(first + (k << self.shift))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calc(segs: &[(u64, u64)], va: u64) -> (u32, u64) {
        let mut c = ShiftCalc::new(va, 12);
        for &(a, l) in segs {
            if !c.push(a, l) {
                break;
            }
        }
        let len: u64 = segs.iter().map(|s| s.1).sum();
        let start = va & !0xfff;
        let pages = ((va + len).next_multiple_of(4096) - start) >> 12;
        c.finish(pages)
    }

    fn entries(segs: &[(u64, u64)], shift: u32) -> Vec<u64> {
        let mut v = Vec::new();
        let mut w = EntryWriter::new(shift);
        let mut emit = |e| {
            v.push(e);
            Ok::<(), ()>(())
        };
        for &(a, l) in segs {
            w.push(a, l, &mut emit).unwrap();
        }
        w.finish(&mut emit).unwrap();
        v
    }

    #[test]
    fn one_contiguous_block_takes_its_alignment() {
        // 2 MiB at a 2 MiB-aligned bus address, device address 0: one 2 MiB entry.
        let segs = [(0x4000_0000, 0x10_0000), (0x4010_0000, 0x10_0000)];
        assert_eq!(calc(&segs, 0), (30, 1));
        let (s, n) = calc(&segs, 0x7f00_0020_0000);
        assert_eq!((s, n), (21, 1));
        assert_eq!(entries(&segs, s), vec![0x4000_0000]);
    }

    #[test]
    fn scattered_pages_fall_to_the_page_size() {
        let segs = [(0x1000, 0x1000), (0x9000, 0x1000), (0x5000, 0x1000)];
        assert_eq!(calc(&segs, 0), (12, 3));
        assert_eq!(entries(&segs, 12), vec![0x1000, 0x9000, 0x5000]);
    }

    #[test]
    fn aligned_joins_keep_large_entries() {
        // Two 64 KiB blocks, each 64 KiB-aligned: 64 KiB entries, one per block.
        let segs = [(0x10_0000, 0x1_0000), (0x30_0000, 0x1_0000)];
        assert_eq!(calc(&segs, 0), (16, 2));
        assert_eq!(entries(&segs, 16), vec![0x10_0000, 0x30_0000]);
    }

    #[test]
    fn virtual_and_bus_addresses_must_agree_below_the_entry_size() {
        // Contiguous and 1 MiB-aligned on the bus, but the device address is only 8 KiB-
        // aligned relative to it: 8 KiB entries.
        let segs = [(0x20_0000, 0x4_0000)];
        let (s, n) = calc(&segs, 0x2000);
        assert_eq!(s, 13);
        assert_eq!(n, 0x4_0000 >> 13);
        assert_eq!(entries(&segs, s).len() as u64, n);
    }

    #[test]
    fn the_entries_are_as_many_as_the_calculation_says() {
        let cases: [&[(u64, u64)]; 3] = [
            &[(0x7000, 0x9000), (0x20_0000, 0x3000)],
            &[(0x40_0000, 0x40_0000), (0x100_0000, 0x1000)],
            &[(0x123_4000, 0x1000)],
        ];
        for segs in cases {
            let (s, n) = calc(segs, 0);
            assert_eq!(entries(segs, s).len() as u64, n, "{segs:x?}");
        }
    }
}
