// SPDX-License-Identifier: GPL-2.0

//! Work queue sizing of kernel QPs: strides, ring lengths, prefetch headroom and the layout of
//! the QP buffer (C: `send_wqe_overhead`, `set_rq_size`, `set_kernel_sq_size` and the part of
//! `create_qp_common` that calls them, in qp.c).
//!
//! Both rings live in one buffer, the one with the larger stride first. The send ring keeps
//! 2 KiB plus one WQE of headroom the hardware may prefetch, so fewer WQEs can be posted than it
//! has. The caller's capabilities are written back as C writes them back.

use super::{ilog2, roundup_pow_of_two, Error, QpType};

/// Bytes of a data (scatter/gather) segment (`struct mlx4_wqe_data_seg`).
const DATA_SEG: u32 = 16;
/// Bytes of the header of an inline segment (`struct mlx4_wqe_inline_seg`).
const INLINE_SEG: u32 = 4;
/// Bytes of the control segment (`struct mlx4_wqe_ctrl_seg`).
const CTRL_SEG: u32 = 16;
/// Bytes of the datagram segment (`struct mlx4_wqe_datagram_seg`).
const DATAGRAM_SEG: u32 = 48;
/// Bytes of the remote-address segment (`struct mlx4_wqe_raddr_seg`).
const RADDR_SEG: u32 = 16;
/// Bytes of the masked atomic segment (`struct mlx4_wqe_masked_atomic_seg`).
const MASKED_ATOMIC_SEG: u32 = 32;
/// Room for the packed UD header of an MLX WQE (`MLX4_IB_UD_HEADER_SIZE`).
pub(crate) const UD_HEADER_SIZE: u32 = 82;
/// Extra room in UD WQEs of QPs created for LSO (`MLX4_IB_LSO_HEADER_SPARE`).
pub(crate) const LSO_HEADER_SPARE: u32 = 128;
/// Inline data may not cross this boundary (`MLX4_INLINE_ALIGN`).
pub(crate) const INLINE_ALIGN: u32 = 64;
/// Bytes of send ring the hardware may prefetch (`MLX4_IB_MAX_HEADROOM`).
pub(crate) const MAX_HEADROOM: u32 = 2048;
/// The smallest send stride, as a shift (`MLX4_IB_SQ_MIN_WQE_SHIFT`).
pub(crate) const SQ_MIN_WQE_SHIFT: u32 = 6;
/// The most spare WQEs a send ring keeps (`MLX4_IB_SQ_MAX_SPARE`): the headroom at the smallest
/// stride. Devices report `max_qp_wr = max_wqes - SQ_MAX_SPARE`.
pub(crate) const SQ_MAX_SPARE: u32 = sq_headroom(SQ_MIN_WQE_SHIFT);

/// Rounds `v` up to a multiple of `a`, a power of two (C: `ALIGN`).
const fn align(v: u32, a: u32) -> u32 {
    (v + a - 1) & !(a - 1)
}

/// The spare WQEs a send ring of stride `1 << shift` keeps: 2 KiB and one WQE
/// (`MLX4_IB_SQ_HEADROOM`).
pub(crate) const fn sq_headroom(shift: u32) -> u32 {
    (MAX_HEADROOM >> shift) + 1
}

/// Bytes of a send WQE before its data segments (`send_wqe_overhead`): the control segment and
/// the transport segments the type needs; MLX WQEs (QP0/QP1) reserve the inline UD header, split
/// over as many inline segments as it may cross 64-byte boundaries, and the ICRC segment.
pub(crate) const fn send_wqe_overhead(qp_type: QpType, lso: bool) -> u32 {
    match qp_type {
        QpType::Ud => CTRL_SEG + DATAGRAM_SEG + if lso { LSO_HEADER_SPARE } else { 0 },
        QpType::Uc => CTRL_SEG + RADDR_SEG,
        QpType::Rc => CTRL_SEG + MASKED_ATOMIC_SEG + RADDR_SEG,
        QpType::Smi | QpType::Gsi => {
            CTRL_SEG
                + align(
                    UD_HEADER_SIZE + UD_HEADER_SIZE.div_ceil(INLINE_ALIGN) * INLINE_SEG,
                    DATA_SEG,
                )
                + align(4 + INLINE_SEG, DATA_SEG)
        }
    }
}

