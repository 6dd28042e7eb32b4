// SPDX-License-Identifier: GPL-2.0

//! Shared receive queues: their sizing and WQEs (C: `mlx4_ib_create_srq` and
//! `mlx4_ib_post_srq_recv` in srq.c, `struct mlx4_wqe_srq_next_seg`).
//!
//! An SRQ WQE is a 16-byte "next" segment followed by scatter entries ([`super::wqe::Data`]).
//! The free WQEs form a list through the next segments: the hardware takes the WQE at its
//! head and follows `next_wqe_index`; software posts at `head` and returns completed WQEs at
//! `tail`, linking the old tail to them.

use super::wqe::{Data, DS};
use super::{be16, ilog2, put_be16, Error};

/// Bytes of the next segment at the start of each WQE.
pub(crate) const NEXT_SEG: usize = 16;
/// Offset of `next_wqe_index` (be16) in the next segment.
const NEXT_WQE_INDEX: usize = 2;

/// The shape of an SRQ ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SrqLayout {
    /// WQEs in the ring, a power of two (`msrq.max`); one fewer can be outstanding.
    pub(crate) max: u32,
    /// Scatter entries of a WQE (`msrq.max_gs`).
    pub(crate) max_gs: u32,
    /// log2 of the WQE stride (`msrq.wqe_shift`).
    pub(crate) wqe_shift: u32,
}

impl SrqLayout {
    /// Sizes the ring for `max_wr` requests of `max_sge` entries on a device that allows
    /// `dev_max_wqes` WQEs and `dev_max_sge` entries (`mlx4_ib_create_srq`).
    pub(crate) fn new(
        max_wr: u32,
        max_sge: u32,
        dev_max_wqes: u32,
        dev_max_sge: u32,
    ) -> Result<Self, Error> {
        if max_wr >= dev_max_wqes || max_sge > dev_max_sge {
            return Err(Error::Invalid);
        }
        let max = (max_wr + 1).next_power_of_two();
        let desc = (NEXT_SEG as u32 + max_sge * DS as u32)
            .next_power_of_two()
            .max(32);
        Ok(Self {
            max,
            max_gs: max_sge,
            wqe_shift: ilog2(desc),
        })
    }

    /// Bytes per WQE.
    pub(crate) fn desc_size(&self) -> usize {
        1 << self.wqe_shift
    }

    /// Bytes of the ring.
    pub(crate) fn buf_size(&self) -> usize {
        (self.max as usize) << self.wqe_shift
    }

    /// Offset of WQE `n` (taken modulo the ring).
    pub(crate) fn offset(&self, n: u32) -> usize {
        ((n & (self.max - 1)) as usize) << self.wqe_shift
    }

    /// Receive requests that may be outstanding (`max_wr` reported back).
    pub(crate) fn max_wr(&self) -> u32 {
        self.max - 1
    }
}

/// Writes WQE `n` as a new ring holds it: linked to `n + 1` (modulo the ring), every
/// scatter entry invalid. `wqe` is one WQE (`desc_size` bytes).
pub(crate) fn init_wqe(wqe: &mut [u8], n: u32, l: &SrqLayout) {
    wqe[..NEXT_SEG].fill(0);
    put_be16(wqe, NEXT_WQE_INDEX, ((n + 1) & (l.max - 1)) as u16);
    let mut off = NEXT_SEG;
    while off + DS <= wqe.len() {
        // C sets only the lkey of each entry; the rest of a fresh buffer is zero.
        Data::TERMINATOR.write(&mut wqe[off..off + DS]);
        off += DS;
    }
}

/// The index of the WQE after the one whose next segment is `next` (at least 4 bytes).
pub(crate) fn next_index(next: &[u8]) -> u16 {
    be16(next, NEXT_WQE_INDEX)
}

/// Links a WQE to `index`: the bytes to write at [`next_link_offset`] of its next segment.
pub(crate) fn next_link(index: u16) -> [u8; 2] {
    index.to_be_bytes()
}

/// Offset in a WQE of what [`next_link`] encodes.
pub(crate) const fn next_link_offset() -> usize {
    NEXT_WQE_INDEX
}

