// SPDX-License-Identifier: GPL-2.0

//! The 20-byte IPoIB hardware address and the multicast addresses derived from it.
//!
//! Layout (RFC 4391 section 9.1.1): byte 0 flags, bytes 1-3 the UD QPN, bytes 4-19 a GID. A
//! multicast address has QPN `0xffffff` and an MGID `ff1s:<sig>:<pkey>::<group bits>`, where `s`
//! is the scope and the signature is `401b` for IPv4 and `601b` for IPv6.
//! C: `ipv4_bcast_addr` (ipoib_main.c), `ip_ib_mc_map` (include/net/ip.h), `ipv6_ib_mc_map`
//! (include/net/if_inet6.h), `ipoib_mcast_addr_is_valid` (ipoib_multicast.c).

/// Length of the hardware address (`INFINIBAND_ALEN`).
pub(crate) const ALEN: usize = 20;

/// Flag: the owner accepts RFC 4755 connected-mode connections (`IPOIB_FLAGS_RC`).
pub(crate) const FLAG_RC: u8 = 0x80;
/// Flag: unreliable-connected mode (`IPOIB_FLAGS_UC`); defined by the RFC, unused.
pub(crate) const FLAG_UC: u8 = 0x40;

/// The QPN of multicast and broadcast addresses.
pub(crate) const MULTICAST_QPN: u32 = 0x00ff_ffff;

/// The full-membership bit of a P_Key; IPoIB always sets it in the broadcast address.
pub(crate) const PKEY_FULL_MEMBER: u16 = 0x8000;

/// Link-local scope of the broadcast group (`ff12:...`).
const SCOPE_LINK_LOCAL: u8 = 0x2;

/// An IPoIB hardware address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HwAddr(pub(crate) [u8; ALEN]);

impl HwAddr {
    /// Builds a unicast address from the connected-mode flags, the UD QPN and the port GID.
    ///
    /// Only the low 24 bits of `qpn` are used.
    pub(crate) fn new(flags: u8, qpn: u32, gid: &[u8; 16]) -> Self {
        let mut a = [0u8; ALEN];
        a[0] = flags;
        a[1..4].copy_from_slice(&(qpn & MULTICAST_QPN).to_be_bytes()[1..]);
        a[4..].copy_from_slice(gid);
        Self(a)
    }

    /// The broadcast address of the partition `pkey` (the full-member bit is set, as C does).
    pub(crate) fn broadcast(pkey: u16) -> Self {
        let mut gid = [0u8; 16];
        gid[0] = 0xff;
        gid[1] = 0x10 | SCOPE_LINK_LOCAL;
        gid[2] = 0x40;
        gid[3] = 0x1b;
        gid[4..6].copy_from_slice(&(pkey | PKEY_FULL_MEMBER).to_be_bytes());
        gid[12..].copy_from_slice(&[0xff; 4]);
        Self::new(0, MULTICAST_QPN, &gid)
    }

    /// Returns the flags byte.
    pub(crate) fn flags(&self) -> u8 {
        self.0[0]
    }

    /// Returns whether the owner accepts connected-mode connections.
    pub(crate) fn cm_supported(&self) -> bool {
        self.flags() & FLAG_RC != 0
    }

    /// Returns the 24-bit QPN.
    pub(crate) fn qpn(&self) -> u32 {
        u32::from_be_bytes([0, self.0[1], self.0[2], self.0[3]])
    }

    /// Returns the GID (or MGID).
    pub(crate) fn gid(&self) -> [u8; 16] {
        let mut g = [0u8; 16];
        g.copy_from_slice(&self.0[4..]);
        g
    }

    /// Returns whether this is a multicast address (the GID is an MGID, first byte `0xff`).
    pub(crate) fn is_multicast(&self) -> bool {
        self.0[4] == 0xff
    }

    /// Returns the P_Key stored in a multicast address (MGID bytes 4-5).
    pub(crate) fn mcast_pkey(&self) -> u16 {
        u16::from_be_bytes([self.0[8], self.0[9]])
    }

