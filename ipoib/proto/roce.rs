// SPDX-License-Identifier: GPL-2.0

//! IPoIB over RoCE: how destinations map to Ethernet addresses without a subnet manager.
//!
//! Unicast peers are addressed by their default GID (index 0), `fe80::` + the modified EUI-64 of
//! the underlay MAC, so the MAC follows from the GID (`rdma_get_ll_mac`, include/rdma/ib_addr.h).
//! Multicast groups are IPv6 multicast addresses (the IPoIB MGIDs `ff12:401b:...`), sent to
//! `33:33` + their last 32 bits (`ipv6_eth_mc_map`, `rdma_get_mcast_mac`).

/// The Q_Key every node uses on RoCE, where no broadcast group record supplies one: OpenSM's
/// default for the IPoIB broadcast group (`OSM_IPOIB_BROADCAST_MGRP_QKEY`).
pub(crate) const DEFAULT_QKEY: u32 = 0x0b1b;

/// Q_Keys with the high bit set are "controlled" and cannot be used in a UD send WR.
pub(crate) fn qkey_valid(qkey: u32) -> bool {
    qkey & 0x8000_0000 == 0
}

/// Returns the MAC a link-local GID (`fe80::/64` with an EUI-64 `xx:xx:xx:ff:fe:xx:xx:xx`
/// interface id) was derived from, or `None` for any other GID.
pub(crate) fn mac_from_link_local_gid(gid: &[u8; 16]) -> Option<[u8; 6]> {
    if gid[..8] != [0xfe, 0x80, 0, 0, 0, 0, 0, 0] || gid[11] != 0xff || gid[12] != 0xfe {
        return None;
    }
    Some([gid[8] ^ 0x02, gid[9], gid[10], gid[13], gid[14], gid[15]])
}

/// Returns the Ethernet multicast address an MGID is sent to.
pub(crate) fn multicast_mac(mgid: &[u8; 16]) -> [u8; 6] {
    [0x33, 0x33, mgid[12], mgid[13], mgid[14], mgid[15]]
}

/// The IPv6 hop limit for a destination: 1 inside the link (link-local unicast, link-scope
/// multicast), 64 otherwise.
pub(crate) fn hop_limit(gid: &[u8; 16]) -> u8 {
    let link_local_unicast = gid[0] == 0xfe && gid[1] & 0xc0 == 0x80;
    let link_scope_multicast = gid[0] == 0xff && gid[1] & 0x0f == 0x2;
    if link_local_unicast || link_scope_multicast {
        1
    } else {
        64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_from_default_gid() {
        // rxe0 on a NIC with MAC 52:54:00:12:34:01 has GID fe80::5054:ff:fe12:3401.
        let gid = [
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x01,
        ];
        assert_eq!(
            mac_from_link_local_gid(&gid),
            Some([0x52, 0x54, 0x00, 0x12, 0x34, 0x01])
        );
        let mut not_eui64 = gid;
        not_eui64[12] = 0x00;
        assert_eq!(mac_from_link_local_gid(&not_eui64), None);
        let mut global = gid;
        global[0] = 0x20;
        assert_eq!(mac_from_link_local_gid(&global), None);
    }

    #[test]
    fn multicast_macs() {
        let mut bcast = [0u8; 16];
        bcast[..6].copy_from_slice(&[0xff, 0x12, 0x40, 0x1b, 0xff, 0xff]);
        bcast[12..].copy_from_slice(&[0xff; 4]);
        assert_eq!(multicast_mac(&bcast), [0x33, 0x33, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn hop_limits() {
        let mut g = [0u8; 16];
        g[0] = 0xfe;
        g[1] = 0x80;
        assert_eq!(hop_limit(&g), 1);
        g[0] = 0xff;
        g[1] = 0x12;
        assert_eq!(hop_limit(&g), 1);
        g[1] = 0x15;
        assert_eq!(hop_limit(&g), 64);
        g[0] = 0x20;
        g[1] = 0x01;
        assert_eq!(hop_limit(&g), 64);
    }

    #[test]
    fn qkeys() {
        assert!(qkey_valid(DEFAULT_QKEY));
        assert!(!qkey_valid(0x8000_0001));
    }
}
