// SPDX-License-Identifier: GPL-2.0

//! Completion queue entries (C: `struct mlx4_cqe`, `struct mlx4_err_cqe` in
//! `include/linux/mlx4/cq.h`; `mlx4_ib_poll_one` in cq.c).
//!
//! An entry is 32 bytes. With 64-byte CQEs (`caps.cqe_size == 64`) the valid entry is the
//! second half of each 64 bytes, and the ownership bit is read there.

use super::{be16, be32, put_be32};

/// Bytes in a CQE.
pub(crate) const CQE_SIZE: usize = 32;

/// `owner_sr_opcode`: the ownership bit (`MLX4_CQE_OWNER_MASK`).
const OWNER: u8 = 0x80;
/// `owner_sr_opcode`: a send completion (`MLX4_CQE_IS_SEND_MASK`).
const IS_SEND: u8 = 0x40;
/// Opcode of an error completion (`MLX4_CQE_OPCODE_ERROR`).
pub(crate) const OPCODE_ERROR: u8 = 0x1e;
/// Opcode of the marker a CQ resize leaves (`MLX4_CQE_OPCODE_RESIZE`).
pub(crate) const OPCODE_RESIZE: u8 = 0x16;
/// `g_mlpath_rqpn`: a GRH was received (bit 31).
const GRH: u32 = 1 << 31;

/// Receive completion opcodes (`MLX4_RECV_OPCODE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum RecvOpcode {
    RdmaWriteImm = 0,
    Send = 1,
    SendImm = 2,
    SendInval = 3,
}

/// Why a work request failed (`MLX4_CQE_SYNDROME_*`), as the error CQE says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Syndrome {
    LocalLength = 0x01,
    LocalQpOp = 0x02,
    LocalProt = 0x04,
    WrFlush = 0x05,
    MwBind = 0x06,
    BadResp = 0x10,
    LocalAccess = 0x11,
    RemoteInvalidRequest = 0x12,
    RemoteAccess = 0x13,
    RemoteOp = 0x14,
    RetryExceeded = 0x15,
    RnrRetryExceeded = 0x16,
    RemoteAborted = 0x22,
}

impl Syndrome {
    /// The syndrome of byte `v`; `None` stands for what C reports as a general error.
    pub(crate) fn from_byte(v: u8) -> Option<Self> {
        use Syndrome::*;
        Some(match v {
            0x01 => LocalLength,
            0x02 => LocalQpOp,
            0x04 => LocalProt,
            0x05 => WrFlush,
            0x06 => MwBind,
            0x10 => BadResp,
            0x11 => LocalAccess,
            0x12 => RemoteInvalidRequest,
            0x13 => RemoteAccess,
            0x14 => RemoteOp,
            0x15 => RetryExceeded,
            0x16 => RnrRetryExceeded,
            0x22 => RemoteAborted,
            _ => return None,
        })
    }
}

/// The fields of a CQE that an InfiniBand completion uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cqe {
    /// The QP the work request was posted to (`vlan_my_qpn`, 24 bits).
    pub(crate) qpn: u32,
    /// Immediate data, invalidated rkey, or for UD receives the P_Key index (bits 6:0).
    pub(crate) immed: u32,
    /// A GRH fills the first 40 bytes of the receive buffer.
    pub(crate) grh: bool,
    /// Source path bits (`g_mlpath_rqpn` 30:24).
    pub(crate) path_bits: u8,
    /// The sender's QP number (UD receives; 24 bits).
    pub(crate) rqpn: u32,
    /// `sl_vid`: the SL in bits 15:12 on InfiniBand.
    pub(crate) sl_vid: u16,
    /// The sender's LID.
    pub(crate) rlid: u16,
    /// Checksum and packet-type flags of Ethernet receives (`status`).
    pub(crate) status: u16,
    pub(crate) byte_cnt: u32,
    pub(crate) wqe_index: u16,
    pub(crate) checksum: u16,
    /// A send completion (else a receive).
    pub(crate) is_send: bool,
    /// The send WQE's opcode, a [`RecvOpcode`], or [`OPCODE_ERROR`].
    pub(crate) opcode: u8,
    pub(crate) owner: bool,
}

impl Cqe {
    /// Writes the entry into `buf` (32 bytes), the ownership byte last, as hardware does.
    pub(crate) fn write(&self, buf: &mut [u8]) {
        put_be32(buf, 0x00, self.qpn & 0x00ff_ffff);
        put_be32(buf, 0x04, self.immed);
        let g = if self.grh { GRH } else { 0 };
        put_be32(
            buf,
            0x08,
            g | (u32::from(self.path_bits & 0x7f) << 24) | (self.rqpn & 0x00ff_ffff),
        );
        buf[0x0c..0x0e].copy_from_slice(&self.sl_vid.to_be_bytes());
        buf[0x0e..0x10].copy_from_slice(&self.rlid.to_be_bytes());
        buf[0x10..0x12].copy_from_slice(&self.status.to_be_bytes());
        buf[0x12] = 0;
        buf[0x13] = 0;
        put_be32(buf, 0x14, self.byte_cnt);
        buf[0x18..0x1a].copy_from_slice(&self.wqe_index.to_be_bytes());
        buf[0x1a..0x1c].copy_from_slice(&self.checksum.to_be_bytes());
        buf[0x1c..0x1f].fill(0);
        buf[0x1f] = (if self.owner { OWNER } else { 0 })
            | (if self.is_send { IS_SEND } else { 0 })
            | (self.opcode & 0x1f);
    }

