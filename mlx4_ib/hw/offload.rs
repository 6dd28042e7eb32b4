// SPDX-License-Identifier: GPL-2.0

//! The IPoIB stateless offloads of a ConnectX-3: the LSO segment of a UD send WQE, checksum
//! generation on send, checksum verification on receive and large send segmentation (C:
//! `struct mlx4_wqe_lso_seg` and `build_lso_seg` in qp.c, `mlx4_ib_ipoib_csum_ok` in cq.c,
//! the `MLX4_CQE_STATUS_*` bits of `include/linux/mlx4/cq.h`).
//!
//! The driver side writes the LSO segment; the software ConnectX-3 does what the hardware
//! does with it. A datagram here is an IPoIB payload: the 4-byte IPoIB header (ethertype,
//! reserved) and the IP packet.

use super::{be16, be32, put_be16, put_be32};

/// The IPoIB encapsulation header before the IP packet.
pub(crate) const IPOIB_HLEN: usize = 4;
/// `fence_size`/`owner_opcode` bit of an LSO header longer than a cache line less the
/// segment's first word (`1 << 6`, "BLH").
pub(crate) const CTRL_BLH: u32 = 1 << 6;
/// `srcrb_flags`: IP header checksum (`MLX4_WQE_CTRL_IP_CSUM`).
pub(crate) const CTRL_IP_CSUM: u32 = 1 << 4;
/// `srcrb_flags`: TCP/UDP checksum (`MLX4_WQE_CTRL_TCP_UDP_CSUM`).
pub(crate) const CTRL_TCP_UDP_CSUM: u32 = 1 << 5;

/// CQE `status` bits (`MLX4_CQE_STATUS_*`).
pub(crate) const STATUS_IPV4: u16 = 1 << 6;
pub(crate) const STATUS_IPV4F: u16 = 1 << 7;
pub(crate) const STATUS_IPV6: u16 = 1 << 8;
pub(crate) const STATUS_IPV4OPT: u16 = 1 << 9;
pub(crate) const STATUS_TCP: u16 = 1 << 10;
pub(crate) const STATUS_UDP: u16 = 1 << 11;
pub(crate) const STATUS_IPOK: u16 = 1 << 12;

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPV6_HLEN: usize = 40;
/// TCP flags cleared on all but the last segment (FIN, PSH) and all but the first (CWR).
const TCP_FIN_PSH: u8 = 0x09;
const TCP_CWR: u8 = 0x80;

/// The cache line mlx4_ib measures the LSO header against (`MLX4_IB_CACHE_LINE_SIZE`).
const CACHE_LINE: usize = 64;

/// The LSO segment after the datagram segment: the MSS and header length word, then the
/// headers to replicate, padded to 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LsoSeg<'a> {
    pub(crate) mss: u16,
    /// The headers of every segment: IPoIB, IP and TCP (`hlen` bytes).
    pub(crate) header: &'a [u8],
}

impl<'a> LsoSeg<'a> {
    /// Bytes the segment takes in the WQE (C: `ALIGN(sizeof(*wqe) + hlen, 16)`).
    pub(crate) fn size(hlen: usize) -> usize {
        (4 + hlen).next_multiple_of(16)
    }

    /// The BLH bit of `owner_opcode` for a header of `hlen` bytes.
    pub(crate) fn blh(hlen: usize) -> u32 {
        if Self::size(hlen) > CACHE_LINE {
            CTRL_BLH
        } else {
            0
        }
    }

    /// The first word (`mss << 16 | hlen`), which C writes last, after the data segments.
    pub(crate) fn first_word(&self) -> u32 {
        (u32::from(self.mss) << 16) | self.header.len() as u32
    }

    /// Writes the headers (not the first word) and the padding at the start of `buf`.
    pub(crate) fn write_header(&self, buf: &mut [u8]) {
        let end = Self::size(self.header.len());
        buf[4..4 + self.header.len()].copy_from_slice(self.header);
        buf[4 + self.header.len()..end].fill(0);
    }