/// The device limits sizing reads (`struct mlx4_caps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DevCaps {
    /// WQEs of the longest ring (`max_wqes`).
    pub(crate) max_wqes: u32,
    /// Scatter entries of a send WQE (`max_sq_sg`).
    pub(crate) max_sq_sg: u32,
    /// Scatter entries of a receive WQE (`max_rq_sg`).
    pub(crate) max_rq_sg: u32,
    /// Bytes of the largest send WQE (`max_sq_desc_sz`).
    pub(crate) max_sq_desc_sz: u32,
}

impl DevCaps {
    /// The scatter entries either ring accepts: `min(max_sq_sg, max_rq_sg)`.
    fn max_sge(&self) -> u32 {
        self.max_sq_sg.min(self.max_rq_sg)
    }

    /// Work requests a ring accepts (`max_wqes - MLX4_IB_SQ_MAX_SPARE`; C computes it in `int`
    /// and compares it unsigned, so a device with fewer WQEs wraps the same way).
    fn max_wr(&self) -> u32 {
        self.max_wqes.wrapping_sub(SQ_MAX_SPARE)
    }
}

/// The capabilities of a QP (`struct ib_qp_cap`), requested and then written back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QpCap {
    /// Outstanding send work requests.
    pub(crate) max_send_wr: u32,
    /// Outstanding receive work requests.
    pub(crate) max_recv_wr: u32,
    /// Scatter/gather entries of a send work request.
    pub(crate) max_send_sge: u32,
    /// Scatter/gather entries of a receive work request.
    pub(crate) max_recv_sge: u32,
    /// Bytes of inline data; kernel QPs get none.
    pub(crate) max_inline_data: u32,
}

/// What to size: the QP's type, its creation flags and capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The QP's type.
    pub(crate) qp_type: QpType,
    /// A UD QP created with `IB_QP_CREATE_IPOIB_UD_LSO` (`MLX4_IB_QP_LSO`).
    pub(crate) lso: bool,
    /// The QP has its own receive queue: no SRQ (`qp_has_rq`).
    pub(crate) has_rq: bool,
    /// The requested capabilities.
    pub(crate) cap: QpCap,
}

/// The receive ring (`qp->rq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rq {
    /// WQEs in the ring, a power of two; 0 without a receive queue.
    pub(crate) wqe_cnt: u32,
    /// log2 of the stride; 0 without a receive queue.
    pub(crate) wqe_shift: u32,
    /// Receive requests that may be outstanding.
    pub(crate) max_post: u32,
    /// Scatter entries of a WQE, a power of two.
    pub(crate) max_gs: u32,
}

/// The send ring (`qp->sq` and `qp->sq_spare_wqes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sq {
    /// WQEs in the ring, a power of two.
    pub(crate) wqe_cnt: u32,
    /// log2 of the stride.
    pub(crate) wqe_shift: u32,
    /// Send requests that may be outstanding: the WQEs less the spare ones.
    pub(crate) max_post: u32,
    /// Scatter entries that fit in a WQE after its overhead.
    pub(crate) max_gs: u32,
    /// WQEs kept free for the hardware's prefetch (`sq_spare_wqes`).
    pub(crate) spare_wqes: u32,
}

/// A kernel QP's rings and buffer, and the capabilities written back to the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The receive ring.
    pub(crate) rq: Rq,
    /// The send ring.
    pub(crate) sq: Sq,
    /// Bytes of the buffer holding both rings (`buf_size`).
    pub(crate) buf_size: u32,
    /// Offset of the receive ring in the buffer.
    pub(crate) rq_offset: u32,
    /// Offset of the send ring in the buffer.
    pub(crate) sq_offset: u32,
    /// The capabilities as C leaves them in `init_attr->cap`.
    pub(crate) cap: QpCap,
}

