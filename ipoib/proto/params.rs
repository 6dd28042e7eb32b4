// SPDX-License-Identifier: GPL-2.0

//! The C driver's rounding and clamping of the module parameters (`ipoib_init_module`).

/// Smallest ring (`IPOIB_MIN_QUEUE_SIZE`).
pub(crate) const MIN_QUEUE_SIZE: i32 = 2;
/// Largest ring (`IPOIB_MAX_QUEUE_SIZE`).
pub(crate) const MAX_QUEUE_SIZE: i32 = 8192;
/// TX completions polled per batch (`MAX_SEND_CQE`); the send ring holds at least two batches.
pub(crate) const MAX_SEND_CQE: i32 = 64;
/// Smallest send ring: two batches of completions.
pub(crate) const MIN_SEND_QUEUE_SIZE: i32 = 2 * MAX_SEND_CQE;
/// Largest `max_nonsrq_conn_qp` (`IPOIB_CM_MAX_CONN_QP`).
pub(crate) const CM_MAX_CONN_QP: i32 = 4096;

/// Rounds `v` up to a power of two and clamps it to `[min, MAX_QUEUE_SIZE]`.
///
/// C applies `roundup_pow_of_two()` to the raw `int`, which is undefined for 0 and negative
/// values and, for values above 2^30, stores 2^31 back into the `int` (negative) so the clamp
/// yields the minimum. Here 0 and negative values give the minimum and large values the
/// maximum, which is what the C code evidently intends.
fn ring_size(v: i32, min: i32) -> i32 {
    if v <= 0 {
        return min;
    }
    if v > MAX_QUEUE_SIZE {
        return MAX_QUEUE_SIZE;
    }
    // `v` is in 1..=8192 here, so the power of two fits.
    let rounded = i32::try_from(v.unsigned_abs().next_power_of_two()).unwrap_or(MAX_QUEUE_SIZE);
    rounded.clamp(min, MAX_QUEUE_SIZE)
}

/// Returns the effective `recv_queue_size` for the requested value.
pub(crate) fn recv_queue_size(v: i32) -> i32 {
    ring_size(v, MIN_QUEUE_SIZE)
}

/// Returns the effective `send_queue_size` for the requested value.
pub(crate) fn send_queue_size(v: i32) -> i32 {
    ring_size(v, MIN_SEND_QUEUE_SIZE.max(MIN_QUEUE_SIZE))
}

/// Returns the most ring entries `ethtool -G` offers on a device whose queues take at most
/// `limit` work requests: the largest power of two within both `limit` and
/// `MAX_QUEUE_SIZE` (so that rounding a request up never exceeds it), at least `min`.
pub(crate) fn ring_max(limit: u32, min: i32) -> u32 {
    let cap = limit.min(MAX_QUEUE_SIZE.unsigned_abs());
    let pow = if cap == 0 {
        0
    } else {
        1u32 << (31 - cap.leading_zeros())
    };
    pow.max(min.unsigned_abs())
}

/// Returns the ring size `ethtool -G` sets for a request of `v` entries (at most `max`, as
/// the ethtool core checks): rounded up to a power of two and no smaller than `min`, as the
/// module parameters are.
pub(crate) fn ring_request(v: u32, min: i32, max: u32) -> u32 {
    v.checked_next_power_of_two()
        .unwrap_or(max)
        .clamp(min.unsigned_abs(), max.max(min.unsigned_abs()))
}

/// Returns the slot of a ring of `size` entries (a power of two, as every ring size is) that
/// the `seq`-th work request uses: `seq % size` without a division, as C masks its ring
/// indices (`tx_head & (ipoib_sendq_size - 1)`).
pub(crate) fn ring_slot(seq: u64, size: usize) -> usize {
    debug_assert!(size.is_power_of_two());
    (seq & (size as u64).wrapping_sub(1)) as usize
}

