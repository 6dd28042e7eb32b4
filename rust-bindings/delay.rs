// SPDX-License-Identifier: GPL-2.0

//! Sleeping for a while (`msleep`) and reading the clock (`jiffies`), which `kernel` lacks in
//! 6.12.

use crate::rust_bindings::raw;

/// Sleeps for at least `ms` milliseconds; process context only.
pub(crate) fn msleep(ms: u32) {
    // SAFETY: `msleep` may be called from any sleepable context, which callers are in.
    unsafe { raw::msleep(ms) }
}

/// Returns the current `jiffies`.
pub(crate) fn jiffies() -> u64 {
    // SAFETY: Reads a counter the timer interrupt updates; any value is valid.
    (unsafe { raw::jiffies_now() }) as u64
}
