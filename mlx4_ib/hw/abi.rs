// SPDX-License-Identifier: GPL-2.0

//! The mlx4 user verbs ABI: the driver data libmlx4 and the kernel exchange with each verb
//! (C: `include/uapi/rdma/mlx4-abi.h`), in the host's byte order.
//!
//! Requests are parsed from the bytes the library wrote and responses encoded into bytes, so
//! the layouts are checked here, on the host, against the C structures' offsets.

/// The ABI version with the device capabilities in the context response.
pub(crate) const ABI_VERSION: u32 = 4;
/// The ABI version without them, when mlx4_core offers no userspace capabilities.
pub(crate) const NO_DEV_CAPS_ABI_VERSION: u32 = 3;

/// `struct mlx4_ib_alloc_ucontext_resp` (ABI 4) or `_resp_v3` (ABI 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UcontextResp {
    /// `dev_caps`: `MLX4_USER_DEV_CAP_*` (not in ABI 3).
    pub(crate) dev_caps: u32,
    /// `qp_tab_size`: the number of QPs (a power of two).
    pub(crate) qp_tab_size: u32,
    /// `bf_reg_size`: bytes of a BlueFlame register, 0 without BlueFlame.
    pub(crate) bf_reg_size: u16,
    /// `bf_regs_per_page`.
    pub(crate) bf_regs_per_page: u16,
    /// `cqe_size`: bytes per CQE (not in ABI 3).
    pub(crate) cqe_size: u32,
}

impl UcontextResp {
    /// The ABI 4 response (16 bytes).
    pub(crate) fn to_v4(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.dev_caps.to_ne_bytes());
        b[4..8].copy_from_slice(&self.qp_tab_size.to_ne_bytes());
        b[8..10].copy_from_slice(&self.bf_reg_size.to_ne_bytes());
        b[10..12].copy_from_slice(&self.bf_regs_per_page.to_ne_bytes());
        b[12..16].copy_from_slice(&self.cqe_size.to_ne_bytes());
        b
    }

    /// The ABI 3 response (8 bytes).
    pub(crate) fn to_v3(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0..4].copy_from_slice(&self.qp_tab_size.to_ne_bytes());
        b[4..6].copy_from_slice(&self.bf_reg_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.bf_regs_per_page.to_ne_bytes());
        b
    }
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_ne_bytes(a)
}

/// `struct mlx4_ib_create_cq` and `struct mlx4_ib_create_srq`: where the library put the ring
/// and the doorbell record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CreateQueue {
    /// The ring's address in the process.
    pub(crate) buf_addr: u64,
    /// The doorbell record's address in the process.
    pub(crate) db_addr: u64,
}

impl CreateQueue {
    /// Size of the request.
    pub(crate) const SIZE: usize = 16;

    /// Parses the request.
    pub(crate) fn parse(b: &[u8; Self::SIZE]) -> Self {
        Self {
            buf_addr: u64_at(b, 0),
            db_addr: u64_at(b, 8),
        }
    }
}

/// `struct mlx4_ib_create_qp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CreateQp {
    /// The QP buffer's address in the process (both queues).
    pub(crate) buf_addr: u64,
    /// The receive doorbell record's address.
    pub(crate) db_addr: u64,
    /// log2 of the send queue's basic blocks.
    pub(crate) log_sq_bb_count: u8,
    /// log2 of the send queue's stride.
    pub(crate) log_sq_stride: u8,
    /// The send queue is not prefetched (`sq_no_prefetch`).
    pub(crate) sq_no_prefetch: u8,
    /// Bytes of inline receive data.
    pub(crate) inl_recv_sz: u32,
}

impl CreateQp {
    /// Size of the request.
    pub(crate) const SIZE: usize = 24;

    /// Parses the request.
    pub(crate) fn parse(b: &[u8; Self::SIZE]) -> Self {
        Self {
            buf_addr: u64_at(b, 0),
            db_addr: u64_at(b, 8),
            log_sq_bb_count: b[16],
            log_sq_stride: b[17],
            sq_no_prefetch: b[18],
            inl_recv_sz: u32::from_ne_bytes([b[20], b[21], b[22], b[23]]),
        }
    }
}

/// `MLX4_IB_QUERY_DEV_RESP_MASK_CORE_CLOCK_OFFSET`.
pub(crate) const QUERY_DEV_RESP_MASK_CORE_CLOCK_OFFSET: u32 = 1 << 0;

/// `IB_QPT_RAW_PACKET`, in `tso_caps.supported_qpts`.
const QPT_RAW_PACKET: u32 = 8;

