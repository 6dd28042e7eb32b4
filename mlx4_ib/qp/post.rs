// SPDX-License-Identifier: GPL-2.0

//! Posting work requests (C: `_mlx4_ib_post_send`, `_mlx4_ib_post_recv` and the segment
//! builders in qp.c): WQEs are built with `hw/` into a local buffer and copied into the ring,
//! the ownership word last.

use super::{hw_err, Mlx4Qp, Sq, CTRL_CSUM, CTRL_STRONG_ORDER, MAX_WQE};
use crate::device::Mlx4Ib;
use crate::hw::av::Datagram;
use crate::hw::offload::LsoSeg;
use crate::hw::wqe::{self, Atomic, Ctrl, Data, Opcode, Raddr, DS};
use crate::hw::{mlx, QpType as HwQpType};
use crate::rust_bindings::mlx4;
use crate::rust_bindings::rdma::provider::{
    Qp, RecvWr, SendWr, WrOpcode, SEND_FENCE, SEND_IP_CSUM, SEND_SIGNALED, SEND_SOLICITED,
};
use kernel::prelude::*;

impl Mlx4Qp {
    /// Builds the segments after the control segment of one send request into `w` from
    /// offset 16; returns the end offset.
    pub(super) fn build_send(
        qp: &Qp<Mlx4Ib>,
        sq: &mut Sq,
        wr: &SendWr<'_, Mlx4Ib>,
        sges: &[Data],
        ctrl_flags: u32,
        owner: bool,
        w: &mut [u8],
    ) -> Result<(usize, u32)> {
        let q = &qp.q;
        let op = wr.opcode();
        let fence = wr.send_flags() & SEND_FENCE != 0;
        let opcode = match op {
            WrOpcode::RdmaWrite => Opcode::RdmaWrite,
            WrOpcode::RdmaWriteImm => Opcode::RdmaWriteImm,
            WrOpcode::Send => Opcode::Send,
            WrOpcode::SendImm => Opcode::SendImm,
            WrOpcode::RdmaRead => Opcode::RdmaRead,
            WrOpcode::AtomicCmpSwp => Opcode::AtomicCs,
            WrOpcode::AtomicFetchAdd => Opcode::AtomicFa,
            WrOpcode::MaskedAtomicCmpSwp => Opcode::MaskedAtomicCs,
            WrOpcode::MaskedAtomicFetchAdd => Opcode::MaskedAtomicFa,
            WrOpcode::SendInv => Opcode::SendInval,
            WrOpcode::LocalInv => Opcode::LocalInval,
            WrOpcode::Lso if q.kind == HwQpType::Ud => Opcode::Lso,
            // Fast registration is not supported yet.
            _ => return Err(EINVAL),
        };
        let imm = match op {
            WrOpcode::RdmaWriteImm | WrOpcode::SendImm => u32::from_be(wr.imm_data()),
            WrOpcode::SendInv | WrOpcode::LocalInv => wr.imm_data(),
            _ => 0,
        };
        if q.special {
            let ud = wr.ud().ok_or(EINVAL)?;
            let av = &ud.ah.av;
            let dev = qp.device();
            let port = q.port;
            let pkey_index = if q.kind == HwQpType::Smi {
                sq.sqp.pkey_index
            } else {
                ud.pkey_index
            };
            let pkey = dev.cached_pkey(port, pkey_index)?;
            let grh = match &av.grh {
                Some(g) => Some(mlx::MlxGrh {
                    sgid: dev.cached_gid(port, u32::from(g.gid_index))?,
                    dgid: g.dgid,
                    traffic_class: g.tclass,
                    flow_label: g.flow_label,
                    hop_limit: g.hop_limit,
                }),
                None => None,
            };
            let s = mlx::MlxSend {
                sl: av.sl,
                vl: dev.sl_to_vl(port, av.sl),
                dlid: av.dlid,
                src_path_bits: av.src_path_bits,
                loopback: av.loopback,
                pkey,
                dest_qpn: ud.remote_qpn,
                remote_qkey: ud.remote_qkey,
                qp_qkey: sq.sqp.qkey,
                psn: sq.sqp.send_psn,
                src_qpn: if q.kind == HwQpType::Smi { 0 } else { 1 },
                solicited: wr.send_flags() & SEND_SOLICITED != 0,
                imm: matches!(op, WrOpcode::SendImm).then_some(imm),
                grh,
                payload_len: sges.iter().map(|d| d.byte_count).sum(),
                signaled: ctrl_flags & wqe::CTRL_CQ_UPDATE != 0,
            };
            sq.sqp.send_psn = sq.sqp.send_psn.wrapping_add(1);
            let end = mlx::write(w, &s, sges, fence).map_err(hw_err)?;
            return Ok((end, s.owner_opcode(owner)));
        }
        let mut off = DS;
        let mut blh = 0;
        match q.kind {
            HwQpType::Ud => {
                let ud = wr.ud().ok_or(EINVAL)?;
                Datagram {
                    av: ud.ah.av,
                    dqpn: ud.remote_qpn,
                    qkey: ud.remote_qkey,
                }
                .write(&mut w[off..]);
                off += crate::hw::av::DATAGRAM_SIZE;
                if opcode == Opcode::Lso {
                    // The headers to replicate, then the payload's data segments (C:
                    // `build_lso_seg`); the WQE must hold them all.
                    let hlen = ud.header.len();
                    let size = LsoSeg::size(hlen);
                    let mss = u16::try_from(ud.mss).map_err(|_| EINVAL)?;
                    if hlen == 0 || off + size + sges.len() * DS > w.len() {
                        return Err(EINVAL);
                    }
                    let seg = LsoSeg {
                        mss,
                        header: ud.header,
                    };
                    seg.write_header(&mut w[off..]);
                    w[off..off + 4].copy_from_slice(&seg.first_word().to_be_bytes());
                    blh = LsoSeg::blh(hlen);
                    off += size;
                }
            }
            _ => {
                if let Some((addr, rkey)) = wr.rdma() {
                    Raddr { addr, rkey }.write(&mut w[off..]);
                    off += DS;
                }
                if let Some((compare_add, swap, ca_mask, swap_mask)) = wr.atomic() {
                    let a = match op {
                        WrOpcode::AtomicCmpSwp => Atomic::CmpSwp {
                            swap,
                            compare: compare_add,
                        },
                        WrOpcode::MaskedAtomicFetchAdd => Atomic::MaskedFetchAdd {
                            add: compare_add,
                            mask: ca_mask,
                        },
                        WrOpcode::MaskedAtomicCmpSwp => Atomic::MaskedCmpSwp {
                            swap,
                            compare: compare_add,
                            swap_mask,
                            compare_mask: ca_mask,
                        },
                        _ => Atomic::FetchAdd { add: compare_add },
                    };
                    a.write(&mut w[off..]);
                    off += a.len();
                }
            }
        }
        for d in sges {
            d.write(&mut w[off..]);
            off += DS;
        }
        let mut flags = ctrl_flags;
        if op == WrOpcode::LocalInv {
            flags |= CTRL_STRONG_ORDER;
        }
        let ctrl = Ctrl {
            opcode,
            owner,
            size_ds: (off / DS) as u8,
            fence,
            flags,
            imm,
        };
        ctrl.write(w);
        let oo = u32::from_be_bytes([w[0], w[1], w[2], w[3]]) | blh;
        Ok((off, oo))
    }
}

