// SPDX-License-Identifier: GPL-2.0

//! Address vectors and the UD datagram segment (C: `struct mlx4_av`, `struct mlx4_eth_av`,
//! `struct mlx4_wqe_datagram_seg`; `create_ib_ah`/`create_iboe_ah` in ah.c, `set_datagram_seg`
//! in qp.c).

use super::{be16, be32, put_be32};

/// Bytes of an address vector inside a datagram segment.
pub(crate) const AV_SIZE: usize = 32;
/// Bytes of a datagram segment.
pub(crate) const DATAGRAM_SIZE: usize = 48;

/// `g_slid`: a GRH follows (bit 7).
const AV_GRH: u8 = 0x80;
/// `port_pd`: loop the packet back to this port (bit 31).
pub(crate) const AV_FORCE_LOOPBACK: u32 = 1 << 31;

/// An InfiniBand address vector (`struct mlx4_av`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Av {
    pub(crate) port: u8,
    pub(crate) pd: u32,
    pub(crate) loopback: bool,
    /// Source path bits (the low bits of the source LID).
    pub(crate) src_path_bits: u8,
    pub(crate) dlid: u16,
    /// The GRH, if the packet carries one: SGID index, hop limit, traffic class, flow label
    /// and destination GID.
    pub(crate) grh: Option<Grh>,
    /// The rate field as the hardware takes it (IB rate + 5; 0 for the port's rate).
    pub(crate) stat_rate: u8,
    pub(crate) sl: u8,
}

/// The global route of an address vector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Grh {
    pub(crate) gid_index: u8,
    pub(crate) hop_limit: u8,
    pub(crate) tclass: u8,
    pub(crate) flow_label: u32,
    pub(crate) dgid: [u8; 16],
}

impl Av {
    /// Writes the 32 bytes at the start of `buf`.
    pub(crate) fn write(&self, buf: &mut [u8]) {
        buf[..AV_SIZE].fill(0);
        let lb = if self.loopback { AV_FORCE_LOOPBACK } else { 0 };
        put_be32(
            buf,
            0,
            lb | (u32::from(self.port) << 24) | (self.pd & 0x00ff_ffff),
        );
        buf[5] = (self.src_path_bits & 0x7f) | if self.grh.is_some() { AV_GRH } else { 0 };
        buf[6..8].copy_from_slice(&self.dlid.to_be_bytes());
        buf[0xa] = self.stat_rate;
        let (tclass, flow) = self.grh.map_or((0, 0), |g| (g.tclass, g.flow_label));
        put_be32(
            buf,
            0xc,
            (u32::from(self.sl & 0xf) << 28) | (u32::from(tclass) << 20) | (flow & 0xf_ffff),
        );
        if let Some(g) = self.grh {
            buf[9] = g.gid_index;
            buf[0xb] = g.hop_limit;
            buf[0x10..0x20].copy_from_slice(&g.dgid);
        }
    }

    /// Reads the 32 bytes at the start of `buf`.
    pub(crate) fn read(buf: &[u8]) -> Self {
        let port_pd = be32(buf, 0);
        let stf = be32(buf, 0xc);
        let grh = (buf[5] & AV_GRH != 0).then(|| {
            let mut dgid = [0; 16];
            dgid.copy_from_slice(&buf[0x10..0x20]);
            Grh {
                gid_index: buf[9],
                hop_limit: buf[0xb],
                tclass: (stf >> 20) as u8,
                flow_label: stf & 0xf_ffff,
                dgid,
            }
        });
        Self {
            port: (port_pd >> 24) as u8 & 0x7f,
            pd: port_pd & 0x00ff_ffff,
            loopback: port_pd & AV_FORCE_LOOPBACK != 0,
            src_path_bits: buf[5] & 0x7f,
            dlid: be16(buf, 6),
            grh,
            stat_rate: buf[0xa],
            sl: (stf >> 28) as u8,
        }
    }
}

/// The datagram segment of a UD send WQE: the address vector, destination QP and Q_Key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Datagram {
    pub(crate) av: Av,
    pub(crate) dqpn: u32,
    pub(crate) qkey: u32,
}

impl Datagram {
    /// Writes the 48 bytes at the start of `buf` (the Ethernet fields stay 0).
    pub(crate) fn write(&self, buf: &mut [u8]) {
        buf[..DATAGRAM_SIZE].fill(0);
        self.av.write(buf);
        put_be32(buf, 0x20, self.dqpn & 0x00ff_ffff);
        put_be32(buf, 0x24, self.qkey);
    }

    pub(crate) fn read(buf: &[u8]) -> Self {
        Self {
            av: Av::read(buf),
            dqpn: be32(buf, 0x20) & 0x00ff_ffff,
            qkey: be32(buf, 0x24),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagram_with_grh_layout() {
        let mut dgid = [0u8; 16];
        dgid[0] = 0xff;
        dgid[1] = 0x12;
        dgid[15] = 0x01;
        let d = Datagram {
            av: Av {
                port: 1,
                pd: 0x000123,
                loopback: false,
                src_path_bits: 0,
                dlid: 0xc001,
                grh: Some(Grh {
                    gid_index: 0,
                    hop_limit: 0xff,
                    tclass: 0,
                    flow_label: 0,
                    dgid,
                }),
                stat_rate: 0,
                sl: 0,
            },
            dqpn: 0xff_ffff,
            qkey: 0x8000_0000,
        };
        let mut buf = [0xeeu8; DATAGRAM_SIZE];
        d.write(&mut buf);
        assert_eq!(buf[..8], [0x01, 0x00, 0x01, 0x23, 0x00, 0x80, 0xc0, 0x01]);
        assert_eq!(buf[0xb], 0xff);
        assert_eq!(buf[0x10..0x20], dgid);
        assert_eq!(
            buf[0x20..0x28],
            [0x00, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00]
        );
        assert!(buf[0x28..].iter().all(|&b| b == 0));
        assert_eq!(Datagram::read(&buf), d);
    }

    #[test]
    fn lid_routed_with_sl_and_rate() {
        let av = Av {
            port: 2,
            pd: 7,
            loopback: true,
            src_path_bits: 3,
            dlid: 0x0042,
            grh: None,
            stat_rate: 7 + 5,
            sl: 0xa,
        };
        let mut buf = [0u8; AV_SIZE];
        av.write(&mut buf);
        assert_eq!(buf[..4], [0x82, 0x00, 0x00, 0x07]);
        assert_eq!(buf[5], 0x03);
        assert_eq!(buf[0xa], 12);
        assert_eq!(buf[0xc..0x10], [0xa0, 0x00, 0x00, 0x00]);
        assert_eq!(Av::read(&buf), av);
    }
}