/// Sizes the receive ring of a kernel QP and writes the receive capabilities back
/// (`set_rq_size` with `is_user` false and no inline receive).
pub(crate) fn set_rq_size(caps: &DevCaps, cap: &mut QpCap, has_rq: bool) -> Result<Rq, Error> {
    if cap.max_recv_wr > caps.max_wr() || cap.max_recv_sge > caps.max_sge() {
        return Err(Error::Invalid);
    }
    let mut rq = Rq::default();
    if !has_rq {
        if cap.max_recv_wr != 0 {
            return Err(Error::Invalid);
        }
    } else {
        rq.wqe_cnt = roundup_pow_of_two(cap.max_recv_wr.max(1));
        rq.max_gs = roundup_pow_of_two(cap.max_recv_sge.max(1));
        rq.wqe_shift = ilog2(rq.max_gs * DATA_SEG);
    }
    rq.max_post = caps.max_wr().min(rq.wqe_cnt);
    cap.max_recv_wr = rq.max_post;
    cap.max_recv_sge = rq.max_gs.min(caps.max_sge());
    Ok(rq)
}

/// Sizes the send ring of a kernel QP and writes the send capabilities back
/// (`set_kernel_sq_size` without the buffer layout, which [`layout`] adds).
pub(crate) fn set_kernel_sq_size(
    caps: &DevCaps,
    cap: &mut QpCap,
    qp_type: QpType,
    lso: bool,
) -> Result<Sq, Error> {
    let overhead = send_wqe_overhead(qp_type, lso);
    let desc = u64::from(caps.max_sq_desc_sz);
    // C adds the `u32` inline size and the `int` overhead in 32 bits before widening.
    let inline_need = u64::from(cap.max_inline_data.wrapping_add(overhead)) + u64::from(INLINE_SEG);
    if cap.max_send_wr > caps.max_wr() || cap.max_send_sge > caps.max_sge() || inline_need > desc {
        return Err(Error::Invalid);
    }
    // MLX WQEs need two more entries: the header and the ICRC.
    if qp_type.is_special() && u64::from(cap.max_send_sge) + 2 > u64::from(caps.max_sq_sg) {
        return Err(Error::Invalid);
    }
    let s = (u64::from(cap.max_send_sge) * u64::from(DATA_SEG))
        .max(u64::from(cap.max_inline_data) + u64::from(INLINE_SEG))
        + u64::from(overhead);
    if s > desc {
        return Err(Error::Invalid);
    }
    // `s` fits: it is at most `max_sq_desc_sz`.
    let wqe_shift = ilog2(roundup_pow_of_two(s as u32));
    let spare_wqes = sq_headroom(wqe_shift);
    let wqe_cnt = roundup_pow_of_two(cap.max_send_wr + spare_wqes);
    let max_gs = (caps.max_sq_desc_sz.min(1 << wqe_shift) - overhead) / DATA_SEG;
    let sq = Sq {
        wqe_cnt,
        wqe_shift,
        max_post: wqe_cnt - spare_wqes,
        max_gs,
        spare_wqes,
    };
    cap.max_send_wr = sq.max_post;
    cap.max_send_sge = max_gs.min(caps.max_sge());
    // Kernel QPs do not send inline.
    cap.max_inline_data = 0;
    Ok(sq)
}

