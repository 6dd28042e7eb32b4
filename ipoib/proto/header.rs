// SPDX-License-Identifier: GPL-2.0

//! Framing: the 4-byte IPoIB header, the 20-byte pseudo header, the 40-byte GRH slot of UD
//! receive buffers, and the rules on which EtherTypes may be sent.
//!
//! C: `struct ipoib_header`, `struct ipoib_pseudo_header` (ipoib.h), `ipoib_hard_header`,
//! `ipoib_start_xmit` (ipoib_main.c), `ipoib_ib_handle_rx_wc` (ipoib_ib.c).

/// Length of the IPoIB encapsulation header (`IPOIB_ENCAP_LEN`): EtherType, then 2 reserved
/// bytes (RFC 4391 section 6).
pub(crate) const ENCAP_LEN: usize = 4;
/// Length of the pseudo header carrying the destination hardware address between
/// `header_ops.create` and `ndo_start_xmit` (`IPOIB_PSEUDO_LEN`).
pub(crate) const PSEUDO_LEN: usize = 20;
/// `hard_header_len` of an IPoIB device (`IPOIB_HARD_LEN`).
pub(crate) const HARD_LEN: usize = ENCAP_LEN + PSEUDO_LEN;
/// The GRH slot at the start of every UD receive buffer (`IB_GRH_BYTES`).
pub(crate) const GRH_LEN: usize = 40;

/// EtherType of IPv4.
pub(crate) const ETH_P_IP: u16 = 0x0800;
/// EtherType of ARP.
pub(crate) const ETH_P_ARP: u16 = 0x0806;
/// EtherType of RARP.
pub(crate) const ETH_P_RARP: u16 = 0x8035;
/// EtherType of IPv6.
pub(crate) const ETH_P_IPV6: u16 = 0x86dd;
/// EtherType of TIPC.
pub(crate) const ETH_P_TIPC: u16 = 0x88ca;

/// Encodes the encapsulation header for `proto` (host order).
pub(crate) fn encap(proto: u16) -> [u8; ENCAP_LEN] {
    let p = proto.to_be_bytes();
    [p[0], p[1], 0, 0]
}

/// Returns the EtherType (host order) of an encapsulation header at the start of `data`.
pub(crate) fn ethertype(data: &[u8]) -> Option<u16> {
    match data {
        [a, b, _, _, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// What the C driver sends for each EtherType.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TxClass {
    /// Through the neighbour's path (IP, IPv6, TIPC) or a multicast group.
    Send,
    /// Unicast ARP/RARP: always through a fresh path lookup.
    Arp,
    /// Not carried by IPoIB: counted in `tx_dropped`.
    Drop,
}

/// Classifies a packet of `proto` to a unicast or multicast destination.
pub(crate) fn tx_class(proto: u16, multicast: bool) -> TxClass {
    match (proto, multicast) {
        (ETH_P_IP | ETH_P_IPV6 | ETH_P_TIPC, _) => TxClass::Send,
        (ETH_P_ARP | ETH_P_RARP, true) => TxClass::Send,
        (ETH_P_ARP | ETH_P_RARP, false) => TxClass::Arp,
        _ => TxClass::Drop,
    }
}

/// How the 40-byte GRH slot of a UD receive buffer is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GrhLayout {
    /// IB GRH or IPv6 header (RoCEv2 over IPv6): source GID at 8, destination GID at 24.
    Ipv6,
    /// RoCEv2 over IPv4: 20 unused bytes, then the IPv4 header (addresses at 32 and 36).
    Ipv4,
}

/// Source and destination GIDs read from a GRH slot (IPv4 addresses as IPv4-mapped GIDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GrhGids {
    pub(crate) sgid: [u8; 16],
    pub(crate) dgid: [u8; 16],
}

fn ipv4_mapped(a: &[u8]) -> [u8; 16] {
    let mut g = [0u8; 16];
    g[10] = 0xff;
    g[11] = 0xff;
    g[12..].copy_from_slice(&a[..4]);
    g
}

/// Reads the GIDs from the GRH slot `grh` (at least [`GRH_LEN`] bytes).
pub(crate) fn grh_gids(grh: &[u8], layout: GrhLayout) -> Option<GrhGids> {
    if grh.len() < GRH_LEN {
        return None;
    }
    let mut sgid = [0u8; 16];
    let mut dgid = [0u8; 16];
    match layout {
        GrhLayout::Ipv6 => {
            sgid.copy_from_slice(&grh[8..24]);
            dgid.copy_from_slice(&grh[24..40]);
        }
        GrhLayout::Ipv4 => {
            sgid = ipv4_mapped(&grh[32..36]);
            dgid = ipv4_mapped(&grh[36..40]);
        }
    }
    Some(GrhGids { sgid, dgid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encap_header() {
        assert_eq!(encap(ETH_P_IP), [0x08, 0x00, 0, 0]);
        assert_eq!(encap(ETH_P_IPV6), [0x86, 0xdd, 0, 0]);
        assert_eq!(ethertype(&[0x08, 0x06, 0, 0, 0x45]), Some(ETH_P_ARP));
        assert_eq!(ethertype(&[0x08, 0x06, 0]), None);
        assert_eq!(HARD_LEN, 24);
    }

    #[test]
    fn tx_classes_follow_c() {
        assert_eq!(tx_class(ETH_P_IP, false), TxClass::Send);
        assert_eq!(tx_class(ETH_P_IPV6, true), TxClass::Send);
        assert_eq!(tx_class(ETH_P_TIPC, false), TxClass::Send);
        assert_eq!(tx_class(ETH_P_ARP, true), TxClass::Send);
        assert_eq!(tx_class(ETH_P_ARP, false), TxClass::Arp);
        assert_eq!(tx_class(ETH_P_RARP, false), TxClass::Arp);
        assert_eq!(tx_class(0x88cc, false), TxClass::Drop); // LLDP
        assert_eq!(tx_class(0x88cc, true), TxClass::Drop);
        assert_eq!(tx_class(0x8100, true), TxClass::Drop); // VLAN
    }

    #[test]
    fn grh_ipv6_layout() {
        let mut grh = [0u8; 40];
        grh[0] = 0x60;
        grh[8] = 0xfe;
        grh[9] = 0x80;
        grh[23] = 0x01;
        grh[24] = 0xff;
        grh[25] = 0x12;
        grh[39] = 0xff;
        let g = grh_gids(&grh, GrhLayout::Ipv6).unwrap();
        assert_eq!(g.sgid[..2], [0xfe, 0x80]);
        assert_eq!(g.sgid[15], 1);
        assert_eq!(g.dgid[..2], [0xff, 0x12]);
        assert_eq!(g.dgid[15], 0xff);
        assert_eq!(grh_gids(&grh[..39], GrhLayout::Ipv6), None);
    }

    #[test]
    fn grh_ipv4_layout() {
        let mut grh = [0u8; 40];
        grh[20] = 0x45;
        grh[32..36].copy_from_slice(&[192, 0, 2, 1]);
        grh[36..40].copy_from_slice(&[192, 0, 2, 2]);
        let g = grh_gids(&grh, GrhLayout::Ipv4).unwrap();
        assert_eq!(
            g.sgid,
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]
        );
        assert_eq!(g.dgid[12..], [192, 0, 2, 2]);
    }
}
