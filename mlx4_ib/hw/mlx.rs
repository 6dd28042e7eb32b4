// SPDX-License-Identifier: GPL-2.0

//! MLX send WQEs of QP0 and QP1 on InfiniBand ports: the driver builds the packet's headers
//! itself and the hardware adds only the CRCs (C: `struct mlx4_wqe_mlx_seg`,
//! `struct mlx4_wqe_inline_seg` in `include/linux/mlx4/qp.h`; `build_mlx_header`,
//! `set_mlx_icrc_seg` and the MLX case of `_mlx4_ib_post_send` in qp.c; `ib_ud_header_init` and
//! `ib_ud_header_pack` in drivers/infiniband/core/ud_header.c).
//!
//! A WQE is the MLX segment (in place of the control segment), the packed LRH, optional GRH,
//! BTH, DETH and immediate data in one or two inline segments, the data segments, and a 4-byte
//! inline segment that stands for the ICRC. Inline data may not cross a 64-byte boundary of
//! the WQE, which starts on one. The room this takes is reserved by
//! [`super::sizing::send_wqe_overhead`].

use super::wqe::{Data, Opcode, CTRL_CQ_UPDATE, CTRL_FENCE, CTRL_OWN, DS};
use super::{put_be16, put_be32, Error};

/// MLX flags: send on VL15, QP0's lane (`MLX4_WQE_MLX_VL15`).
pub(crate) const MLX_VL15: u32 = 1 << 17;
/// MLX flags: keep the permissive source LID (`MLX4_WQE_MLX_SLR`).
pub(crate) const MLX_SLR: u32 = 1 << 16;
/// MLX flags: loop the packet back (`MLX4_WQE_CTRL_FORCE_LOOPBACK`).
pub(crate) const MLX_FORCE_LOOPBACK: u32 = 1 << 0;
/// `byte_count` of an inline segment: inline data follows (`MLX4_INLINE_SEG`).
pub(crate) const INLINE_SEG: u32 = 1 << 31;
/// Inline data may not cross this boundary (`MLX4_INLINE_ALIGN`).
pub(crate) const INLINE_ALIGN: usize = 64;
/// Offset of the first inline segment: right after the MLX segment.
const INLINE_OFF: usize = 16;

/// Bytes of the local route header (`IB_LRH_BYTES`).
pub(crate) const LRH_BYTES: usize = 8;
/// Bytes of the global route header (`IB_GRH_BYTES`).
pub(crate) const GRH_BYTES: usize = 40;
/// Bytes of the base transport header (`IB_BTH_BYTES`).
pub(crate) const BTH_BYTES: usize = 12;
/// Bytes of the datagram extended transport header (`IB_DETH_BYTES`).
pub(crate) const DETH_BYTES: usize = 8;
/// Bytes of the immediate data.
pub(crate) const IMM_BYTES: usize = 4;
/// Bytes of the longest UD header: LRH, GRH, BTH, DETH and immediate data.
pub(crate) const UD_HEADER_MAX: usize = LRH_BYTES + GRH_BYTES + BTH_BYTES + DETH_BYTES + IMM_BYTES;
/// Bytes of the ICRC the packet length counts.
const ICRC_BYTES: u32 = 4;

/// The permissive LID (`IB_LID_PERMISSIVE`).
pub(crate) const IB_LID_PERMISSIVE: u16 = 0xffff;
/// LRH next header: BTH (`IB_LNH_IBA_LOCAL`).
pub(crate) const IB_LNH_IBA_LOCAL: u8 = 2;
/// LRH next header: GRH (`IB_LNH_IBA_GLOBAL`).
pub(crate) const IB_LNH_IBA_GLOBAL: u8 = 3;
/// The GRH next header of IBA transport.
pub(crate) const GRH_NEXT_HEADER_IBA: u8 = 0x1b;
/// BTH opcode of a UD send (`IB_OPCODE_UD_SEND_ONLY`).
pub(crate) const IB_OPCODE_UD_SEND_ONLY: u8 = 0x64;
/// BTH opcode of a UD send with immediate data.
pub(crate) const IB_OPCODE_UD_SEND_ONLY_WITH_IMMEDIATE: u8 = 0x65;