/// Sizes a kernel QP as `create_qp_common` does: QP0 and QP1 get one more receive scatter entry
/// (C adds it for the SR-IOV tunnel header, natively too), then the receive ring, then the send
/// ring and the buffer with the ring of the larger stride first (the send ring on a tie).
pub(crate) fn layout(caps: &DevCaps, req: &Request) -> Result<Layout, Error> {
    let mut cap = req.cap;
    if req.qp_type.is_special() {
        cap.max_recv_sge = cap.max_recv_sge.wrapping_add(1);
    }
    let rq = set_rq_size(caps, &mut cap, req.has_rq)?;
    let sq = set_kernel_sq_size(caps, &mut cap, req.qp_type, req.lso)?;
    let rq_bytes = rq.wqe_cnt << rq.wqe_shift;
    let sq_bytes = sq.wqe_cnt << sq.wqe_shift;
    let (rq_offset, sq_offset) = if rq.wqe_shift > sq.wqe_shift {
        (0, rq_bytes)
    } else {
        (sq_bytes, 0)
    };
    Ok(Layout {
        rq,
        sq,
        buf_size: rq_bytes + sq_bytes,
        rq_offset,
        sq_offset,
        cap,
    })
}

/// `MLX4_IB_MIN_SQ_STRIDE`: the smallest send WQE stride (64 bytes).
pub(crate) const MIN_SQ_STRIDE: u32 = 6;

/// What libmlx4 asks of a user QP's rings (`struct mlx4_ib_create_qp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct UserRequest {
    /// The QP has its own receive queue: no SRQ.
    pub(crate) has_rq: bool,
    /// The requested capabilities (the receive ones matter; the send ring is the library's).
    pub(crate) cap: QpCap,
    /// log2 of the send ring's WQEs.
    pub(crate) log_sq_bb_count: u8,
    /// log2 of the send ring's stride.
    pub(crate) log_sq_stride: u8,
    /// Bytes of inline receive data.
    pub(crate) inl_recv_sz: u32,
}

