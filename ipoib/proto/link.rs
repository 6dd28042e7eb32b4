// SPDX-License-Identifier: GPL-2.0

//! Link speed as ethtool reports it for an IPoIB interface (`ipoib_get_link_ksettings`): the
//! per-lane rate of the port's `active_speed` times the lanes of its `active_width`.

/// Mbit/s per lane of an `enum ib_port_speed` value (`ib_speed_enum_to_int` in
/// ipoib_ethtool.c), `None` for values C reports as `SPEED_UNKNOWN`.
pub(crate) fn lane_mbps(active_speed: u16) -> Option<u32> {
    Some(match active_speed {
        1 => 2_500,      // SDR
        2 => 5_000,      // DDR
        4 | 8 => 10_000, // QDR, FDR10
        16 => 14_000,    // FDR
        32 => 25_000,    // EDR
        64 => 50_000,    // HDR
        128 => 100_000,  // NDR
        256 => 200_000,  // XDR
        _ => return None,
    })
}

/// Lanes of an `enum ib_port_width` value (`ib_width_enum_to_int`).
pub(crate) fn lanes(active_width: u8) -> Option<u32> {
    Some(match active_width {
        1 => 1,
        16 => 2,
        2 => 4,
        4 => 8,
        8 => 12,
        _ => return None,
    })
}

/// The speed ethtool shows, in Mbit/s; `None` where C fails with `EINVAL`.
pub(crate) fn speed_mbps(active_speed: u16, active_width: u8) -> Option<u32> {
    Some(lane_mbps(active_speed)? * lanes(active_width)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds() {
        assert_eq!(speed_mbps(32, 2), Some(100_000)); // EDR 4x
        assert_eq!(speed_mbps(4, 2), Some(40_000)); // QDR 4x (ConnectX-3)
        assert_eq!(speed_mbps(16, 2), Some(56_000)); // FDR 4x
        assert_eq!(speed_mbps(1, 1), Some(2_500)); // SDR 1x
        assert_eq!(speed_mbps(64, 8), Some(600_000)); // HDR 12x
        assert_eq!(speed_mbps(3, 2), None);
        assert_eq!(speed_mbps(32, 3), None);
    }
}
