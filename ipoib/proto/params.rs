// SPDX-License-Identifier: GPL-2.0

//! The C driver's rounding and clamping of the module parameters (`ipoib_init_module`).

/// Smallest ring (`IPOIB_MIN_QUEUE_SIZE`).
pub(crate) const MIN_QUEUE_SIZE: i32 = 2;
/// Largest ring (`IPOIB_MAX_QUEUE_SIZE`).
pub(crate) const MAX_QUEUE_SIZE: i32 = 8192;
/// TX completions polled per batch (`MAX_SEND_CQE`); the send ring holds at least two batches.
pub(crate) const MAX_SEND_CQE: i32 = 64;
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
    ring_size(v, (2 * MAX_SEND_CQE).max(MIN_QUEUE_SIZE))
}

/// Returns the effective `max_nonsrq_conn_qp` for the requested value.
pub(crate) fn max_conn_qp(v: i32) -> i32 {
    v.clamp(0, CM_MAX_CONN_QP)
}

#[cfg(test)]
mod tests {
    use super::*;

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