/// Returns the effective `max_nonsrq_conn_qp` for the requested value.
pub(crate) fn max_conn_qp(v: i32) -> i32 {
    v.clamp(0, CM_MAX_CONN_QP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_slots() {
        for size in [2usize, 128, 512, 8192] {
            for seq in [0u64, 1, 127, 128, 511, 512, 8191, 8192, u64::MAX] {
                assert_eq!(ring_slot(seq, size) as u64, seq % size as u64);
            }
        }
        // Every ring size the parameters and ethtool allow is a power of two.
        for v in [-1, 0, 1, 3, 100, 129, 5000, 8192, 9000, i32::MAX] {
            assert!(send_queue_size(v).unsigned_abs().is_power_of_two());
            assert!(recv_queue_size(v).unsigned_abs().is_power_of_two());
        }
        assert!(ring_request(3000, MIN_SEND_QUEUE_SIZE, 8192).is_power_of_two());
    }

    #[test]
    fn ethtool_rings() {
        let rx_min = MIN_QUEUE_SIZE;
        let tx_min = MIN_SEND_QUEUE_SIZE;
        // The maximum is a power of two within the device's limit and the driver's.
        assert_eq!(ring_max(16384, rx_min), 8192);
        assert_eq!(ring_max(16351, rx_min), 8192);
        assert_eq!(ring_max(8000, rx_min), 4096);
        assert_eq!(ring_max(8192, rx_min), 8192);
        assert_eq!(ring_max(1, tx_min), 128);
        assert_eq!(ring_max(0, rx_min), 2);
        // Requests round up, never past the maximum, never below the minimum.
        assert_eq!(ring_request(512, rx_min, 8192), 512);
        assert_eq!(ring_request(300, rx_min, 8192), 512);
        assert_eq!(ring_request(4097, rx_min, 8192), 8192);
        assert_eq!(ring_request(0, rx_min, 8192), 2);
        assert_eq!(ring_request(1, rx_min, 8192), 2);
        assert_eq!(ring_request(3, tx_min, 8192), 128);
        assert_eq!(ring_request(200, tx_min, 8192), 256);
        assert_eq!(ring_request(u32::MAX, rx_min, 8192), 8192);
        // Within the maximum a request always fits after rounding.
        for max in [2u32, 128, 4096, 8192] {
            for v in 0..=max {
                let r = ring_request(v, rx_min, max);
                assert!(
                    r >= v && r <= max && r.is_power_of_two(),
                    "{v} -> {r} (max {max})"
                );
            }
        }
    }

    #[test]
    fn defaults_are_kept() {
        assert_eq!(recv_queue_size(256), 256);
        assert_eq!(send_queue_size(128), 128);
        assert_eq!(max_conn_qp(128), 128);
    }

    #[test]
    fn rounds_up_to_power_of_two() {
        assert_eq!(recv_queue_size(3), 4);
        assert_eq!(recv_queue_size(300), 512);
        assert_eq!(recv_queue_size(4097), 8192);
        assert_eq!(send_queue_size(129), 256);
        assert_eq!(send_queue_size(1000), 1024);
    }

    #[test]
    fn clamps_to_bounds() {
        assert_eq!(recv_queue_size(1), 2);
        assert_eq!(recv_queue_size(0), 2);
        assert_eq!(recv_queue_size(-5), 2);
        assert_eq!(recv_queue_size(8193), 8192);
        assert_eq!(recv_queue_size(i32::MAX), 8192);
        assert_eq!(send_queue_size(1), 128);
        assert_eq!(send_queue_size(64), 128);
        assert_eq!(send_queue_size(-1), 128);
        assert_eq!(send_queue_size(100_000), 8192);
        assert_eq!(max_conn_qp(-3), 0);
        assert_eq!(max_conn_qp(99_999), 4096);
        assert_eq!(max_conn_qp(0), 0);
    }

    #[test]
    fn results_are_powers_of_two_in_range() {
        for v in -10..20_000 {
            for r in [recv_queue_size(v), send_queue_size(v)] {
                assert!((MIN_QUEUE_SIZE..=MAX_QUEUE_SIZE).contains(&r));
                assert_eq!(r.count_ones(), 1, "{v} -> {r}");
                if v > 0 && v <= MAX_QUEUE_SIZE {
                    assert!(r >= v);
                }
            }
        }
    }
}