    /// Reads the segment at the start of `buf`; `None` if its header runs past `buf`.
    pub(crate) fn read(buf: &'a [u8]) -> Option<Self> {
        let w = be32(buf, 0);
        let hlen = (w & 0xffff) as usize;
        let header = buf.get(4..4 + hlen)?;
        Some(Self {
            mss: (w >> 16) as u16,
            header,
        })
    }
}

/// Adds `data` to a one's complement sum (16-bit big-endian words; an odd last byte is
/// padded with zero); the result is folded to 16 bits. Eight bytes at a time: the sum of
/// 32-bit words folds to the same 16-bit sum (RFC 1071).
fn sum(acc: u32, data: &[u8]) -> u32 {
    let mut s = u64::from(acc);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        s += (w >> 32) + (w & 0xffff_ffff);
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for c in &mut words {
        s += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = words.remainder() {
        s += u64::from(*b) << 8;
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u32
}

/// Folds a sum to 16 bits.
fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Where the IP and transport headers of a datagram are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layers {
    v6: bool,
    /// Offset and length of the IP header.
    l3: usize,
    l3_len: usize,
    /// The IPv4 header has options.
    options: bool,
    /// An IPv4 fragment (offset or more-fragments set).
    fragment: bool,
    proto: u8,
    /// Offset of the transport header and the transport length (header and payload) the IP
    /// header claims, bounded by the datagram.
    l4: usize,
    l4_len: usize,
}

/// Parses the IPoIB header and the IP header of `pkt`; `None` if it is not IPv4 or IPv6, or
/// the IP header is cut short or inconsistent.
fn layers(pkt: &[u8]) -> Option<Layers> {
    if pkt.len() < IPOIB_HLEN + 20 {
        return None;
    }
    let l3 = IPOIB_HLEN;
    match be16(pkt, 0) {
        ETH_P_IP => {
            let ihl = usize::from(pkt[l3] & 0x0f) * 4;
            let total = usize::from(be16(pkt, l3 + 2));
            if pkt[l3] >> 4 != 4 || ihl < 20 || total < ihl || l3 + total > pkt.len() {
                return None;
            }
            let frag = be16(pkt, l3 + 6);
            Some(Layers {
                v6: false,
                l3,
                l3_len: ihl,
                options: ihl > 20,
                fragment: frag & 0x3fff != 0,
                proto: pkt[l3 + 9],
                l4: l3 + ihl,
                l4_len: total - ihl,
            })
        }
        ETH_P_IPV6 => {
            let plen = usize::from(be16(pkt, l3 + 4));
            if pkt.len() < l3 + IPV6_HLEN || pkt[l3] >> 4 != 6 || l3 + IPV6_HLEN + plen > pkt.len()
            {
                return None;
            }
            Some(Layers {
                v6: true,
                l3,
                l3_len: IPV6_HLEN,
                options: false,
                fragment: false,
                proto: pkt[l3 + 6],
                l4: l3 + IPV6_HLEN,
                l4_len: plen,
            })
        }
        _ => None,
    }
}

/// The offset of the transport checksum field of `proto` in its header.
fn l4_csum_off(proto: u8) -> Option<usize> {
    match proto {
        IPPROTO_TCP => Some(16),
        IPPROTO_UDP => Some(6),
        _ => None,
    }
}

/// The sum of the pseudo header and the transport header and payload (checksum field as it
/// is).
fn l4_sum(pkt: &[u8], l: &Layers) -> u32 {
    let mut acc = if l.v6 {
        sum(0, &pkt[l.l3 + 8..l.l3 + 40])
    } else {
        sum(0, &pkt[l.l3 + 12..l.l3 + 20])
    };
    acc += u32::from(l.proto);
    acc += l.l4_len as u32 & 0xffff;
    acc += (l.l4_len >> 16) as u32;
    sum(acc, &pkt[l.l4..l.l4 + l.l4_len])
}

/// Writes the IPv4 header checksum of `pkt` at `l3`.
fn ip4_csum(pkt: &mut [u8], l3: usize, ihl: usize) {
    put_be16(pkt, l3 + 10, 0);
    let c = !fold(sum(0, &pkt[l3..l3 + ihl]));
    put_be16(pkt, l3 + 10, c);
}

/// Whether `pkt` is a TCP segment over IPv4 or IPv6 (not a fragment).
pub(crate) fn is_tcp(pkt: &[u8]) -> bool {
    layers(pkt).is_some_and(|l| l.proto == IPPROTO_TCP && !l.fragment)
}

/// Checksum generation on send, as the `srcrb_flags` bits ask (`ip`: the IPv4 header; `l4`:
/// TCP or UDP, over the pseudo header, whatever the field held). Anything else in the
/// datagram (not IP, an IPv4 fragment, another transport) is sent as it is.
pub(crate) fn tx_checksum(pkt: &mut [u8], ip: bool, l4: bool) {
    let Some(l) = layers(pkt) else {
        return;
    };
    if ip && !l.v6 {
        ip4_csum(pkt, l.l3, l.l3_len);
    }
    if !l4 || l.fragment {
        return;
    }
    let Some(off) = l4_csum_off(l.proto) else {
        return;
    };
    if l.l4_len < off + 2 {
        return;
    }
    put_be16(pkt, l.l4 + off, 0);
    let mut c = !fold(l4_sum(pkt, &l));
    if c == 0 && l.proto == IPPROTO_UDP {
        // A computed UDP checksum of zero goes on the wire as all ones (RFC 768).
        c = 0xffff;
    }
    put_be16(pkt, l.l4 + off, c);
}

/// What the receive CQE says of a datagram's checksums (`status`, `checksum`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxCsum {
    pub(crate) status: u16,
    /// The folded sum over the pseudo header and the transport (0xffff when it verifies).
    pub(crate) checksum: u16,
}

impl RxCsum {
    /// Whether mlx4_ib reports `IB_WC_IP_CSUM_OK` for these fields (C: `mlx4_ib_ipoib_csum_ok`
    /// with `badfcs_enc` 0).
    pub(crate) fn ok(status: u16, checksum: u16) -> bool {
        status & STATUS_IPOK != 0 && status & (STATUS_TCP | STATUS_UDP) != 0 && checksum == 0xffff
    }
}

/// Checks the checksums of a received datagram as the hardware does.
pub(crate) fn rx_checksum(pkt: &[u8]) -> RxCsum {
    let Some(l) = layers(pkt) else {
        return RxCsum::default();
    };
    let mut status = if l.v6 { STATUS_IPV6 } else { STATUS_IPV4 };
    if !l.v6 {
        if l.options {
            status |= STATUS_IPV4OPT;
        }
        if l.fragment {
            return RxCsum {
                status: status | STATUS_IPV4F,
                checksum: 0,
            };
        }
        if fold(sum(0, &pkt[l.l3..l.l3 + l.l3_len])) == 0xffff {
            status |= STATUS_IPOK;
        }
    } else {
        status |= STATUS_IPOK;
    }
    let Some(off) = l4_csum_off(l.proto) else {
        return RxCsum {
            status,
            checksum: 0,
        };
    };
    if l.l4_len < off + 2 {
        return RxCsum {
            status,
            checksum: 0,
        };
    }
    status |= if l.proto == IPPROTO_TCP {
        STATUS_TCP
    } else {
        STATUS_UDP
    };
    RxCsum {
        status,
        checksum: fold(l4_sum(pkt, &l)),
    }
}

/// Why the hardware refuses an LSO WQE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LsoError {
    /// The header is not IPoIB, IPv4 or IPv6 without options, and TCP, ending at `hlen`; or
    /// the MSS is 0.
    Header,
}

