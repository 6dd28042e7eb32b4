// SPDX-License-Identifier: GPL-2.0

//! ConnectX-3 formats, bit-exact and free of kernel dependencies: send WQE segments, MLX WQEs
//! of QP0 and QP1, completion queue entries and doorbells, and on the control path the QP
//! context of MODIFY_QP, ring sizing and the subnet management packets of MAD_IFC (C:
//! `include/linux/mlx4/qp.h`, `include/linux/mlx4/cq.h`, `include/rdma/ib_smi.h`,
//! `drivers/infiniband/hw/mlx4/{qp,cq,main}.c`).
//!
//! Every hardware structure is big-endian and sizes of WQEs count 16-byte units. These
//! modules are shared by the Rust mlx4_ib and the software ConnectX-3 used to test it; the host
//! unit tests check them against byte streams produced from the C definitions.

pub(crate) mod abi;
pub(crate) mod av;
pub(crate) mod cqe;
pub(crate) mod doorbell;
pub(crate) mod eqe;
pub(crate) mod mlx;
pub(crate) mod offload;
pub(crate) mod qp_state;
pub(crate) mod qpc;
pub(crate) mod qpc_query;
pub(crate) mod sizing;
pub(crate) mod smp;
pub(crate) mod srq;
pub(crate) mod wqe;

/// The QP types of a native function's kernel QPs (`enum ib_qp_type`; mlx4_ib's own
/// `mlx4_ib_qp_type` equals it for these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum QpType {
    /// QP0, the subnet management QP (`IB_QPT_SMI`).
    Smi = 0,
    /// QP1, the general services QP (`IB_QPT_GSI`).
    Gsi = 1,
    /// Reliable connected (`IB_QPT_RC`).
    Rc = 2,
    /// Unreliable connected (`IB_QPT_UC`).
    Uc = 3,
    /// Unreliable datagram (`IB_QPT_UD`).
    Ud = 4,
}

impl QpType {
    /// Whether the QP is QP0 or QP1, which send through MLX WQEs.
    pub(crate) fn is_special(self) -> bool {
        matches!(self, Self::Smi | Self::Gsi)
    }
}

/// Why a pure computation refused its input, as the C returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// `EINVAL`.
    Invalid,
    /// `EOPNOTSUPP`.
    NotSupported,
}

impl Error {
    /// The negative errno the C returns.
    pub(crate) fn to_errno(self) -> i32 {
        match self {
            Self::Invalid => -22,
            Self::NotSupported => -95,
        }
    }
}

/// Writes `v` big-endian at `off` in `buf`.
fn put_be16(buf: &mut [u8], off: usize, v: u16) {
    buf[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` big-endian at `off` in `buf`.
fn put_be32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` big-endian at `off` in `buf`.
fn put_be64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_be_bytes());
}

/// Reads a big-endian `u32` at `off` in `buf`.
fn be32(buf: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]])
}

/// Reads a big-endian `u16` at `off` in `buf`.
fn be16(buf: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([buf[off], buf[off + 1]])
}

/// Reads a big-endian `u64` at `off` in `buf`.
fn be64(buf: &[u8], off: usize) -> u64 {
    (u64::from(be32(buf, off)) << 32) | u64::from(be32(buf, off + 4))
}

/// The floor of the base-2 logarithm of `v`; 0 for 0 and 1 (C: `ilog2`, whose value at 0 is
/// undefined).
fn ilog2(v: u32) -> u32 {
    31u32.saturating_sub(v.leading_zeros())
}

/// The smallest power of two not below `v`; 1 for 0 (C: `roundup_pow_of_two`, undefined at 0).
fn roundup_pow_of_two(v: u32) -> u32 {
    v.max(1).next_power_of_two()
}

/// The 1-based position of the most significant set bit of `v`; 0 for 0 (C: `fls`).
fn fls(v: u32) -> u32 {
    32 - v.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_helpers() {
        assert_eq!(ilog2(1), 0);
        assert_eq!(ilog2(4096), 12);
        assert_eq!(ilog2(4097), 12);
        assert_eq!(ilog2(u32::MAX), 31);
        assert_eq!(roundup_pow_of_two(0), 1);
        assert_eq!(roundup_pow_of_two(1), 1);
        assert_eq!(roundup_pow_of_two(65), 128);
        assert_eq!(roundup_pow_of_two(128), 128);
        assert_eq!(fls(0), 0);
        assert_eq!(fls(1), 1);
        assert_eq!(fls(3), 2);
        assert_eq!(fls(15), 4);
        assert_eq!(fls(0x8000_0000), 32);
        let mut b = [0u8; 4];
        put_be16(&mut b, 1, 0xabcd);
        assert_eq!(b, [0, 0xab, 0xcd, 0]);
        assert_eq!(be16(&b, 1), 0xabcd);
    }
}