/// The global route of an MLX send, from the address handle and the source GID's table entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MlxGrh {
    /// The source GID.
    pub(crate) sgid: [u8; 16],
    /// The destination GID.
    pub(crate) dgid: [u8; 16],
    /// The traffic class.
    pub(crate) traffic_class: u8,
    /// The flow label (20 bits).
    pub(crate) flow_label: u32,
    /// The hop limit.
    pub(crate) hop_limit: u8,
}

/// One send on QP0 or QP1, with what the caller resolved from the address handle, the cached
/// P_Key and SL-to-VL tables and the special QP's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MlxSend {
    /// The service level (from the address handle).
    pub(crate) sl: u8,
    /// The virtual lane of `sl` on QP1 (`sl_to_vl`); QP0 always sends on VL15.
    pub(crate) vl: u8,
    /// The destination LID.
    pub(crate) dlid: u16,
    /// The source path bits (`g_slid & 0x7f`); the hardware adds the port's LID.
    pub(crate) src_path_bits: u8,
    /// The address handle asks for loopback (bit 31 of `port_pd`).
    pub(crate) loopback: bool,
    /// The P_Key: QP0's from its P_Key index, QP1's from the work request's.
    pub(crate) pkey: u16,
    /// The destination QP.
    pub(crate) dest_qpn: u32,
    /// The Q_Key of the work request.
    pub(crate) remote_qkey: u32,
    /// The QP's own Q_Key, used when `remote_qkey` has its high bit set.
    pub(crate) qp_qkey: u32,
    /// The PSN (`sqp->send_psn`, which the caller then increments).
    pub(crate) psn: u32,
    /// The sending QP: 0 or 1.
    pub(crate) src_qpn: u32,
    /// `IB_SEND_SOLICITED`.
    pub(crate) solicited: bool,
    /// The immediate data of `IB_WR_SEND_WITH_IMM`, as its big-endian value.
    pub(crate) imm: Option<u32>,
    /// The global route, if the address handle has one.
    pub(crate) grh: Option<MlxGrh>,
    /// Bytes of payload: the sum of the scatter entries.
    pub(crate) payload_len: u32,
    /// A completion is generated (`IB_SEND_SIGNALED` or a QP signalling all sends).
    pub(crate) signaled: bool,
}

impl MlxSend {
    /// The lane the packet goes on: 15 for QP0, `vl` for QP1.
    fn lane(&self) -> u8 {
        if self.src_qpn == 0 {
            15
        } else {
            self.vl & 0xf
        }
    }

    /// The 32-bit word of the MLX flags (`mlx->flags`): the completion bits of the control
    /// flags, VL15 for QP0, SLR for a permissive destination, the SL and loopback.
    pub(crate) fn flags(&self) -> u32 {
        let mut f = if self.signaled { CTRL_CQ_UPDATE } else { 0 };
        if self.src_qpn == 0 {
            f |= MLX_VL15;
        }
        if self.dlid == IB_LID_PERMISSIVE {
            f |= MLX_SLR;
        }
        f |= u32::from(self.sl & 0xf) << 8;
        if self.loopback {
            f |= MLX_FORCE_LOOPBACK;
        }
        f
    }

    /// The opcode of the work request: a send, with immediate data or without.
    pub(crate) fn opcode(&self) -> Opcode {
        if self.imm.is_some() {
            Opcode::SendImm
        } else {
            Opcode::Send
        }
    }

    /// The first 32 bits of the WQE, to be written last: the ownership bit and the opcode.
    pub(crate) fn owner_opcode(&self, owner: bool) -> u32 {
        u32::from(self.opcode() as u8) | if owner { CTRL_OWN } else { 0 }
    }
}

