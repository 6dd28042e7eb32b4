// SPDX-License-Identifier: GPL-2.0

//! Connected mode wire formats and geometry (RFC 4755, C `ipoib_cm.c`).
//!
//! A connection is requested with IB CM to service ID `0x1000000000000000 | UD QPN` of the
//! peer; REQ and REP carry [`CmData`]: the sender's UD QPN and the size of its receive buffers.
//! Receive buffers are a linear head plus page fragments, [`RX_SG`] scatter entries in all.

use super::header::ENCAP_LEN;

/// The IETF service ID prefix of IPoIB connected mode (`IPOIB_CM_IETF_ID`).
pub(crate) const IETF_ID: u64 = 0x1000_0000_0000_0000;

/// The largest IP MTU of connected mode (`IPOIB_CM_MTU`).
pub(crate) const MTU: u32 = 0x10000 - 0x10;

/// The size of a connected-mode receive buffer (`IPOIB_CM_BUF_SIZE`): MTU plus the
/// encapsulation header. Advertised in [`CmData::mtu`].
pub(crate) const BUF_SIZE: u32 = MTU + ENCAP_LEN as u32;

/// Received messages shorter than this are copied into a small skb and the large buffer
/// reused (`SKB_TSHOLD`).
pub(crate) const COPYBREAK: u32 = 256;

/// The service ID a connection to the UD QP `qpn` is requested on.
pub(crate) fn service_id(qpn: u32) -> u64 {
    IETF_ID | u64::from(qpn & 0x00ff_ffff)
}

/// Geometry of a receive buffer on a machine with `page_size` pages: the linear head
/// (`IPOIB_CM_HEAD_SIZE`) and the number of scatter entries (`IPOIB_CM_RX_SG`), the head first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RxGeometry {
    /// Bytes received into the skb's linear area.
    pub(crate) head: u32,
    /// Scatter entries: the head, then `sg - 1` whole pages.
    pub(crate) sg: u32,
    pub(crate) page_size: u32,
}

impl RxGeometry {
    /// The C driver's layout: the remainder of the buffer modulo the page size in the head
    /// (or a whole page when it divides evenly), whole pages for the rest.
    pub(crate) const fn new(page_size: u32) -> Self {
        let rem = BUF_SIZE % page_size;
        let head = if rem == 0 { page_size } else { rem };
        Self {
            head,
            sg: BUF_SIZE.div_ceil(page_size),
            page_size,
        }
    }

    /// How the `len` bytes of a received message spread over the buffer: bytes in the head
    /// and the number of page fragments used, the last one holding `last` bytes. `None` if
    /// the message is longer than a buffer.
    pub(crate) fn split(&self, len: u32) -> Option<RxSplit> {
        if len > BUF_SIZE {
            return None;
        }
        if len <= self.head {
            return Some(RxSplit {
                head: len,
                frags: 0,
                last: 0,
            });
        }
        let rest = len - self.head;
        let frags = rest.div_ceil(self.page_size);
        Some(RxSplit {
            head: self.head,
            frags,
            last: rest - (frags - 1) * self.page_size,
        })
    }

    /// The largest IP MTU this geometry supports with `max_sge` scatter entries per receive
    /// (`max_cm_mtu`: SRQ devices with fewer than [`RxGeometry::sg`] entries get less).
    pub(crate) fn max_mtu(&self, max_sge: u32) -> u32 {
        if max_sge >= self.sg {
            MTU
        } else {
            (max_sge * self.page_size).saturating_sub(0x10)
        }
    }
}

/// How a received message fills a receive buffer (see [`RxGeometry::split`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RxSplit {
    pub(crate) head: u32,
    pub(crate) frags: u32,
    pub(crate) last: u32,
}

/// The private data of CM REQ and REP (`struct ipoib_cm_data`), big-endian on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CmData {
    /// The sender's UD QP number (the high byte is ignored).
    pub(crate) qpn: u32,
    /// The size of the sender's receive buffers: the largest message it accepts.
    pub(crate) mtu: u32,
}

impl CmData {
    /// Bytes on the wire.
    pub(crate) const LEN: usize = 8;

    /// Encodes the private data.
    pub(crate) fn to_bytes(self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[..4].copy_from_slice(&self.qpn.to_be_bytes());
        b[4..].copy_from_slice(&self.mtu.to_be_bytes());
        b
    }