pub(super) fn post_send(
    qp: &Qp<Mlx4Ib>,
    wrs: &mut dyn Iterator<Item = SendWr<'_, Mlx4Ib>>,
) -> core::result::Result<(), (usize, Error)> {
    let q = &qp.q;
    let l = &q.layout;
    // A process posts to its QPs in its own memory (libmlx4), not through the kernel.
    if q.mem.kbuf().is_none() {
        return Err((0, EINVAL));
    }
    let mut sq = q.sq.lock();
    let mut ind = sq.next_wqe;
    let mut nreq = 0usize;
    let mut err = None;
    let mut w = [0u8; MAX_WQE];
    let stride = 1usize << l.sq.wqe_shift;
    for wr in wrs {
        if sq.head.wrapping_sub(sq.tail).wrapping_add(nreq as u32) >= l.sq.max_post {
            err = Some(ENOMEM);
            break;
        }
        let sg = wr.sges();
        if sg.len() > l.sq.max_gs as usize {
            err = Some(EINVAL);
            break;
        }
        let mut sges = [Data::TERMINATOR; 32];
        for (d, s) in sges.iter_mut().zip(sg) {
            *d = Data {
                byte_count: s.length(),
                lkey: s.lkey(),
                addr: s.addr(),
            };
        }
        let sges = &sges[..sg.len().min(32)];
        let f = wr.send_flags();
        let mut ctrl_flags = if f & SEND_SIGNALED != 0 || q.sig_all {
            wqe::CTRL_CQ_UPDATE
        } else {
            0
        };
        if f & SEND_SOLICITED != 0 {
            ctrl_flags |= wqe::CTRL_SOLICITED;
        }
        if f & SEND_IP_CSUM != 0 {
            ctrl_flags |= CTRL_CSUM;
        }
        let owner = Ctrl::owner_for(ind, l.sq.wqe_cnt);
        let buf = &mut w[..stride.min(MAX_WQE)];
        buf.fill(0);
        let (size, oo) = match Mlx4Qp::build_send(qp, &mut sq, &wr, sges, ctrl_flags, owner, buf) {
            Ok(v) => v,
            Err(e) => {
                err = Some(e);
                break;
            }
        };
        let slot = (sq.head.wrapping_add(nreq as u32) & (l.sq.wqe_cnt - 1)) as usize;
        sq.wrid[slot] = wr.wr_id();
        q.copy_wqe(ind, buf, size, oo);
        ind = ind.wrapping_add(1);
        nreq += 1;
        // Stamp ahead, except after the last request (done after the doorbell).
        q.stamp(ind.wrapping_add(l.sq.spare_wqes).wrapping_sub(1));
    }
    if nreq > 0 {
        sq.head = sq.head.wrapping_add(nreq as u32);
        // The WQEs before the doorbell.
        mlx4::barrier::wmb();
        qp.device().uar_map.ring_send(q.qpn);
        q.stamp(ind.wrapping_add(l.sq.spare_wqes).wrapping_sub(1));
        sq.next_wqe = ind;
    }
    match err {
        Some(e) => Err((nreq, e)),
        None => Ok(()),
    }
}