/// Sizes a user QP as `create_qp_common` does with udata: the receive ring from the
/// capabilities (`set_rq_size` with `is_user`: at least one WQE with one entry, the counts
/// written back unclamped), the send ring as the library laid it out (`set_user_sq_size`). The
/// offsets are the library's business and left 0, as C leaves them.
pub(crate) fn user_layout(caps: &DevCaps, req: &UserRequest) -> Result<Layout, Error> {
    let mut cap = req.cap;
    if cap.max_recv_wr > caps.max_wr() || cap.max_recv_sge > caps.max_sge() {
        return Err(Error::Invalid);
    }
    let mut rq = Rq::default();
    if !req.has_rq {
        if cap.max_recv_wr != 0 || req.inl_recv_sz != 0 {
            return Err(Error::Invalid);
        }
    } else {
        let max_inl_recv = caps.max_rq_sg * DATA_SEG;
        if cap.max_recv_wr == 0 || cap.max_recv_sge == 0 || req.inl_recv_sz > max_inl_recv {
            return Err(Error::Invalid);
        }
        rq.wqe_cnt = roundup_pow_of_two(cap.max_recv_wr);
        rq.max_gs = roundup_pow_of_two(cap.max_recv_sge);
        rq.wqe_shift = ilog2((rq.max_gs * DATA_SEG).max(req.inl_recv_sz));
    }
    rq.max_post = rq.wqe_cnt;
    cap.max_recv_wr = rq.wqe_cnt;
    cap.max_recv_sge = rq.max_gs;
    let cnt = 1u32.checked_shl(u32::from(req.log_sq_bb_count));
    let cnt = match cnt {
        Some(c) if req.log_sq_bb_count < 32 && c <= caps.max_wqes => c,
        _ => return Err(Error::Invalid),
    };
    let stride = u32::from(req.log_sq_stride);
    if stride > ilog2(roundup_pow_of_two(caps.max_sq_desc_sz)) || stride < MIN_SQ_STRIDE {
        return Err(Error::Invalid);
    }
    let sq = Sq {
        wqe_cnt: cnt,
        wqe_shift: stride,
        ..Sq::default()
    };
    let buf_size = u64::from(rq.wqe_cnt << rq.wqe_shift) + (u64::from(cnt) << stride);
    Ok(Layout {
        rq,
        sq,
        buf_size: u32::try_from(buf_size).map_err(|_| Error::Invalid)?,
        rq_offset: 0,
        sq_offset: 0,
        cap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ConnectX-3's limits.
    const CX3: DevCaps = DevCaps {
        max_wqes: 16384,
        max_sq_sg: 32,
        max_rq_sg: 32,
        max_sq_desc_sz: 1008,
    };

    fn req(qp_type: QpType, has_rq: bool, cap: QpCap) -> Request {
        Request {
            qp_type,
            lso: false,
            has_rq,
            cap,
        }
    }

    #[test]
    fn overheads() {
        assert_eq!(SQ_MAX_SPARE, 33);
        assert_eq!(send_wqe_overhead(QpType::Ud, false), 64);
        assert_eq!(send_wqe_overhead(QpType::Ud, true), 192);
        assert_eq!(send_wqe_overhead(QpType::Uc, false), 32);
        assert_eq!(send_wqe_overhead(QpType::Rc, false), 64);
        // 16 + ALIGN(82 + 2 * 4, 16) + ALIGN(8, 16).
        assert_eq!(send_wqe_overhead(QpType::Gsi, false), 128);
        assert_eq!(send_wqe_overhead(QpType::Smi, false), 128);
        assert_eq!(sq_headroom(6), 33);
        assert_eq!(sq_headroom(12), 1);
    }

    #[test]
    fn ud_qp() {
        let cap = QpCap {
            max_send_wr: 128,
            max_recv_wr: 256,
            max_send_sge: 1,
            max_recv_sge: 1,
            max_inline_data: 0,
        };
        let l = layout(&CX3, &req(QpType::Ud, true, cap)).unwrap();
        // s = max(16, 4) + 64 = 80 -> 128-byte stride, 2048 / 128 + 1 spare.
        assert_eq!(
            l.sq,
            Sq {
                wqe_cnt: 256,
                wqe_shift: 7,
                max_post: 239,
                max_gs: 4,
                spare_wqes: 17,
            }
        );
        assert_eq!(
            l.rq,
            Rq {
                wqe_cnt: 256,
                wqe_shift: 4,
                max_post: 256,
                max_gs: 1,
            }
        );
        assert_eq!(l.buf_size, 256 * 128 + 256 * 16);
        assert_eq!((l.sq_offset, l.rq_offset), (0, 256 * 128));
        assert_eq!(
            l.cap,
            QpCap {
                max_send_wr: 239,
                max_recv_wr: 256,
                max_send_sge: 4,
                max_recv_sge: 1,
                max_inline_data: 0,
            }
        );
    }

    #[test]
    fn ud_lso_qp() {
        let cap = QpCap {
            max_send_wr: 64,
            max_recv_wr: 64,
            max_send_sge: 4,
            max_recv_sge: 2,
            max_inline_data: 0,
        };
        let mut r = req(QpType::Ud, true, cap);
        r.lso = true;
        let l = layout(&CX3, &r).unwrap();
        // s = 64 + 192 = 256.
        assert_eq!(l.sq.wqe_shift, 8);
        assert_eq!(l.sq.spare_wqes, 9);
        assert_eq!(l.sq.wqe_cnt, 128);
        assert_eq!(l.sq.max_gs, (256 - 192) / 16);
        assert_eq!(l.rq.wqe_shift, 5);
    }

    #[test]
    fn gsi_qp_gets_a_receive_entry_more() {
        // What the MAD layer asks for QP1.
        let cap = QpCap {
            max_send_wr: 128,
            max_recv_wr: 512,
            max_send_sge: 2,
            max_recv_sge: 1,
            max_inline_data: 0,
        };
        let l = layout(&CX3, &req(QpType::Gsi, true, cap)).unwrap();
        assert_eq!(
            l.rq,
            Rq {
                wqe_cnt: 512,
                wqe_shift: 5,
                max_post: 512,
                max_gs: 2,
            }
        );
        // s = max(32, 4) + 128 = 160 -> 256-byte stride.
        assert_eq!(
            l.sq,
            Sq {
                wqe_cnt: 256,
                wqe_shift: 8,
                max_post: 247,
                max_gs: 8,
                spare_wqes: 9,
            }
        );
        assert_eq!(l.buf_size, 256 * 256 + 512 * 32);
        assert_eq!((l.sq_offset, l.rq_offset), (0, 65536));
        assert_eq!(
            l.cap,
            QpCap {
                max_send_wr: 247,
                max_recv_wr: 512,
                max_send_sge: 8,
                max_recv_sge: 2,
                max_inline_data: 0,
            }
        );
    }

    #[test]
    fn rc_on_srq_and_larger_receive_stride() {
        let cap = QpCap {
            max_send_wr: 64,
            max_recv_wr: 0,
            max_send_sge: 4,
            max_recv_sge: 0,
            max_inline_data: 64,
        };
        let l = layout(&CX3, &req(QpType::Rc, false, cap)).unwrap();
        // s = max(64, 68) + 64 = 132 -> 256-byte stride.
        assert_eq!(l.sq.wqe_shift, 8);
        assert_eq!(l.sq.wqe_cnt, 128);
        assert_eq!(l.rq, Rq::default());
        assert_eq!(l.buf_size, 128 * 256);
        assert_eq!((l.sq_offset, l.rq_offset), (0, 128 * 256));
        assert_eq!(l.cap.max_inline_data, 0);
        assert_eq!(l.cap.max_recv_wr, 0);
        assert_eq!(l.cap.max_recv_sge, 0);

        // A receive request count with an SRQ.
        let mut bad = cap;
        bad.max_recv_wr = 1;
        assert_eq!(
            layout(&CX3, &req(QpType::Rc, false, bad)),
            Err(Error::Invalid)
        );

        // 32 receive entries make a 512-byte receive stride, laid out first.
        let cap = QpCap {
            max_send_wr: 16,
            max_recv_wr: 16,
            max_send_sge: 1,
            max_recv_sge: 32,
            max_inline_data: 0,
        };
        let l = layout(&CX3, &req(QpType::Uc, true, cap)).unwrap();
        assert_eq!(l.rq.wqe_shift, 9);
        assert_eq!(l.sq.wqe_shift, 6);
        assert_eq!(l.sq.wqe_cnt, 64);
        assert_eq!(l.sq.max_post, 31);
        assert_eq!((l.rq_offset, l.sq_offset), (0, 16 * 512));
        assert_eq!(l.buf_size, 16 * 512 + 64 * 64);
    }

    #[test]
    fn refusals() {
        let ok = QpCap {
            max_send_wr: 1,
            max_recv_wr: 1,
            max_send_sge: 1,
            max_recv_sge: 1,
            max_inline_data: 0,
        };
        assert!(layout(&CX3, &req(QpType::Rc, true, ok)).is_ok());
        let cases = [
            QpCap {
                max_send_wr: 16384 - 33 + 1,
                ..ok
            },
            QpCap {
                max_recv_wr: 16384 - 33 + 1,
                ..ok
            },
            QpCap {
                max_send_sge: 33,
                ..ok
            },
            QpCap {
                max_recv_sge: 33,
                ..ok
            },
            // 945 + 64 + 4 > 1008.
            QpCap {
                max_inline_data: 945,
                ..ok
            },
        ];
        for c in cases {
            assert_eq!(
                layout(&CX3, &req(QpType::Rc, true, c)),
                Err(Error::Invalid),
                "{c:?}"
            );
        }
        // The largest send WR count still fits.
        let c = QpCap {
            max_send_wr: 16384 - 33,
            ..ok
        };
        assert!(layout(&CX3, &req(QpType::Rc, true, c)).is_ok());
        // QP1 needs two send entries more than asked.
        let c = QpCap {
            max_send_sge: 31,
            ..ok
        };
        assert_eq!(
            layout(&CX3, &req(QpType::Gsi, true, c)),
            Err(Error::Invalid)
        );
        let c = QpCap {
            max_send_sge: 30,
            ..ok
        };
        assert!(layout(&CX3, &req(QpType::Gsi, true, c)).is_ok());
        // QP1's extra receive entry counts against the limit.
        let c = QpCap {
            max_recv_sge: 32,
            ..ok
        };
        assert_eq!(
            layout(&CX3, &req(QpType::Gsi, true, c)),
            Err(Error::Invalid)
        );
        // A WQE larger than the device's descriptor limit.
        let small = DevCaps {
            max_sq_desc_sz: 256,
            ..CX3
        };
        let c = QpCap {
            max_send_sge: 13,
            ..ok
        };
        // 13 * 16 + 64 = 272 > 256.
        assert_eq!(
            layout(&small, &req(QpType::Rc, true, c)),
            Err(Error::Invalid)
        );
        let c = QpCap {
            max_send_sge: 12,
            ..ok
        };
        let l = layout(&small, &req(QpType::Rc, true, c)).unwrap();
        assert_eq!(l.sq.wqe_shift, 8);
        assert_eq!(l.sq.max_gs, 12);
    }

    fn ureq(has_rq: bool, wr: u32, sge: u32, bb: u8, stride: u8) -> UserRequest {
        UserRequest {
            has_rq,
            cap: QpCap {
                max_send_wr: 64,
                max_recv_wr: wr,
                max_send_sge: 1,
                max_recv_sge: sge,
                max_inline_data: 0,
            },
            log_sq_bb_count: bb,
            log_sq_stride: stride,
            inl_recv_sz: 0,
        }
    }

    #[test]
    fn user_qp() {
        // ibv_rc_pingpong's QP: 500 receives of one entry, 512 send blocks of 64 bytes.
        let l = user_layout(&CX3, &ureq(true, 500, 1, 9, 6)).unwrap();
        assert_eq!((l.rq.wqe_cnt, l.rq.wqe_shift, l.rq.max_gs), (512, 4, 1));
        assert_eq!((l.sq.wqe_cnt, l.sq.wqe_shift), (512, 6));
        assert_eq!(l.buf_size, 512 * 16 + 512 * 64);
        assert_eq!((l.cap.max_recv_wr, l.cap.max_recv_sge), (512, 1));
        // The send capabilities are left as asked.
        assert_eq!(l.cap.max_send_wr, 64);
    }

    #[test]
    fn user_qp_refusals() {
        // A receive queue needs a WQE and an entry; an SRQ QP must ask for none.
        assert!(user_layout(&CX3, &ureq(true, 0, 1, 6, 6)).is_err());
        assert!(user_layout(&CX3, &ureq(true, 1, 0, 6, 6)).is_err());
        assert!(user_layout(&CX3, &ureq(false, 1, 1, 6, 6)).is_err());
        assert!(user_layout(&CX3, &ureq(false, 0, 0, 6, 6)).is_ok());
        // Strides from 64 bytes to the descriptor size rounded up (1 KiB).
        assert!(user_layout(&CX3, &ureq(true, 1, 1, 6, 5)).is_err());
        assert!(user_layout(&CX3, &ureq(true, 1, 1, 6, 10)).is_ok());
        assert!(user_layout(&CX3, &ureq(true, 1, 1, 6, 11)).is_err());
        // No more blocks than `max_wqes`, and no shift overflow.
        assert!(user_layout(&CX3, &ureq(true, 1, 1, 14, 6)).is_ok());
        assert!(user_layout(&CX3, &ureq(true, 1, 1, 15, 6)).is_err());
        assert!(user_layout(&CX3, &ureq(true, 1, 1, 40, 6)).is_err());
    }
}