/// `struct mlx4_uverbs_ex_query_device_resp` as `mlx4_ib_query_device` fills it on a device
/// without RSS: the fields that fit in `outlen` bytes, each counted in `response_length`;
/// `max_tso` (raw packet QPs) when given. Returns the bytes and how many to copy (none
/// without room).
pub(crate) fn query_device_resp(
    outlen: usize,
    clock_offset: Option<u32>,
    max_inl_recv_sz: u32,
    max_tso: Option<u32>,
) -> ([u8; 48], usize) {
    let mut b = [0u8; 48];
    if outlen == 0 {
        return (b, 0);
    }
    let mut comp_mask = 0u32;
    let mut len = 8usize;
    if outlen >= len + 8 {
        len += 8;
        if let Some(off) = clock_offset {
            comp_mask |= QUERY_DEV_RESP_MASK_CORE_CLOCK_OFFSET;
            b[8..16].copy_from_slice(&u64::from(off).to_ne_bytes());
        }
    }
    if outlen >= len + 4 {
        len += 4;
        b[16..20].copy_from_slice(&max_inl_recv_sz.to_ne_bytes());
    }
    // `rss_caps` (24..40) stays zero, counted when it fits; then `tso_caps` (40..48).
    if outlen >= 40 {
        len = 40;
    }
    if outlen >= 48 {
        len = 48;
        if let Some(max) = max_tso {
            b[40..44].copy_from_slice(&max.to_ne_bytes());
            b[44..48].copy_from_slice(&(1u32 << QPT_RAW_PACKET).to_ne_bytes());
        }
    }
    b[0..4].copy_from_slice(&comp_mask.to_ne_bytes());
    b[4..8].copy_from_slice(&(len as u32).to_ne_bytes());
    (b, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucontext_responses_have_the_c_layouts() {
        let r = UcontextResp {
            dev_caps: 1,
            qp_tab_size: 0x1_0000,
            bf_reg_size: 512,
            bf_regs_per_page: 8,
            cqe_size: 64,
        };
        let v4 = r.to_v4();
        assert_eq!(&v4[0..4], &1u32.to_ne_bytes());
        assert_eq!(&v4[4..8], &0x1_0000u32.to_ne_bytes());
        assert_eq!(&v4[8..10], &512u16.to_ne_bytes());
        assert_eq!(&v4[10..12], &8u16.to_ne_bytes());
        assert_eq!(&v4[12..16], &64u32.to_ne_bytes());
        let v3 = r.to_v3();
        assert_eq!(&v3[0..4], &0x1_0000u32.to_ne_bytes());
        assert_eq!(&v3[4..6], &512u16.to_ne_bytes());
        assert_eq!(&v3[6..8], &8u16.to_ne_bytes());
    }

    #[test]
    fn create_qp_is_parsed_at_the_c_offsets() {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&0x7f00_1000u64.to_ne_bytes());
        b[8..16].copy_from_slice(&0x7f00_2040u64.to_ne_bytes());
        b[16] = 6;
        b[17] = 6;
        b[18] = 1;
        b[20..24].copy_from_slice(&64u32.to_ne_bytes());
        let q = CreateQp::parse(&b);
        assert_eq!(q.buf_addr, 0x7f00_1000);
        assert_eq!(q.db_addr, 0x7f00_2040);
        assert_eq!(
            (q.log_sq_bb_count, q.log_sq_stride, q.sq_no_prefetch),
            (6, 6, 1)
        );
        assert_eq!(q.inl_recv_sz, 64);
        let c = CreateQueue::parse(&[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!((c.buf_addr, c.db_addr), (1, 2));
    }

    #[test]
    fn query_device_response_grows_with_the_room() {
        let len = |outlen| {
            let (b, n) = query_device_resp(outlen, None, 512, Some(65536));
            if n > 0 {
                assert_eq!(u32::from_ne_bytes([b[4], b[5], b[6], b[7]]) as usize, n);
            }
            n
        };
        assert_eq!(len(0), 0);
        assert_eq!(len(8), 8);
        assert_eq!(len(16), 16);
        assert_eq!(len(24), 20);
        assert_eq!(len(40), 40);
        assert_eq!(len(48), 48);
        assert_eq!(len(64), 48);
        let (b, n) = query_device_resp(48, Some(0x100), 512, None);
        assert_eq!(n, 48);
        assert_eq!(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]), 1);
        assert_eq!(&b[8..16], &0x100u64.to_ne_bytes());
        assert_eq!(&b[16..20], &512u32.to_ne_bytes());
        assert!(b[20..48].iter().all(|&x| x == 0));
        let (b, _) = query_device_resp(48, None, 512, Some(65536));
        assert_eq!(&b[40..44], &65536u32.to_ne_bytes());
        assert_eq!(&b[44..48], &(1u32 << 8).to_ne_bytes());
        // Without room for `tso_caps` it is neither written nor counted.
        let (b, n) = query_device_resp(47, None, 512, Some(65536));
        assert_eq!(n, 40);
        assert!(b[40..48].iter().all(|&x| x == 0));
    }
}