/// Packs the UD header of `s` into `out` and returns its length (`ib_ud_header_init` with an
/// LRH, no Ethernet or IP header and no immediate data, filled as `build_mlx_header` fills it,
/// then `ib_ud_header_pack`).
///
/// As in C, the LRH packet length and the GRH payload length leave out the immediate data:
/// the header is initialised without it and `immediate_present` is set afterwards.
pub(crate) fn ud_header(s: &MlxSend, out: &mut [u8; UD_HEADER_MAX]) -> Result<usize, Error> {
    let vl = s.lane();
    if s.src_qpn != 0 && vl == 15 {
        return Err(Error::Invalid);
    }
    out.fill(0);
    let payload = s.payload_len;
    let grh_bytes = if s.grh.is_some() { GRH_BYTES } else { 0 };
    // `ib_ud_header_init` counts in `int` and stores the packet length in a `u16`; packing keeps
    // 11 bits of it.
    let fixed = (LRH_BYTES + BTH_BYTES + DETH_BYTES + grh_bytes) as u32;
    let packet_length = (fixed.wrapping_add(payload).wrapping_add(ICRC_BYTES + 3) / 4) as u16;
    let slid = if s.dlid == IB_LID_PERMISSIVE {
        IB_LID_PERMISSIVE
    } else {
        u16::from(s.src_path_bits & 0x7f)
    };
    let lnh = if s.grh.is_some() {
        IB_LNH_IBA_GLOBAL
    } else {
        IB_LNH_IBA_LOCAL
    };
    out[0] = vl << 4;
    out[1] = ((s.sl & 0xf) << 4) | lnh;
    put_be16(out, 2, s.dlid);
    put_be16(out, 4, packet_length & 0x7ff);
    put_be16(out, 6, slid);
    let mut off = LRH_BYTES;

    if let Some(g) = &s.grh {
        let grh_payload = ((BTH_BYTES + DETH_BYTES) as u32)
            .wrapping_add(payload)
            .wrapping_add(ICRC_BYTES + 3)
            & !3;
        put_be32(
            out,
            off,
            (6 << 28) | (u32::from(g.traffic_class) << 20) | (g.flow_label & 0xf_ffff),
        );
        // The payload length is a `__be16`.
        put_be16(out, off + 4, grh_payload as u16);
        out[off + 6] = GRH_NEXT_HEADER_IBA;
        out[off + 7] = g.hop_limit;
        out[off + 8..off + 24].copy_from_slice(&g.sgid);
        out[off + 24..off + 40].copy_from_slice(&g.dgid);
        off += GRH_BYTES;
    }

    let opcode = if s.imm.is_some() {
        IB_OPCODE_UD_SEND_ONLY_WITH_IMMEDIATE
    } else {
        IB_OPCODE_UD_SEND_ONLY
    };
    // Solicited event (bit 7), no migration request, pad count (bits 5:4), version 0.
    let pad = (4u32.wrapping_sub(payload) & 3) as u8;
    out[off] = opcode;
    out[off + 1] = (u8::from(s.solicited) << 7) | (pad << 4);
    put_be16(out, off + 2, s.pkey);
    put_be32(out, off + 4, s.dest_qpn & 0xff_ffff);
    put_be32(out, off + 8, s.psn & 0xff_ffff);
    off += BTH_BYTES;

    let qkey = if s.remote_qkey & 0x8000_0000 != 0 {
        s.qp_qkey
    } else {
        s.remote_qkey
    };
    put_be32(out, off, qkey);
    put_be32(out, off + 4, s.src_qpn & 0xff_ffff);
    off += DETH_BYTES;

    if let Some(imm) = s.imm {
        put_be32(out, off, imm);
        off += IMM_BYTES;
    }
    Ok(off)
}

