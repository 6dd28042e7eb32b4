// SPDX-License-Identifier: GPL-2.0

//! MTU rules of datagram mode (`ipoib_change_mtu`, `IPOIB_UD_MTU`).

use super::header::{ENCAP_LEN, GRH_LEN};

/// The smallest MTU `ip link set mtu` accepts (`ETH_MIN_MTU + IPOIB_ENCAP_LEN`).
pub(crate) const MIN_MTU: u32 = 68 + ENCAP_LEN as u32;

/// The largest MTU of any IPoIB interface (connected mode, `IPOIB_CM_MTU`).
pub(crate) const CM_MTU: u32 = 0x10000 - 0x10;

/// The IP MTU of datagram mode over a link whose IB MTU is `ib_mtu` bytes (`IPOIB_UD_MTU`).
pub(crate) fn ud_mtu(ib_mtu: u32) -> u32 {
    ib_mtu.saturating_sub(ENCAP_LEN as u32)
}

/// The size of a UD receive buffer for an IB MTU (`IPOIB_UD_BUF_SIZE`).
pub(crate) fn ud_buf_size(ib_mtu: u32) -> u32 {
    ib_mtu + GRH_LEN as u32
}

/// Whether `new_mtu` is accepted in datagram mode on a link with IB MTU `ib_mtu`.
pub(crate) fn ud_mtu_valid(new_mtu: i32, ib_mtu: u32) -> bool {
    u32::try_from(new_mtu).is_ok_and(|m| (MIN_MTU..=ud_mtu(ib_mtu)).contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ud_mtus() {
        assert_eq!(ud_mtu(1024), 1020);
        assert_eq!(ud_mtu(2048), 2044);
        assert_eq!(ud_mtu(4096), 4092);
        assert_eq!(ud_buf_size(4096), 4136);
    }

    #[test]
    fn change_mtu_bounds() {
        assert!(ud_mtu_valid(72, 1024));
        assert!(!ud_mtu_valid(71, 1024));
        assert!(ud_mtu_valid(1020, 1024));
        assert!(!ud_mtu_valid(1021, 1024));
        assert!(ud_mtu_valid(4092, 4096));
        assert!(!ud_mtu_valid(-1, 4096));
        assert_eq!(CM_MTU, 65520);
    }
}
