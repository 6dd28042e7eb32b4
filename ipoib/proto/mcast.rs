// SPDX-License-Identifier: GPL-2.0

//! Multicast join retries on InfiniBand (ipoib_multicast.c): a failed join is tried again after
//! a delay that doubles from 1 second up to `IPOIB_MAX_BACKOFF_SECONDS`, and the failures of a
//! group are logged at most 20 times (C's `logcount`).

/// The longest wait between two attempts to join a group (`IPOIB_MAX_BACKOFF_SECONDS`).
pub(crate) const MAX_BACKOFF_SECS: u32 = 16;

/// Failures of one group that are logged; later ones are not.
pub(crate) const MAX_LOGGED_FAILURES: u32 = 20;

/// Returns the delay, in seconds, before the next attempt to join a group whose joins failed
/// `failures` times in a row (at least once).
pub(crate) fn backoff_secs(failures: u32) -> u32 {
    match failures {
        0 | 1 => 1,
        n => 1u32
            .checked_shl(n - 1)
            .unwrap_or(MAX_BACKOFF_SECS)
            .min(MAX_BACKOFF_SECS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let seen: [u32; 7] = core::array::from_fn(|i| backoff_secs(i as u32 + 1));
        assert_eq!(seen, [1, 2, 4, 8, 16, 16, 16]);
        assert_eq!(backoff_secs(0), 1);
        assert_eq!(backoff_secs(33), MAX_BACKOFF_SECS);
        assert_eq!(backoff_secs(u32::MAX), MAX_BACKOFF_SECS);
    }
}