/// Writes the MLX segment (but its first 32 bits, see [`MlxSend::owner_opcode`], and the size
/// byte, see [`set_size`]) and the UD header in inline segments at the start of `buf`, which
/// starts on a 64-byte boundary; returns the offset of the first data segment.
///
/// The bytes that pad the header to 16 are left as they are, as C leaves them.
pub(crate) fn write_header(buf: &mut [u8], s: &MlxSend) -> Result<usize, Error> {
    let mut hdr = [0; UD_HEADER_MAX];
    let len = ud_header(s, &mut hdr)?;

    // The reserved bytes and `sched_prio`, 0 on IB (C leaves them as the RESET to INIT
    // initialisation of the ring left them: 0).
    buf[4..7].fill(0);
    // `srcrb_flags` becomes the MLX flags. C first writes the immediate data to the last four
    // bytes, then the remote LID over the first two of them.
    put_be32(buf, 8, s.flags());
    put_be32(buf, 12, s.imm.unwrap_or(0));
    put_be16(buf, 12, s.dlid);

    // Room before the next 64-byte boundary after the first inline segment's header.
    let spc = INLINE_ALIGN - ((INLINE_OFF + 4) & (INLINE_ALIGN - 1));
    let data = INLINE_OFF + 4;
    let segs = if len <= spc {
        buf[data..data + len].copy_from_slice(&hdr[..len]);
        put_be32(buf, INLINE_OFF, INLINE_SEG | len as u32);
        1
    } else {
        buf[data..data + spc].copy_from_slice(&hdr[..spc]);
        put_be32(buf, INLINE_OFF, INLINE_SEG | spc as u32);
        let second = data + spc;
        let rest = len - spc;
        buf[second + 4..second + 4 + rest].copy_from_slice(&hdr[spc..len]);
        // C writes this byte count after a write barrier.
        put_be32(buf, second, INLINE_SEG | rest as u32);
        2
    };
    let seg_len = (segs * 4 + len).next_multiple_of(DS);
    Ok(INLINE_OFF + seg_len)
}

/// Writes the inline segment of the ICRC at `off` (`set_mlx_icrc_seg`): 4 bytes of zeros the
/// hardware replaces. C writes only these 8 bytes of the 16 the segment takes.
pub(crate) fn write_icrc(buf: &mut [u8], off: usize) {
    put_be32(buf, off + 4, 0);
    // C writes the byte count after a write barrier.
    put_be32(buf, off, INLINE_SEG | 4);
}

/// Sets the size byte of the WQE (`fence_size`): its length in 16-byte units and the fence bit.
/// C stores the `int` size in the `u8` unmasked.
pub(crate) fn set_size(buf: &mut [u8], size_ds: usize, fence: bool) {
    buf[7] = size_ds as u8 | if fence { CTRL_FENCE } else { 0 };
}

