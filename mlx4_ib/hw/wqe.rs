// SPDX-License-Identifier: GPL-2.0

//! Send work queue entries: the control segment, the remote-address segment and data
//! segments (C: `struct mlx4_wqe_ctrl_seg`, `mlx4_wqe_raddr_seg`, `mlx4_wqe_data_seg`;
//! `set_raddr_seg`, `set_data_seg` and `_mlx4_ib_post_send` in qp.c).

use super::{be32, be64, put_be32, put_be64};

/// Bytes in a WQE size unit ("DS").
pub(crate) const DS: usize = 16;
/// The lkey that ends a receive scatter list shorter than the queue's (`MLX4_INVALID_LKEY`).
pub(crate) const INVALID_LKEY: u32 = 0x100;

/// Send opcodes (`MLX4_OPCODE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Opcode {
    Nop = 0x00,
    SendInval = 0x01,
    RdmaWrite = 0x08,
    RdmaWriteImm = 0x09,
    Send = 0x0a,
    SendImm = 0x0b,
    Lso = 0x0e,
    RdmaRead = 0x10,
    AtomicCs = 0x11,
    AtomicFa = 0x12,
    MaskedAtomicCs = 0x14,
    MaskedAtomicFa = 0x15,
    BindMw = 0x18,
    Fmr = 0x19,
    LocalInval = 0x1b,
    ConfigCmd = 0x1f,
}

impl Opcode {
    /// The opcode of the low five bits of `owner_opcode`.
    pub(crate) fn from_bits(v: u8) -> Option<Self> {
        use Opcode::*;
        Some(match v & 0x1f {
            0x00 => Nop,
            0x01 => SendInval,
            0x08 => RdmaWrite,
            0x09 => RdmaWriteImm,
            0x0a => Send,
            0x0b => SendImm,
            0x0e => Lso,
            0x10 => RdmaRead,
            0x11 => AtomicCs,
            0x12 => AtomicFa,
            0x14 => MaskedAtomicCs,
            0x15 => MaskedAtomicFa,
            0x18 => BindMw,
            0x19 => Fmr,
            0x1b => LocalInval,
            0x1f => ConfigCmd,
            _ => return None,
        })
    }
}

/// `srcrb_flags`: generate a completion (`MLX4_WQE_CTRL_CQ_UPDATE`).
pub(crate) const CTRL_CQ_UPDATE: u32 = 3 << 2;
/// `srcrb_flags`: solicited event (`MLX4_WQE_CTRL_SOLICITED`).
pub(crate) const CTRL_SOLICITED: u32 = 1 << 1;
/// `fence_size`: fence (`MLX4_WQE_CTRL_FENCE`).
pub(crate) const CTRL_FENCE: u8 = 0x40;
/// `owner_opcode`: the hardware owns the WQE on odd passes (`MLX4_WQE_CTRL_OWN`).
pub(crate) const CTRL_OWN: u32 = 1 << 31;

/// The control segment that starts every send WQE (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ctrl {
    pub(crate) opcode: Opcode,
    /// The ownership bit: set on odd passes over the ring (`ind & wqe_cnt`).
    pub(crate) owner: bool,
    /// Size of the WQE in 16-byte units, this segment included.
    pub(crate) size_ds: u8,
    pub(crate) fence: bool,
    /// `srcrb_flags` (completion, solicited, checksum bits).
    pub(crate) flags: u32,
    /// Immediate data or the rkey to invalidate, as given (already big-endian in C).
    pub(crate) imm: u32,
}

impl Ctrl {
    /// The ownership bit of WQE number `ind` in a ring of `wqe_cnt` (a power of two).
    pub(crate) fn owner_for(ind: u32, wqe_cnt: u32) -> bool {
        ind & wqe_cnt != 0
    }

    /// Writes the segment at the start of `buf` (at least 16 bytes).
    pub(crate) fn write(&self, buf: &mut [u8]) {
        let own = if self.owner { CTRL_OWN } else { 0 };
        put_be32(buf, 0, own | u32::from(self.opcode as u8));
        // vlan_tag (2 bytes) and ins_vlan stay 0; fence_size is byte 7.
        put_be32(buf, 4, 0);
        buf[7] = (self.size_ds & 0x3f) | if self.fence { CTRL_FENCE } else { 0 };
        put_be32(buf, 8, self.flags);
        put_be32(buf, 12, self.imm);
    }

