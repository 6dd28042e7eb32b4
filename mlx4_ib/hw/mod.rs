// SPDX-License-Identifier: GPL-2.0

//! ConnectX-3 data-path formats, bit-exact and free of kernel dependencies: send WQE
//! segments, completion queue entries and doorbells (C: `include/linux/mlx4/qp.h`,
//! `include/linux/mlx4/cq.h`, `drivers/infiniband/hw/mlx4/{qp,cq}.c`).
//!
//! Every hardware structure is big-endian and sizes of WQEs count 16-byte units. These
//! modules are shared by the Rust mlx4_ib and the software ConnectX-3 used to test it; the host
//! unit tests check them against byte streams produced from the C definitions.

pub(crate) mod av;
pub(crate) mod cqe;
pub(crate) mod doorbell;
pub(crate) mod wqe;

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