/// Writes a whole MLX WQE at the start of `buf` in C's order but for its first 32 bits: the
/// header, `sges`, the ICRC segment and the size; returns the WQE's length in bytes. The
/// caller writes [`MlxSend::owner_opcode`] last, after a write barrier.
pub(crate) fn write(
    buf: &mut [u8],
    s: &MlxSend,
    sges: &[Data],
    fence: bool,
) -> Result<usize, Error> {
    let mut off = write_header(buf, s)?;
    for sge in sges {
        sge.write(&mut buf[off..]);
        off += DS;
    }
    write_icrc(buf, off);
    off += DS;
    set_size(buf, off / DS, fence);
    Ok(off)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GSI MAD to the SM at LID 1: 256 bytes, P_Key 0xffff, QP1's Q_Key taken from the QP.
    fn gsi_mad() -> MlxSend {
        MlxSend {
            sl: 0,
            vl: 0,
            dlid: 0x0001,
            src_path_bits: 0,
            loopback: false,
            pkey: 0xffff,
            dest_qpn: 1,
            remote_qkey: 0x8000_0000,
            qp_qkey: 0x8001_0000,
            psn: 5,
            src_qpn: 1,
            solicited: false,
            imm: None,
            grh: None,
            payload_len: 256,
            signaled: true,
        }
    }

    const SGE: Data = Data {
        byte_count: 256,
        lkey: 0x10,
        addr: 0x1_0000_0000,
    };

    #[test]
    fn gsi_mad_wqe() {
        let s = gsi_mad();
        let mut buf = [0xeeu8; 128];
        let n = write(&mut buf, &s, &[SGE], false).unwrap();
        assert_eq!(n, 80);
        let want: [u8; 80] = [
            // MLX segment: owner/opcode (written later), reserved, sched_prio, size 5 DS.
            0xee, 0xee, 0xee, 0xee, 0x00, 0x00, 0x00, 0x05, //
            // flags: C = CQ_UPDATE, SL 0; rlid 1; the immediate's low half (none).
            0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, //
            // Inline segment: 28 bytes; LRH: VL 0, SL 0, LNH local; DLID 1;
            0x80, 0x00, 0x00, 0x1c, 0x00, 0x02, 0x00, 0x01, //
            // packet length (8 + 12 + 8 + 256 + 4) / 4 = 72; SLID 0 (path bits).
            0x00, 0x48, 0x00, 0x00, //
            // BTH: UD SEND_ONLY, no SE, pad 0; P_Key; QPN 1; PSN 5.
            0x64, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, //
            0x00, 0x00, 0x00, 0x05, //
            // DETH: the QP's Q_Key (the request's has the high bit), source QP 1.
            0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
            // The data segment.
            0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x10, //
            0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //
            // The ICRC inline segment: 4 bytes, and the 8 bytes C does not write.
            0x80, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, //
            0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
        ];
        assert_eq!(buf[..80], want);
        assert!(buf[80..].iter().all(|&b| b == 0xee));
        assert_eq!(s.owner_opcode(true), 0x8000_000a);
        assert_eq!(s.owner_opcode(false), 0x0000_000a);
        assert_eq!(write_header(&mut buf, &s), Ok(48));
    }

    #[test]
    fn qp0_directed_route_smp() {
        let s = MlxSend {
            sl: 0,
            // Ignored: QP0 sends on VL15.
            vl: 3,
            dlid: IB_LID_PERMISSIVE,
            src_path_bits: 0,
            loopback: false,
            pkey: 0xffff,
            dest_qpn: 0,
            remote_qkey: 0,
            qp_qkey: 0,
            // Only 24 bits go out.
            psn: 0x0100_0003,
            src_qpn: 0,
            solicited: false,
            imm: None,
            grh: None,
            payload_len: 256,
            signaled: false,
        };
        let mut buf = [0u8; 80];
        let n = write(&mut buf, &s, &[SGE], true).unwrap();
        assert_eq!(n, 80);
        let want: [u8; 48] = [
            // MLX segment: size 5 DS with the fence bit.
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x45, //
            // flags: VL15 | SLR, SL 0, unsignaled; rlid permissive.
            0x00, 0x03, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, //
            // Inline segment: 28 bytes; LRH: VL 15, SL 0, LNH local; DLID 0xffff;
            0x80, 0x00, 0x00, 0x1c, 0xf0, 0x02, 0xff, 0xff, //
            // packet length 72; SLID permissive.
            0x00, 0x48, 0xff, 0xff, //
            // BTH: UD SEND_ONLY; P_Key; QPN 0; PSN 3.
            0x64, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, //
            0x00, 0x00, 0x00, 0x03, //
            // DETH: Q_Key 0, source QP 0.
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert_eq!(buf[..48], want);
        assert_eq!(buf[64..68], [0x80, 0x00, 0x00, 0x04]);
    }

    #[test]
    fn grh_header_splits_at_64_bytes() {
        let mut sgid = [0u8; 16];
        sgid[0] = 0xfe;
        sgid[1] = 0x80;
        sgid[15] = 0x11;
        let mut dgid = sgid;
        dgid[15] = 0x22;
        let s = MlxSend {
            sl: 3,
            vl: 2,
            dlid: 0x0042,
            src_path_bits: 0x85,
            loopback: true,
            pkey: 0x8001,
            dest_qpn: 1,
            remote_qkey: 0x1234_5678,
            qp_qkey: 0x8001_0000,
            psn: 9,
            src_qpn: 1,
            solicited: true,
            imm: Some(0xdead_beef),
            grh: Some(MlxGrh {
                sgid,
                dgid,
                traffic_class: 0x12,
                flow_label: 0xa_bcde,
                hop_limit: 0x40,
            }),
            payload_len: 255,
            signaled: true,
        };
        let mut hdr = [0; UD_HEADER_MAX];
        assert_eq!(ud_header(&s, &mut hdr), Ok(72));
        let mut want = [0u8; 72];
        // LRH: VL 2, SL 3, LNH global; DLID; length (8 + 12 + 8 + 40 + 255 + 4 + 3) / 4 = 82;
        // SLID: the path bits, 7 of them.
        want[..8].copy_from_slice(&[0x20, 0x33, 0x00, 0x42, 0x00, 0x52, 0x00, 0x05]);
        // GRH: version 6, class 0x12, flow 0xabcde; payload (12 + 8 + 255 + 4 + 3) & !3 = 280;
        // next header 0x1b; hop limit.
        want[8..16].copy_from_slice(&[0x61, 0x2a, 0xbc, 0xde, 0x01, 0x18, 0x1b, 0x40]);
        want[16..32].copy_from_slice(&sgid);
        want[32..48].copy_from_slice(&dgid);
        // BTH: SEND_ONLY_WITH_IMMEDIATE, SE, pad 1; P_Key; QPN 1; PSN 9.
        want[48..60].copy_from_slice(&[
            0x65, 0x90, 0x80, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09,
        ]);
        // DETH: the request's Q_Key; source QP 1. Immediate data.
        want[60..72].copy_from_slice(&[
            0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef,
        ]);
        assert_eq!(hdr, want);

        let mut buf = [0xeeu8; 128];
        // The second inline segment ends at 92; data segments start on the next 16.
        assert_eq!(write_header(&mut buf, &s), Ok(96));
        // flags: C | SL 3 << 8 | loopback; rlid, then the immediate's low half.
        assert_eq!(
            buf[4..16],
            [0, 0, 0, 0xee, 0x00, 0x00, 0x03, 0x0d, 0x00, 0x42, 0xbe, 0xef]
        );
        // 44 bytes up to the boundary, then 28.
        assert_eq!(buf[16..20], [0x80, 0x00, 0x00, 0x2c]);
        assert_eq!(buf[20..64], want[..44]);
        assert_eq!(buf[64..68], [0x80, 0x00, 0x00, 0x1c]);
        assert_eq!(buf[68..92], want[44..68]);
        assert_eq!(buf[92..96], want[68..72]);
        // Padding stays as it was.
        assert!(buf[96..].iter().all(|&b| b == 0xee));
    }

    #[test]
    fn header_lengths_and_refusals() {
        // With immediate data but no GRH the header (32 bytes) still fits one segment:
        // ALIGN(4 + 32, 16) = 48 after the MLX segment.
        let s = MlxSend {
            imm: Some(1),
            ..gsi_mad()
        };
        let mut buf = [0u8; 128];
        assert_eq!(write_header(&mut buf, &s), Ok(64));
        assert_eq!(buf[16..20], [0x80, 0x00, 0x00, 0x20]);
        // The packet length leaves the immediate data out, as C does.
        assert_eq!(buf[24..26], [0x00, 0x48]);
        assert_eq!(s.opcode(), Opcode::SendImm);

        // QP1 may not send on VL15.
        let s = MlxSend {
            vl: 15,
            ..gsi_mad()
        };
        assert_eq!(write_header(&mut buf, &s), Err(Error::Invalid));
        let mut hdr = [0; UD_HEADER_MAX];
        assert_eq!(ud_header(&s, &mut hdr), Err(Error::Invalid));

        // Odd payloads pad the BTH.
        let s = MlxSend {
            payload_len: 253,
            ..gsi_mad()
        };
        assert_eq!(ud_header(&s, &mut hdr), Ok(28));
        assert_eq!(hdr[9], 3 << 4);
        assert_eq!(hdr[4..6], [0x00, 0x48]);
    }
}