    /// Reads the entry from `buf` (32 bytes).
    pub(crate) fn read(buf: &[u8]) -> Self {
        let g = be32(buf, 0x08);
        let o = buf[0x1f];
        Self {
            qpn: be32(buf, 0x00) & 0x00ff_ffff,
            immed: be32(buf, 0x04),
            grh: g & GRH != 0,
            path_bits: ((g >> 24) & 0x7f) as u8,
            rqpn: g & 0x00ff_ffff,
            sl_vid: be16(buf, 0x0c),
            rlid: be16(buf, 0x0e),
            status: be16(buf, 0x10),
            byte_cnt: be32(buf, 0x14),
            wqe_index: be16(buf, 0x18),
            checksum: be16(buf, 0x1a),
            is_send: o & IS_SEND != 0,
            opcode: o & 0x1f,
            owner: o & OWNER != 0,
        }
    }

    /// Whether this is an error completion; then [`Cqe::error`] says why.
    pub(crate) fn is_error(&self) -> bool {
        self.opcode == OPCODE_ERROR
    }
}

/// The fields of an error CQE (`struct mlx4_err_cqe`), which overlays [`Cqe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ErrCqe {
    pub(crate) qpn: u32,
    pub(crate) wqe_index: u16,
    pub(crate) vendor_syndrome: u8,
    /// `None`: a syndrome C reports as `IB_WC_GENERAL_ERR`.
    pub(crate) syndrome: Option<Syndrome>,
}

impl ErrCqe {
    pub(crate) fn read(buf: &[u8]) -> Self {
        Self {
            qpn: be32(buf, 0x00) & 0x00ff_ffff,
            wqe_index: be16(buf, 0x18),
            vendor_syndrome: buf[0x1a],
            syndrome: Syndrome::from_byte(buf[0x1b]),
        }
    }

    /// Writes an error completion for a send (`is_send`) or receive WQE of `qpn`.
    pub(crate) fn write(&self, syndrome: u8, is_send: bool, owner: bool, buf: &mut [u8]) {
        buf[..CQE_SIZE].fill(0);
        put_be32(buf, 0x00, self.qpn & 0x00ff_ffff);
        buf[0x18..0x1a].copy_from_slice(&self.wqe_index.to_be_bytes());
        buf[0x1a] = self.vendor_syndrome;
        buf[0x1b] = syndrome;
        buf[0x1f] =
            (if owner { OWNER } else { 0 }) | (if is_send { IS_SEND } else { 0 }) | OPCODE_ERROR;
    }
}

/// Whether entry number `n` (the free-running consumer index) of a CQ of `nent` entries (a
/// power of two) belongs to software: its ownership bit equals the pass parity `n & nent`.
pub(crate) fn sw_owned(cqe: &[u8], n: u32, nent: u32) -> bool {
    (cqe[0x1f] & OWNER != 0) == (n & nent != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A UD receive with a GRH: the layout of `struct mlx4_cqe`.
    #[test]
    fn ud_receive_layout() {
        let c = Cqe {
            qpn: 0x48,
            immed: 0x0000_0001,
            grh: true,
            path_bits: 0,
            rqpn: 0x12_3456,
            sl_vid: 0x3000,
            rlid: 0x0007,
            status: 0,
            byte_cnt: 2048 + 40,
            wqe_index: 0x0102,
            checksum: 0xffff,
            is_send: false,
            opcode: RecvOpcode::Send as u8,
            owner: true,
        };
        let mut buf = [0u8; CQE_SIZE];
        c.write(&mut buf);
        assert_eq!(
            buf,
            [
                0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x01, 0x80, 0x12, 0x34, 0x56, 0x30, 0x00,
                0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x28, 0x01, 0x02, 0xff, 0xff,
                0x00, 0x00, 0x00, 0x81,
            ]
        );
        assert_eq!(Cqe::read(&buf), c);
        assert!(!c.is_error());
    }

    #[test]
    fn send_completion_opcode() {
        let mut buf = [0u8; CQE_SIZE];
        Cqe {
            qpn: 0x1234,
            is_send: true,
            opcode: 0x0a,
            wqe_index: 5,
            ..Default::default()
        }
        .write(&mut buf);
        assert_eq!(buf[0x1f], 0x4a);
        let c = Cqe::read(&buf);
        assert!(c.is_send && !c.owner && c.opcode == 0x0a && c.wqe_index == 5);
    }

    #[test]
    fn error_cqe() {
        let mut buf = [0xccu8; CQE_SIZE];
        let e = ErrCqe {
            qpn: 0x99,
            wqe_index: 7,
            vendor_syndrome: 0x32,
            syndrome: Some(Syndrome::WrFlush),
        };
        e.write(Syndrome::WrFlush as u8, false, true, &mut buf);
        assert_eq!(buf[0x1b], 0x05);
        assert_eq!(buf[0x1f], 0x9e);
        assert!(Cqe::read(&buf).is_error());
        assert_eq!(ErrCqe::read(&buf), e);
        // Unknown syndromes read as a general error.
        buf[0x1b] = 0x99;
        assert_eq!(ErrCqe::read(&buf).syndrome, None);
        assert_eq!(Syndrome::from_byte(0x22), Some(Syndrome::RemoteAborted));
    }

    #[test]
    fn ownership_by_pass() {
        let nent = 256;
        let mut buf = [0u8; CQE_SIZE];
        // Owner bit clear: software's on even passes only.
        assert!(sw_owned(&buf, 3, nent));
        assert!(!sw_owned(&buf, 256 + 3, nent));
        // The 0xcc fill of a fresh CQ (owner set) is not valid on the first pass.
        buf.fill(0xcc);
        assert!(!sw_owned(&buf, 0, nent));
        assert!(sw_owned(&buf, 256, nent));
    }
}
