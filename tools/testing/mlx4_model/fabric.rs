// SPDX-License-Identifier: GPL-2.0

//! The cable: port 1 of HCA 0 to port 1 of HCA 1. A port's physical link is up when both
//! ends ran INIT_PORT (mlx4_ib does when QP0 reaches RTR) and neither ran CLOSE_PORT since.

use crate::hca::Hca;
use core::ptr;
use kernel::new_spinlock;
use kernel::prelude::*;
use kernel::sync::SpinLock;

/// Number of HCAs on the cable.
pub(crate) const NUM_HCAS: usize = 2;

#[derive(Clone, Copy)]
struct Slot {
    /// The HCA at this end; null when none (or not yet published).
    hca: *const Hca,
    /// The slot is taken (the HCA may still be under construction).
    taken: bool,
    /// INIT_PORT was run on the port.
    open: bool,
}

/// The two ends of the cable.
#[pin_data]
pub(crate) struct Fabric {
    #[pin]
    slots: SpinLock<[Slot; NUM_HCAS]>,
}

// SAFETY: The HCA pointers are only dereferenced under the lock, while the HCA is attached
// (`detach` runs before an HCA is dropped).
unsafe impl Send for Fabric {}
// SAFETY: As above.
unsafe impl Sync for Fabric {}

impl Fabric {
    /// An empty cable.
    pub(crate) fn new() -> impl PinInit<Self> {
        let empty = Slot {
            hca: ptr::null(),
            taken: false,
            open: false,
        };
        pin_init!(Self {
            slots <- new_spinlock!([empty; NUM_HCAS], "mlx4_model::fabric"),
        })
    }

    /// Takes a free end of the cable; returns its index.
    pub(crate) fn reserve(&self) -> Option<u32> {
        let mut s = self.slots.lock();
        let i = s.iter().position(|x| !x.taken)?;
        s[i].taken = true;
        Some(i as u32)
    }

    /// Plugs `hca` (reserved at `index`) into the cable.
    pub(crate) fn attach(&self, index: u32, hca: &Hca) {
        self.slots.lock()[index as usize].hca = hca;
    }

    /// Unplugs the HCA at `index` and frees the end. Its port must be closed.
    pub(crate) fn detach(&self, index: u32) {
        let mut s = self.slots.lock();
        s[index as usize] = Slot {
            hca: ptr::null(),
            taken: false,
            open: false,
        };
    }

    /// Opens or closes the port at `index`, then brings both ends' links up or down.
    pub(crate) fn set_open(&self, index: u32, open: bool) {
        let mut s = self.slots.lock();
        s[index as usize].open = open;
        let up = s.iter().all(|x| x.open && !x.hca.is_null());
        for x in s.iter_mut() {
            if !x.hca.is_null() {
                // SAFETY: Attached HCAs are alive until `detach`, which takes this lock.
                let hca = unsafe { &*x.hca };
                hca.set_link(up && x.open);
            }
        }
    }
}