    /// Reads the segment at the start of `buf`; `None` for an unknown opcode.
    pub(crate) fn read(buf: &[u8]) -> Option<Self> {
        let oo = be32(buf, 0);
        Some(Self {
            opcode: Opcode::from_bits(oo as u8)?,
            owner: oo & CTRL_OWN != 0,
            size_ds: buf[7] & 0x3f,
            fence: buf[7] & CTRL_FENCE != 0,
            flags: be32(buf, 8),
            imm: be32(buf, 12),
        })
    }
}

/// The remote-address segment of RDMA and atomic operations (16 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Raddr {
    pub(crate) addr: u64,
    pub(crate) rkey: u32,
}

impl Raddr {
    pub(crate) fn write(&self, buf: &mut [u8]) {
        put_be64(buf, 0, self.addr);
        put_be32(buf, 8, self.rkey);
        put_be32(buf, 12, 0);
    }

    pub(crate) fn read(buf: &[u8]) -> Self {
        Self {
            addr: be64(buf, 0),
            rkey: be32(buf, 8),
        }
    }
}

/// The atomic segment after the remote address (C: `set_atomic_seg`,
/// `set_masked_atomic_seg`): 16 bytes, or 32 for a masked compare-and-swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Atomic {
    /// Compare-and-swap: swap, compare.
    CmpSwp { swap: u64, compare: u64 },
    /// Fetch-and-add: the addend.
    FetchAdd { add: u64 },
    /// Masked fetch-and-add: the addend and the mask of field boundaries.
    MaskedFetchAdd { add: u64, mask: u64 },
    /// Masked compare-and-swap: swap, compare and their masks.
    MaskedCmpSwp {
        swap: u64,
        compare: u64,
        swap_mask: u64,
        compare_mask: u64,
    },
}

impl Atomic {
    /// The segment's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::MaskedCmpSwp { .. } => 2 * DS,
            _ => DS,
        }
    }

    /// Writes the segment at the start of `buf`.
    pub(crate) fn write(&self, buf: &mut [u8]) {
        match *self {
            Self::CmpSwp { swap, compare } => {
                put_be64(buf, 0, swap);
                put_be64(buf, 8, compare);
            }
            Self::FetchAdd { add } => {
                put_be64(buf, 0, add);
                put_be64(buf, 8, 0);
            }
            Self::MaskedFetchAdd { add, mask } => {
                put_be64(buf, 0, add);
                put_be64(buf, 8, mask);
            }
            Self::MaskedCmpSwp {
                swap,
                compare,
                swap_mask,
                compare_mask,
            } => {
                put_be64(buf, 0, swap);
                put_be64(buf, 8, compare);
                put_be64(buf, 16, swap_mask);
                put_be64(buf, 24, compare_mask);
            }
        }
    }
}

/// A scatter/gather entry (16 bytes), in send and receive WQEs alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Data {
    pub(crate) byte_count: u32,
    pub(crate) lkey: u32,
    pub(crate) addr: u64,
}

impl Data {
    /// The entry that ends a receive scatter list early.
    pub(crate) const TERMINATOR: Self = Self {
        byte_count: 0,
        lkey: INVALID_LKEY,
        addr: 0,
    };

    /// Writes the entry; C writes `byte_count` last, after a write barrier, because the
    /// hardware may prefetch the WQE (the caller of a real ring does the same).
    pub(crate) fn write(&self, buf: &mut [u8]) {
        put_be32(buf, 4, self.lkey);
        put_be64(buf, 8, self.addr);
        put_be32(buf, 0, self.byte_count);
    }

    pub(crate) fn read(buf: &[u8]) -> Self {
        Self {
            byte_count: be32(buf, 0),
            lkey: be32(buf, 4),
            addr: be64(buf, 8),
        }
    }
}

/// Writes an RC/UC send WQE at the start of `buf`: the control segment, the remote address
/// for RDMA opcodes, then `sges`; returns its size in bytes (a multiple of 16).
///
/// # Panics
///
/// If `buf` is shorter than the WQE.
pub(crate) fn write_rc(buf: &mut [u8], ctrl: Ctrl, raddr: Option<Raddr>, sges: &[Data]) -> usize {
    let mut off = DS;
    if let Some(r) = raddr {
        r.write(&mut buf[off..]);
        off += DS;
    }
    // C writes the data segments in reverse order; the bytes are the same.
    for s in sges {
        s.write(&mut buf[off..]);
        off += DS;
    }
    Ctrl {
        size_ds: (off / DS) as u8,
        ..ctrl
    }
    .write(buf);
    off
}