/// Large send segmentation of one LSO WQE: every segment carries the LSO header, fixed up,
/// and up to `mss` bytes of the payload (the WQE's data segments).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lso {
    v6: bool,
    l3: usize,
    l4: usize,
    hlen: usize,
    mss: usize,
    payload: usize,
}

impl Lso {
    /// Plans the segmentation of `payload` bytes after `seg`'s header.
    pub(crate) fn new(seg: &LsoSeg<'_>, payload: usize) -> Result<Self, LsoError> {
        let h = seg.header;
        let hlen = h.len();
        if seg.mss == 0 || hlen < IPOIB_HLEN + 20 {
            return Err(LsoError::Header);
        }
        let l3 = IPOIB_HLEN;
        let (v6, l4) = match be16(h, 0) {
            ETH_P_IP if h[l3] >> 4 == 4 && h[l3 + 9] == IPPROTO_TCP => {
                (false, l3 + usize::from(h[l3] & 0x0f) * 4)
            }
            ETH_P_IPV6 if hlen >= l3 + IPV6_HLEN && h[l3] >> 4 == 6 && h[l3 + 6] == IPPROTO_TCP => {
                (true, l3 + IPV6_HLEN)
            }
            _ => return Err(LsoError::Header),
        };
        if l4 < l3 + 20 || l4 + 20 > hlen || l4 + usize::from(h[l4 + 12] >> 4) * 4 != hlen {
            return Err(LsoError::Header);
        }
        Ok(Self {
            v6,
            l3,
            l4,
            hlen,
            mss: usize::from(seg.mss),
            payload,
        })
    }