    /// Decodes private data; `None` if it is too short (REQ private data is 92 bytes on the
    /// wire, zero-padded, so longer input is accepted).
    pub(crate) fn parse(b: &[u8]) -> Option<Self> {
        let qpn = u32::from_be_bytes(b.get(..4)?.try_into().ok()?);
        let mtu = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
        Some(Self {
            qpn: qpn & 0x00ff_ffff,
            mtu,
        })
    }

    /// The largest IP packet the peer accepts over the connection (`tx->mtu - ENCAP_LEN`), or
    /// `None` if its buffers cannot hold even a minimal packet.
    pub(crate) fn peer_mtu(&self) -> Option<u32> {
        let m = self.mtu.min(BUF_SIZE).checked_sub(ENCAP_LEN as u32)?;
        (m >= super::mtu::MIN_MTU).then_some(m)
    }
}

/// Whether `new_mtu` is accepted in connected mode with largest MTU `max_cm_mtu` (C checks
/// only the upper bound there; the lower one is the netdev's `min_mtu`).
pub(crate) fn mtu_valid(new_mtu: i32, max_cm_mtu: u32) -> bool {
    u32::try_from(new_mtu).is_ok_and(|m| (super::mtu::MIN_MTU..=max_cm_mtu).contains(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_c() {
        assert_eq!(MTU, 65520);
        assert_eq!(BUF_SIZE, 65524);
        assert_eq!(service_id(0x48), 0x1000_0000_0000_0048);
        assert_eq!(service_id(0xff12_3456), 0x1000_0000_0012_3456);
    }

    #[test]
    fn geometry_4k_pages() {
        let g = RxGeometry::new(4096);
        assert_eq!(
            g,
            RxGeometry {
                head: 4084,
                sg: 16,
                page_size: 4096
            }
        );
        assert_eq!(g.head + (g.sg - 1) * 4096, BUF_SIZE);
        assert_eq!(
            g.split(100),
            Some(RxSplit {
                head: 100,
                frags: 0,
                last: 0
            })
        );
        assert_eq!(
            g.split(4084),
            Some(RxSplit {
                head: 4084,
                frags: 0,
                last: 0
            })
        );
        assert_eq!(
            g.split(4085),
            Some(RxSplit {
                head: 4084,
                frags: 1,
                last: 1
            })
        );
        assert_eq!(
            g.split(4084 + 8192),
            Some(RxSplit {
                head: 4084,
                frags: 2,
                last: 4096
            })
        );
        assert_eq!(
            g.split(BUF_SIZE),
            Some(RxSplit {
                head: 4084,
                frags: 15,
                last: 4096
            })
        );
        assert_eq!(g.split(BUF_SIZE + 1), None);
        assert_eq!(g.max_mtu(27), 65520);
        assert_eq!(g.max_mtu(16), 65520);
        assert_eq!(g.max_mtu(8), 8 * 4096 - 16);
    }

    #[test]
    fn geometry_64k_pages() {
        let g = RxGeometry::new(65536);
        assert_eq!(g.sg, 1);
        assert_eq!(g.head, BUF_SIZE);
        assert_eq!(
            g.split(BUF_SIZE),
            Some(RxSplit {
                head: BUF_SIZE,
                frags: 0,
                last: 0
            })
        );
    }

    #[test]
    fn private_data() {
        let d = CmData {
            qpn: 0x12,
            mtu: BUF_SIZE,
        };
        assert_eq!(d.to_bytes(), [0, 0, 0, 0x12, 0, 0, 0xff, 0xf4]);
        let mut wire = [0u8; 92];
        wire[..8].copy_from_slice(&[0xab, 0x00, 0x01, 0x02, 0, 0, 0x10, 0x00]);
        assert_eq!(
            CmData::parse(&wire),
            Some(CmData {
                qpn: 0x102,
                mtu: 4096
            })
        );
        assert_eq!(CmData::parse(&wire[..7]), None);
        assert_eq!(CmData { qpn: 1, mtu: 4096 }.peer_mtu(), Some(4092));
        assert_eq!(
            CmData {
                qpn: 1,
                mtu: 1 << 20
            }
            .peer_mtu(),
            Some(MTU)
        );
        assert_eq!(CmData { qpn: 1, mtu: 10 }.peer_mtu(), None);
    }

    #[test]
    fn cm_mtu_bounds() {
        assert!(mtu_valid(65520, MTU));
        assert!(!mtu_valid(65521, MTU));
        assert!(mtu_valid(72, MTU));
        assert!(!mtu_valid(71, MTU));
        assert!(!mtu_valid(-5, MTU));
    }
}