    /// Maps an IPv4 multicast group (network order) to its address in the partition and scope
    /// of `broadcast` (`ip_ib_mc_map`): the low 28 bits of the group go in the last 4 bytes.
    pub(crate) fn ipv4_multicast(group: [u8; 4], broadcast: &HwAddr) -> Self {
        let mut a = Self::mcast_base(0x40, broadcast);
        a.0[16] = group[0] & 0x0f;
        a.0[17..].copy_from_slice(&group[1..]);
        a
    }

    /// Maps an IPv6 multicast group to its address in the partition and scope of `broadcast`
    /// (`ipv6_ib_mc_map`): bytes 6-15 of the group go in the last 10 bytes.
    pub(crate) fn ipv6_multicast(group: &[u8; 16], broadcast: &HwAddr) -> Self {
        let mut a = Self::mcast_base(0x60, broadcast);
        a.0[10..].copy_from_slice(&group[6..]);
        a
    }

    fn mcast_base(signature: u8, broadcast: &HwAddr) -> Self {
        let mut a = [0u8; ALEN];
        a[1..5].copy_from_slice(&[0xff; 4]);
        a[5] = 0x10 | (broadcast.0[5] & 0x0f);
        a[6] = signature;
        a[7] = 0x1b;
        a[8] = broadcast.0[8];
        a[9] = broadcast.0[9];
        Self(a)
    }

    /// Returns whether this multicast address belongs to the partition and scope of
    /// `broadcast`, i.e. whether the interface may join it (`ipoib_mcast_addr_is_valid`):
    /// reserved byte, QPN, MGID prefix and scope, low signature byte and P_Key must match.
    pub(crate) fn mcast_matches(&self, broadcast: &HwAddr) -> bool {
        self.0[..6] == broadcast.0[..6] && self.0[7..10] == broadcast.0[7..10]
    }

    /// Returns the EUI-64 interface identifier IPv6 derives from this address
    /// (`addrconf_ifid_infiniband`): the port GUID with the universal/local bit set.
    pub(crate) fn ipv6_interface_id(&self) -> [u8; 8] {
        let mut id = [0u8; 8];
        id.copy_from_slice(&self.0[12..]);
        id[0] |= 0x02;
        id
    }
}

/// Displays a GID as C's debugfs tables do (`format_gid` in ipoib_fs.c): eight 16-bit groups
/// in lower-case hex without leading zeros, colon-separated, no `::` compression.
pub(crate) struct GidFmt<'a>(pub(crate) &'a [u8; 16]);