    /// The number of segments (at least one, for a WQE without payload).
    pub(crate) fn segments(&self) -> usize {
        self.payload.div_ceil(self.mss).max(1)
    }

    /// The payload bytes (offset, length) of segment `k`.
    pub(crate) fn range(&self, k: usize) -> (usize, usize) {
        let off = k * self.mss;
        (off, self.mss.min(self.payload.saturating_sub(off)))
    }

    /// The length of segment `k` on the wire (header and payload).
    pub(crate) fn len(&self, k: usize) -> usize {
        self.hlen + self.range(k).1
    }

    /// Writes segment `k`'s header at the start of `out`, whose payload must already follow
    /// it (`out` is the whole segment, `len(k)` bytes), then fixes up the lengths, the IPv4
    /// id, the TCP sequence number and flags, and the checksums.
    pub(crate) fn finish(&self, seg: &LsoSeg<'_>, k: usize, out: &mut [u8]) {
        let n = self.segments();
        let (_, plen) = self.range(k);
        let (l3, l4, hlen) = (self.l3, self.l4, self.hlen);
        out[..hlen].copy_from_slice(seg.header);
        let tcp_len = hlen - l4 + plen;
        if self.v6 {
            put_be16(out, l3 + 4, tcp_len as u16);
        } else {
            put_be16(out, l3 + 2, (l4 - l3 + tcp_len) as u16);
            let id = be16(out, l3 + 4).wrapping_add(k as u16);
            put_be16(out, l3 + 4, id);
            ip4_csum(out, l3, l4 - l3);
        }
        let seq = be32(out, l4 + 4).wrapping_add((k * self.mss) as u32);
        put_be32(out, l4 + 4, seq);
        if k + 1 < n {
            out[l4 + 13] &= !TCP_FIN_PSH;
        }
        if k > 0 {
            out[l4 + 13] &= !TCP_CWR;
        }
        tx_checksum(&mut out[..hlen + plen], false, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPoIB + IPv4 + TCP header (20-byte TCP header, or 32 with timestamps).
    fn tcp4_header(opts: bool) -> [u8; 56] {
        let mut h = [0u8; 56];
        put_be16(&mut h, 0, ETH_P_IP);
        h[4] = 0x45;
        put_be16(&mut h, 6, 0); // total length: filled per segment
        put_be16(&mut h, 8, 0x1234); // id
        h[10] = 0x40; // DF
        h[12] = 64;
        h[13] = IPPROTO_TCP;
        h[16..20].copy_from_slice(&[10, 0, 0, 1]);
        h[20..24].copy_from_slice(&[10, 0, 0, 2]);
        put_be16(&mut h, 24, 40000);
        put_be16(&mut h, 26, 5201);
        put_be32(&mut h, 28, 0xffff_ff00); // wraps within the test
        put_be32(&mut h, 32, 7);
        h[36] = if opts { 8 << 4 } else { 5 << 4 };
        h[37] = 0x18 | TCP_CWR | 0x01; // ACK PSH CWR FIN
        put_be16(&mut h, 38, 512);
        h
    }

    /// The one's complement check over a whole packet as a receiver does it.
    fn verifies(pkt: &[u8]) -> bool {
        let r = rx_checksum(pkt);
        RxCsum::ok(r.status, r.checksum)
    }

    #[test]
    fn sum_matches_the_word_by_word_definition() {
        let data: [u8; 301] = core::array::from_fn(|i| (i * 151 + 7) as u8);
        for len in [0, 1, 2, 7, 8, 9, 15, 16, 17, 64, 299, 300, 301] {
            let d = &data[..len];
            let mut want = 0x1234u32;
            for c in d.chunks(2) {
                want += u32::from(c[0]) << 8 | c.get(1).map_or(0, |&b| u32::from(b));
            }
            assert_eq!(fold(sum(0x1234, d)), fold(want), "length {len}");
            assert!(sum(0x1234, d) <= 0xffff);
        }
        assert_eq!(fold(sum(0, &[0xff; 4096])), 0xffff);
    }

    #[test]
    fn lso_seg_layout() {
        let h = [0xabu8; 56];
        let s = LsoSeg {
            mss: 4040,
            header: &h,
        };
        assert_eq!(LsoSeg::size(56), 64);
        assert_eq!(LsoSeg::size(44), 48);
        assert_eq!(LsoSeg::blh(56), 0);
        assert_eq!(LsoSeg::blh(61), CTRL_BLH);
        assert_eq!(s.first_word(), (4040 << 16) | 56);
        let mut buf = [0xffu8; 64];
        s.write_header(&mut buf);
        put_be32(&mut buf, 0, s.first_word());
        assert_eq!(&buf[4..60], &h[..]);
        assert_eq!(&buf[60..], &[0, 0, 0, 0]);
        assert_eq!(LsoSeg::read(&buf), Some(s));
        assert_eq!(LsoSeg::read(&buf[..40]), None);
    }

    #[test]
    fn tx_then_rx_checksum() {
        let h = tcp4_header(false);
        let mut pkt = [0u8; 44 + 101];
        pkt[..44].copy_from_slice(&h[..44]);
        put_be16(&mut pkt, 6, (40 + 101) as u16);
        for (i, b) in pkt[44..].iter_mut().enumerate() {
            *b = i as u8 ^ 0x5a;
        }
        // A pseudo-header sum in the field (as the stack leaves it) is ignored.
        put_be16(&mut pkt, 40, 0xbeef);
        assert!(!verifies(&pkt));
        tx_checksum(&mut pkt, true, true);
        assert!(verifies(&pkt));
        assert!(is_tcp(&pkt));
        let r = rx_checksum(&pkt);
        assert_eq!(r.status, STATUS_IPV4 | STATUS_IPOK | STATUS_TCP);
        // Known value: the IPv4 header checksum of this header.
        assert_eq!(fold(sum(0, &pkt[4..24])), 0xffff);
        // One flipped payload bit fails the transport check, not the IP one.
        pkt[100] ^= 1;
        let r = rx_checksum(&pkt);
        assert_eq!(r.status & STATUS_IPOK, STATUS_IPOK);
        assert_ne!(r.checksum, 0xffff);
        // A flipped IP header bit fails IPOK.
        pkt[100] ^= 1;
        pkt[12] ^= 1;
        assert_eq!(rx_checksum(&pkt).status & STATUS_IPOK, 0);
    }

    #[test]
    fn udp_and_non_ip() {
        let mut pkt = [0u8; 4 + 20 + 8 + 10];
        put_be16(&mut pkt, 0, ETH_P_IP);
        pkt[4] = 0x45;
        put_be16(&mut pkt, 6, 38);
        pkt[12] = 1;
        pkt[13] = IPPROTO_UDP;
        put_be16(&mut pkt, 28, 18);
        tx_checksum(&mut pkt, true, true);
        assert!(!is_tcp(&pkt));
        let r = rx_checksum(&pkt);
        assert_eq!(r.status, STATUS_IPV4 | STATUS_IPOK | STATUS_UDP);
        assert_eq!(r.checksum, 0xffff);
        // ARP: nothing recognised, nothing touched.
        let mut arp = [0u8; 32];
        put_be16(&mut arp, 0, 0x0806);
        let before = arp;
        tx_checksum(&mut arp, true, true);
        assert_eq!(arp, before);
        assert_eq!(rx_checksum(&arp), RxCsum::default());
        // A fragment: flagged, no transport check.
        put_be16(&mut pkt, 10, 0x2000);
        assert_eq!(
            rx_checksum(&pkt).status & (STATUS_IPV4F | STATUS_UDP),
            STATUS_IPV4F
        );
        // A length past the datagram: not parsed.
        put_be16(&mut pkt, 6, 200);
        assert_eq!(rx_checksum(&pkt), RxCsum::default());
    }

    #[test]
    fn ipv6_tcp() {
        let mut pkt = [0u8; 4 + 40 + 20 + 33];
        put_be16(&mut pkt, 0, ETH_P_IPV6);
        pkt[4] = 0x60;
        put_be16(&mut pkt, 8, 53);
        pkt[10] = IPPROTO_TCP;
        pkt[12] = 0xfe;
        pkt[28] = 0xfe;
        pkt[44 + 12] = 5 << 4;
        tx_checksum(&mut pkt, true, true);
        let r = rx_checksum(&pkt);
        assert_eq!(r.status, STATUS_IPV6 | STATUS_IPOK | STATUS_TCP);
        assert_eq!(r.checksum, 0xffff);
    }

    #[test]
    fn lso_segments() {
        for opts in [false, true] {
            let h = tcp4_header(opts);
            let hlen = if opts { 56 } else { 44 };
            let seg = LsoSeg {
                mss: 1000,
                header: &h[..hlen],
            };
            let payload: [u8; 2500] = core::array::from_fn(|i| (i * 7) as u8);
            let lso = Lso::new(&seg, payload.len()).unwrap();
            assert_eq!(lso.segments(), 3);
            assert_eq!(lso.range(2), (2000, 500));
            let mut out = [0u8; 1100];
            for k in 0..3 {
                let (off, n) = lso.range(k);
                out[hlen..hlen + n].copy_from_slice(&payload[off..off + n]);
                lso.finish(&seg, k, &mut out);
                let pkt = &out[..lso.len(k)];
                assert!(verifies(pkt), "segment {k}");
                assert_eq!(usize::from(be16(pkt, 6)), hlen - 4 + n);
                assert_eq!(be16(pkt, 8), 0x1234 + k as u16);
                let seq = be32(pkt, 28);
                assert_eq!(seq, 0xffff_ff00u32.wrapping_add(1000 * k as u32));
                let flags = pkt[37];
                assert_eq!(flags & 0x10, 0x10, "ACK on every segment");
                assert_eq!(flags & TCP_FIN_PSH != 0, k == 2);
                assert_eq!(flags & TCP_CWR != 0, k == 0);
                assert_eq!(&pkt[hlen..], &payload[off..off + n]);
            }
        }
    }

    #[test]
    fn lso_refused() {
        let h = tcp4_header(false);
        let ok = LsoSeg {
            mss: 100,
            header: &h[..44],
        };
        assert!(Lso::new(&ok, 0).is_ok());
        assert_eq!(Lso::new(&ok, 0).unwrap().segments(), 1);
        // MSS 0, a header cut inside TCP, one longer than TCP's, UDP, not IP.
        let zero = LsoSeg { mss: 0, ..ok };
        assert_eq!(Lso::new(&zero, 10).err(), Some(LsoError::Header));
        for hl in [40, 48] {
            let s = LsoSeg {
                header: &h[..hl],
                ..ok
            };
            assert_eq!(Lso::new(&s, 10).err(), Some(LsoError::Header), "hlen {hl}");
        }
        let mut udp = h;
        udp[13] = IPPROTO_UDP;
        let s = LsoSeg {
            header: &udp[..44],
            ..ok
        };
        assert_eq!(Lso::new(&s, 10).err(), Some(LsoError::Header));
        let mut arp = h;
        put_be16(&mut arp, 0, 0x0806);
        let s = LsoSeg {
            header: &arp[..44],
            ..ok
        };
        assert_eq!(Lso::new(&s, 10).err(), Some(LsoError::Header));
    }
}