#[cfg(test)]
mod tests {
    use super::*;

    // Golden vector from the C definitions (research/mlx4_ib.md §3.9, `golden.txt`):
    // RC RDMA_WRITE, ind 5 of 64, signaled, raddr 0x7f0000001000, rkey 0x123456, one 4096-byte
    // SGE with lkey 0x1100 at 0x12345000.
    const RC_RDMA_WRITE: [u8; 48] = [
        0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00,
        0x00, //
        0x00, 0x00, 0x7f, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x12, 0x34, 0x56, 0x00, 0x00, 0x00,
        0x00, //
        0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34, 0x50,
        0x00,
    ];

    fn rdma_write_ctrl() -> Ctrl {
        Ctrl {
            opcode: Opcode::RdmaWrite,
            owner: Ctrl::owner_for(5, 64),
            size_ds: 0,
            fence: false,
            flags: CTRL_CQ_UPDATE,
            imm: 0,
        }
    }

    #[test]
    fn rc_rdma_write_golden() {
        let mut buf = [0xffu8; 64];
        let raddr = Raddr {
            addr: 0x7f00_0000_1000,
            rkey: 0x12_3456,
        };
        let sge = Data {
            byte_count: 4096,
            lkey: 0x1100,
            addr: 0x1234_5000,
        };
        let n = write_rc(&mut buf, rdma_write_ctrl(), Some(raddr), &[sge]);
        assert_eq!(n, 48);
        assert_eq!(buf[..48], RC_RDMA_WRITE);
        // Beyond the WQE nothing is touched.
        assert!(buf[48..].iter().all(|&b| b == 0xff));

        let ctrl = Ctrl::read(&buf).unwrap();
        assert_eq!(
            ctrl,
            Ctrl {
                size_ds: 3,
                ..rdma_write_ctrl()
            }
        );
        assert_eq!(Raddr::read(&buf[16..]), raddr);
        assert_eq!(Data::read(&buf[32..]), sge);
    }

    #[test]
    fn owner_and_fence() {
        assert!(!Ctrl::owner_for(63, 64));
        assert!(Ctrl::owner_for(64, 64));
        assert!(!Ctrl::owner_for(128, 64));
        let mut buf = [0u8; 16];
        Ctrl {
            opcode: Opcode::SendImm,
            owner: true,
            size_ds: 2,
            fence: true,
            flags: CTRL_CQ_UPDATE | CTRL_SOLICITED,
            imm: 0xdead_beef,
        }
        .write(&mut buf);
        assert_eq!(buf[..4], [0x80, 0x00, 0x00, 0x0b]);
        assert_eq!(buf[7], 0x42);
        assert_eq!(buf[8..12], [0x00, 0x00, 0x00, 0x0e]);
        assert_eq!(buf[12..], [0xde, 0xad, 0xbe, 0xef]);
        // An opcode the hardware does not know.
        buf[3] = 0x1d;
        assert_eq!(Ctrl::read(&buf), None);
    }

    #[test]
    fn receive_terminator() {
        let mut buf = [0u8; 16];
        Data::TERMINATOR.write(&mut buf);
        assert_eq!(buf, [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn atomic_segments() {
        let mut b = [0xaau8; 32];
        Atomic::FetchAdd {
            add: 0x0102_0304_0506_0708,
        }
        .write(&mut b);
        assert_eq!(&b[..16], &[1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Atomic::FetchAdd { add: 0 }.len(), 16);
        Atomic::MaskedCmpSwp {
            swap: 1,
            compare: 2,
            swap_mask: 3,
            compare_mask: 4,
        }
        .write(&mut b);
        assert_eq!(b[7], 1);
        assert_eq!(b[15], 2);
        assert_eq!(b[23], 3);
        assert_eq!(b[31], 4);
        assert_eq!(
            Atomic::MaskedCmpSwp {
                swap: 0,
                compare: 0,
                swap_mask: 0,
                compare_mask: 0
            }
            .len(),
            32
        );
    }
}