/// Writes the scatter list of a posted request into `scat`, the WQE after its next segment:
/// the entries, then a terminator if the list is shorter than the queue's `max_gs`. Returns
/// the bytes written.
///
/// # Panics
///
/// If `scat` is too short for the entries and the terminator.
pub(crate) fn write_scatter(
    scat: &mut [u8],
    sges: impl Iterator<Item = Data>,
    max_gs: u32,
) -> usize {
    let mut n = 0;
    for s in sges {
        s.write(&mut scat[n * DS..(n + 1) * DS]);
        n += 1;
    }
    if (n as u32) < max_gs {
        Data::TERMINATOR.write(&mut scat[n * DS..(n + 1) * DS]);
        n += 1;
    }
    n * DS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_as_c() {
        // IPoIB CM: 4096 - 1 requests of 2 entries: next + 2 * 16 = 48 -> 64-byte WQEs.
        let l = SrqLayout::new(4095, 2, 65536, 32).unwrap();
        assert_eq!(l.max, 4096);
        assert_eq!(l.max_wr(), 4095);
        assert_eq!(l.wqe_shift, 6);
        assert_eq!(l.buf_size(), 4096 * 64);
        // One entry: 32 bytes, the minimum.
        let l = SrqLayout::new(1, 1, 65536, 32).unwrap();
        assert_eq!((l.max, l.wqe_shift), (2, 5));
        // No entries at all: still 32 bytes.
        assert_eq!(SrqLayout::new(0, 0, 16, 32).unwrap().wqe_shift, 5);
        // 31 entries: 16 + 496 = 512.
        assert_eq!(SrqLayout::new(10, 31, 65536, 32).unwrap().wqe_shift, 9);
        assert_eq!(SrqLayout::new(10, 31, 65536, 32).unwrap().max, 16);
    }

    #[test]
    fn sizing_limits() {
        assert_eq!(SrqLayout::new(65536, 1, 65536, 32), Err(Error::Invalid));
        assert_eq!(SrqLayout::new(65535, 1, 65536, 32).unwrap().max, 65536);
        assert_eq!(SrqLayout::new(16, 33, 65536, 32), Err(Error::Invalid));
    }

    #[test]
    fn fresh_ring_is_a_cycle() {
        let l = SrqLayout::new(3, 2, 65536, 32).unwrap();
        let mut ring = vec![0xaau8; l.buf_size()];
        for n in 0..l.max {
            let o = l.offset(n);
            init_wqe(&mut ring[o..o + l.desc_size()], n, &l);
        }
        let mut seen = 0;
        let mut i = 0u32;
        loop {
            let o = l.offset(i);
            let wqe = &ring[o..o + l.desc_size()];
            // Reserved words are zero, every entry is a terminator.
            assert_eq!(&wqe[..2], &[0, 0]);
            assert_eq!(&wqe[4..16], &[0; 12]);
            for e in (NEXT_SEG..l.desc_size()).step_by(DS) {
                assert_eq!(Data::read(&wqe[e..]), Data::TERMINATOR);
            }
            i = u32::from(next_index(wqe));
            seen += 1;
            if i == 0 {
                break;
            }
        }
        assert_eq!(seen, l.max);
    }

    #[test]
    fn scatter_and_link() {
        let mut scat = [0u8; 3 * DS];
        let s = [Data {
            byte_count: 4096,
            lkey: 0x1100,
            addr: 0x1234_5000,
        }];
        assert_eq!(write_scatter(&mut scat, s.iter().copied(), 3), 2 * DS);
        assert_eq!(
            &scat[..DS],
            &[0, 0, 0x10, 0, 0, 0, 0x11, 0, 0, 0, 0, 0, 0x12, 0x34, 0x50, 0]
        );
        assert_eq!(Data::read(&scat[DS..]), Data::TERMINATOR);
        // The third entry is left as it was.
        assert_eq!(&scat[2 * DS..], &[0; DS]);
        // A full list has no terminator.
        let mut full = [0u8; DS];
        assert_eq!(write_scatter(&mut full, s.iter().copied(), 1), DS);
        assert_eq!(Data::read(&full), s[0]);
        let mut next = [0u8; NEXT_SEG];
        next[next_link_offset()..next_link_offset() + 2].copy_from_slice(&next_link(0x1234));
        assert_eq!(next_index(&next), 0x1234);
        assert_eq!(&next[2..4], &[0x12, 0x34]);
    }
}