pub(super) fn post_recv(
    qp: &Qp<Mlx4Ib>,
    wrs: &mut dyn Iterator<Item = RecvWr<'_>>,
) -> core::result::Result<(), (usize, Error)> {
    let q = &qp.q;
    let l = &q.layout;
    // A process posts to its QPs in its own memory (libmlx4), not through the kernel.
    let Some(buf) = q.mem.kbuf() else {
        return Err((0, EINVAL));
    };
    // A QP on an SRQ has no receive queue: it is always full (C's `mlx4_wq_overflow`).
    let Some(db) = q.mem.kdb() else {
        return Err((0, ENOMEM));
    };
    let mut rq = q.rq.lock();
    let mut nreq = 0usize;
    let mut err = None;
    for wr in wrs {
        if rq.head.wrapping_sub(rq.tail).wrapping_add(nreq as u32) >= l.rq.max_post {
            err = Some(ENOMEM);
            break;
        }
        let sg = wr.sges();
        if sg.len() > l.rq.max_gs as usize {
            err = Some(EINVAL);
            break;
        }
        let n = rq.head.wrapping_add(nreq as u32);
        let off = q.rq_off(n);
        let mut seg = [0u8; DS];
        for (i, s) in sg.iter().enumerate() {
            Data {
                byte_count: s.length(),
                lkey: s.lkey(),
                addr: s.addr(),
            }
            .write(&mut seg);
            let _ = buf.write_bytes(off + i * DS, &seg);
        }
        if sg.len() < l.rq.max_gs as usize {
            Data::TERMINATOR.write(&mut seg);
            let _ = buf.write_bytes(off + sg.len() * DS, &seg);
        }
        let slot = (n & (l.rq.wqe_cnt - 1)) as usize;
        rq.wrid[slot] = wr.wr_id();
        nreq += 1;
    }
    if nreq > 0 {
        rq.head = rq.head.wrapping_add(nreq as u32);
        // The WQEs before the doorbell record.
        mlx4::barrier::wmb();
        let _ = db.write(0, rq.head & 0xffff);
    }
    match err {
        Some(e) => Err((nreq, e)),
        None => Ok(()),
    }
}