impl core::fmt::Display for GidFmt<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, w) in self.0.chunks_exact(2).enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{:x}", u16::from_be_bytes([w[0], w[1]]))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> [u8; ALEN] {
        let v: Vec<u8> = s
            .split(':')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        v.try_into().unwrap()
    }

    #[test]
    fn broadcast_default_partition() {
        // `ip link show ib0` on any IPoIB interface in the default partition.
        let b = HwAddr::broadcast(0xffff);
        assert_eq!(
            b.0,
            parse("00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:ff:ff:ff:ff")
        );
        assert!(b.is_multicast());
        assert_eq!(b.qpn(), MULTICAST_QPN);
        assert_eq!(b.mcast_pkey(), 0xffff);
        assert!(!b.cm_supported());
    }

    #[test]
    fn broadcast_sets_full_member_bit() {
        let b = HwAddr::broadcast(0x0001);
        assert_eq!(
            b.0,
            parse("00:ff:ff:ff:ff:12:40:1b:80:01:00:00:00:00:00:00:ff:ff:ff:ff")
        );
        assert_eq!(HwAddr::broadcast(0x8001), b);
    }

    #[test]
    fn unicast_layout() {
        let gid = [
            0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x01,
        ];
        let a = HwAddr::new(FLAG_RC, 0x11, &gid);
        assert_eq!(
            a.0,
            parse("80:00:00:11:fe:80:00:00:00:00:00:00:50:54:00:ff:fe:12:34:01")
        );
        assert_eq!(a.qpn(), 0x11);
        assert_eq!(a.gid(), gid);
        assert!(a.cm_supported());
        assert!(!a.is_multicast());
        // Only 24 bits of QPN fit.
        assert_eq!(HwAddr::new(0, 0x1ab_cdef, &gid).qpn(), 0xab_cdef);
        // fe80::5054:ff:fe12:3401 is the IPv6 link-local address IPv6 gives this interface.
        assert_eq!(
            a.ipv6_interface_id(),
            [0x52, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x01]
        );
    }

    #[test]
    fn ipv4_groups() {
        let b = HwAddr::broadcast(0xffff);
        // 224.0.0.1 (all hosts).
        let m = HwAddr::ipv4_multicast([224, 0, 0, 1], &b);
        assert_eq!(
            m.0,
            parse("00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:00:00:00:01")
        );
        // 239.1.2.3: only the low 28 bits of the group are kept.
        let m = HwAddr::ipv4_multicast([239, 1, 2, 3], &b);
        assert_eq!(
            m.0,
            parse("00:ff:ff:ff:ff:12:40:1b:ff:ff:00:00:00:00:00:00:0f:01:02:03")
        );
        assert!(m.mcast_matches(&b));
        // Partition 0x8001.
        let b1 = HwAddr::broadcast(0x8001);
        let m = HwAddr::ipv4_multicast([224, 0, 0, 251], &b1);
        assert_eq!(
            m.0,
            parse("00:ff:ff:ff:ff:12:40:1b:80:01:00:00:00:00:00:00:00:00:00:fb")
        );
        assert!(!m.mcast_matches(&b));
    }

    #[test]
    fn ipv6_groups() {
        let b = HwAddr::broadcast(0xffff);
        // ff02::1 (all nodes).
        let mut g = [0u8; 16];
        g[0] = 0xff;
        g[1] = 0x02;
        g[15] = 1;
        let m = HwAddr::ipv6_multicast(&g, &b);
        assert_eq!(
            m.0,
            parse("00:ff:ff:ff:ff:12:60:1b:ff:ff:00:00:00:00:00:00:00:00:00:01")
        );
        // The IPv6 signature differs from the broadcast's only in byte 6, which is not compared.
        assert!(m.mcast_matches(&b));
        // ff02::1:ff12:3401 (solicited-node).
        let g = [
            0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x12, 0x34, 0x01,
        ];
        let m = HwAddr::ipv6_multicast(&g, &b);
        assert_eq!(
            m.0,
            parse("00:ff:ff:ff:ff:12:60:1b:ff:ff:00:00:00:00:00:01:ff:12:34:01")
        );
    }

    #[test]
    fn mcast_validity_checks_each_field() {
        let b = HwAddr::broadcast(0xffff);
        let good = HwAddr::ipv4_multicast([224, 0, 0, 1], &b);
        for i in [0usize, 1, 2, 3, 4, 5, 7, 8, 9] {
            let mut bad = good;
            bad.0[i] ^= 0x01;
            assert!(!bad.mcast_matches(&b), "byte {i}");
        }
        let mut sig = good;
        sig.0[6] = 0x60;
        assert!(sig.mcast_matches(&b));
    }

    #[test]
    fn gid_display_as_c() {
        extern crate std;
        use std::format;
        let g = HwAddr::broadcast(0xffff).gid();
        assert_eq!(format!("{}", GidFmt(&g)), "ff12:401b:ffff:0:0:0:ffff:ffff");
        let mut l = [0u8; 16];
        l[0] = 0xfe;
        l[1] = 0x80;
        l[8..].copy_from_slice(&[0x52, 0x54, 0x00, 0xff, 0xfe, 0x12, 0x34, 0x01]);
        assert_eq!(format!("{}", GidFmt(&l)), "fe80:0:0:0:5254:ff:fe12:3401");
    }
}
