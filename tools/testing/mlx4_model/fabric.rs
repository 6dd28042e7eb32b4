// SPDX-License-Identifier: GPL-2.0

//! The cable and the engine that drives it: port 1 of HCA 0 to port 1 of HCA 1. A port's
//! physical link is up when both ends ran INIT_PORT (mlx4_ib does when QP0 reaches RTR) and
//! neither ran CLOSE_PORT since.

use crate::engine::{Events, Scratch};
use crate::hca::{busy_poll_param, Hca};
use crate::rust_bindings::raw;
use crate::rust_bindings::workqueue::{impl_delayed_work, DelayedWork};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, SpinLock};
use kernel::types::Opaque;
use kernel::{new_mutex, new_spinlock};

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

const ENGINE_WORK: u64 = 0;

/// The two ends of the cable and the engine.
#[pin_data]
pub(crate) struct Fabric {
    #[pin]
    slots: SpinLock<[Slot; NUM_HCAS]>,
    /// The engine's buffers (only the engine work item uses them).
    #[pin]
    scratch: Mutex<KBox<Scratch>>,
    #[pin]
    engine: DelayedWork<Fabric, ENGINE_WORK>,
    /// The engine may run (cleared for good when the module goes away).
    enabled: AtomicBool,
    /// Runs the engine's event delivery in hard-IRQ context, as an EQ interrupt would.
    #[pin]
    irq: Opaque<raw::irq_work>,
    /// The events `irq` delivers (set by `in_hardirq` while it waits).
    irq_events: AtomicPtr<Events>,
}

impl_delayed_work!(Fabric, engine, ENGINE_WORK, engine_run);

/// `Fabric::irq`'s callback (hard-IRQ context).
///
/// # Safety
///
/// Called by the irq_work core with the `irq` field of a `Fabric` that `in_hardirq` queued.
unsafe extern "C" fn irq_deliver(work: *mut raw::irq_work) {
    // SAFETY: `work` is the `irq` field of a live `Fabric` (the engine that queued it waits for
    // this callback); `Opaque` is `repr(transparent)`.
    let fabric =
        unsafe { &*kernel::container_of!(work.cast::<Opaque<raw::irq_work>>(), Fabric, irq) };
    let ev = fabric.irq_events.load(Ordering::Acquire);
    if !ev.is_null() {
        // SAFETY: `in_hardirq` set it to its caller's events and waits for us.
        unsafe { (*ev).deliver_hardirq() };
    }
}

// SAFETY: The HCA pointers are only dereferenced while the HCA is attached (`detach` stops the
// engine before an HCA goes away, and the other users hold the slot lock).
unsafe impl Send for Fabric {}
// SAFETY: As above.
unsafe impl Sync for Fabric {}

impl Fabric {
    /// An empty cable.
    pub(crate) fn new() -> Result<Arc<Self>> {
        let empty = Slot {
            hca: ptr::null(),
            taken: false,
            open: false,
        };
        let mut scratch = KBox::<Scratch>::new_uninit(GFP_KERNEL)?;
        // SAFETY: `Scratch` is plain bytes, for which all zeroes is a valid value.
        let scratch = unsafe {
            core::ptr::write_bytes(scratch.as_mut_ptr(), 0, 1);
            scratch.assume_init()
        };
        Arc::pin_init(
            pin_init!(Self {
                slots <- new_spinlock!([empty; NUM_HCAS], "mlx4_model::fabric"),
                scratch <- new_mutex!(scratch, "mlx4_model::scratch"),
                engine <- DelayedWork::new(),
                enabled: AtomicBool::new(true),
                irq <- Opaque::ffi_init(|p| {
                    // SAFETY: `p` is valid for writes of an `irq_work`.
                    unsafe { raw::init_irq_work(p, Some(irq_deliver)) }
                }),
                irq_events: AtomicPtr::new(ptr::null_mut()),
            }),
            GFP_KERNEL,
        )
    }

    /// Delivers `ev`'s events from hard-IRQ context (an `irq_work` on this CPU, a self-IPI
    /// on x86) and waits until that is done.
    pub(crate) fn in_hardirq(&self, ev: &mut Events) {
        self.irq_events.store(ev, Ordering::Release);
        // SAFETY: `irq` was initialised in `new`; only the engine work item queues it, and it
        // waits for it, so it is never pending here and `ev` outlives the callback.
        unsafe {
            raw::irq_work_queue(self.irq.get());
            raw::irq_work_sync(self.irq.get());
        }
        self.irq_events.store(ptr::null_mut(), Ordering::Release);
    }

    /// The engine work item: passes while there is work, then polls again in a jiffy (at once
    /// with `busy_poll` set, for the latency benchmark).
    fn engine_run(self: Arc<Self>) {
        let busy = {
            let mut scratch = self.scratch.lock();
            let mut busy = false;
            for _ in 0..8 {
                if !self.engine_pass(&mut scratch) {
                    break;
                }
                busy = true;
            }
            busy
        };
        if self.enabled.load(Ordering::Acquire) && self.hca_ptrs().iter().any(|p| !p.is_null()) {
            let now = busy || busy_poll_param::get() != 0;
            DelayedWork::queue(&self, if now { 0 } else { 1 });
        }
    }

    /// Starts the engine (if it may run).
    pub(crate) fn start(self: &Arc<Self>) {
        if self.enabled.load(Ordering::Acquire) {
            DelayedWork::queue(self, 0);
        }
    }

    /// Stops the engine for good (module unload).
    pub(crate) fn shutdown(self: &Arc<Self>) {
        self.enabled.store(false, Ordering::Release);
        DelayedWork::cancel_sync(self);
    }

    /// The HCAs plugged in (null: none).
    pub(crate) fn hca_ptrs(&self) -> [*const Hca; NUM_HCAS] {
        self.slots.lock().map(|s| s.hca)
    }

    /// Takes a free end of the cable; returns its index.
    pub(crate) fn reserve(&self) -> Option<u32> {
        let mut s = self.slots.lock();
        let i = s.iter().position(|x| !x.taken)?;
        s[i].taken = true;
        Some(i as u32)
    }

    /// Plugs `hca` (reserved at `index`) into the cable and runs the engine.
    pub(crate) fn attach(self: &Arc<Self>, index: u32, hca: &Hca) {
        self.slots.lock()[index as usize].hca = hca;
        self.start();
    }

    /// Unplugs the HCA at `index` and frees the end. Its port must be closed. The engine is
    /// stopped meanwhile, so that no pass still uses the HCA.
    pub(crate) fn detach(self: &Arc<Self>, index: u32) {
        // Unplug first, so that no pass started from now on sees the HCA, then wait for a
        // pass that may still hold it.
        self.slots.lock()[index as usize] = Slot {
            hca: ptr::null(),
            taken: false,
            open: false,
        };
        DelayedWork::cancel_sync(self);
        self.start();
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
