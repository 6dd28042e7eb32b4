// SPDX-License-Identifier: GPL-2.0

//! Allocation of hardware object numbers (PDs, UARs, QPNs, CQNs, MPT indexes, MTT segments)
//! from a bitmap, as mlx4_core's `mlx4_bitmap` does: ranges of a given size and alignment,
//! first fit above a reserved low region. Pure and kernel-free (host-tested).

/// A bitmap of `len` object numbers, stored in caller-provided words.
pub(crate) struct Bitmap<'a> {
    words: &'a mut [u64],
    len: u32,
}

impl<'a> Bitmap<'a> {
    /// Wraps `words`, which must hold at least `len` bits.
    pub(crate) fn new(words: &'a mut [u64], len: u32) -> Option<Self> {
        if (words.len() as u64) * 64 < u64::from(len) {
            return None;
        }
        Some(Self { words, len })
    }

    /// Number of words needed for `len` bits.
    pub(crate) const fn words_for(len: u32) -> usize {
        (len as usize).div_ceil(64)
    }

    fn get(&self, i: u32) -> bool {
        self.words[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: u32, v: bool) {
        let w = &mut self.words[(i / 64) as usize];
        if v {
            *w |= 1 << (i % 64);
        } else {
            *w &= !(1 << (i % 64));
        }
    }

    /// Marks `[start, start + cnt)` used (for reserved numbers).
    pub(crate) fn reserve(&mut self, start: u32, cnt: u32) {
        for i in start..start.saturating_add(cnt).min(self.len) {
            self.set(i, true);
        }
    }

    /// Allocates `cnt` consecutive numbers starting at a multiple of `align` (a power of two),
    /// at or above `min`. Returns the first.
    pub(crate) fn alloc(&mut self, cnt: u32, align: u32, min: u32) -> Option<u32> {
        if cnt == 0 || align == 0 || !align.is_power_of_two() {
            return None;
        }
        let mut start = min.checked_add(align - 1)? & !(align - 1);
        while start.checked_add(cnt)? <= self.len {
            match (start..start + cnt).find(|&i| self.get(i)) {
                None => {
                    for i in start..start + cnt {
                        self.set(i, true);
                    }
                    return Some(start);
                }
                Some(used) => {
                    start = (used + 1).checked_add(align - 1)? & !(align - 1);
                }
            }
        }
        None
    }

    /// Frees `[start, start + cnt)`. Returns false (and frees nothing) if any of them was not
    /// allocated, which would be a double free by the caller.
    pub(crate) fn free(&mut self, start: u32, cnt: u32) -> bool {
        let Some(end) = start.checked_add(cnt) else {
            return false;
        };
        if end > self.len || (start..end).any(|i| !self.get(i)) {
            return false;
        }
        for i in start..end {
            self.set(i, false);
        }
        true
    }

    /// Whether `i` is allocated.
    pub(crate) fn is_used(&self, i: u32) -> bool {
        i < self.len && self.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_aligned_ranges() {
        let mut w = [0u64; Bitmap::words_for(200)];
        let mut b = Bitmap::new(&mut w, 200).unwrap();
        b.reserve(0, 8);
        assert_eq!(b.alloc(1, 1, 0), Some(8));
        assert_eq!(b.alloc(1, 1, 0), Some(9));
        // Eight aligned on 8 skips the partly used 8..16.
        assert_eq!(b.alloc(8, 8, 0), Some(16));
        assert_eq!(b.alloc(1, 1, 0), Some(10));
        assert!(b.free(9, 1));
        assert_eq!(b.alloc(1, 1, 0), Some(9));
        assert_eq!(b.alloc(4, 4, 100), Some(100));
        // Range crossing a word boundary.
        assert_eq!(b.alloc(70, 1, 120), Some(120));
        assert_eq!(b.alloc(20, 1, 180), None);
        assert_eq!(b.alloc(0, 1, 0), None);
        assert_eq!(b.alloc(1, 3, 0), None);
    }

    #[test]
    fn double_free_is_refused() {
        let mut w = [0u64; 1];
        let mut b = Bitmap::new(&mut w, 64).unwrap();
        let a = b.alloc(2, 1, 0).unwrap();
        assert!(b.free(a, 2));
        assert!(!b.free(a, 1));
        assert!(!b.free(60, 8));
        assert!(b.alloc(64, 1, 0).is_some());
        assert!(!b.is_used(64));
        assert!(Bitmap::new(&mut w, 65).is_none());
    }
}
