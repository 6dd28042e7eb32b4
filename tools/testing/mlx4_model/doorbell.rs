// SPDX-License-Identifier: GPL-2.0

//! Doorbells: the model reads the send and CQ doorbells the drivers write into the UAR pages
//! (the ivshmem BAR) and lets a queue run only once it was rung, as the hardware does.

use crate::engine::{be32, now_ms, QpView};
use crate::hca::{violation, CqRec, Hca, State};

/// Reads (and clears) the send and CQ doorbells of every UAR page in use, as the hardware
/// sees each write: a send doorbell (`qpn << 8` at 0x14) marks its QP rung, a CQ doorbell
/// (`sn << 28 | cmd | cqn` at 0x20, the consumer index at 0x24) records its arm request. A
/// doorbell naming no QP or CQ, or one of another UAR page, is a driver violation.
///
/// The BAR is memory, not registers: two doorbells on one page between two scans leave only
/// the second, so a write that replaced another counts in `*_db_writes`, and a queue whose
/// page was written since it was last idle may run (see `State::sq_rung`).
pub(crate) fn scan_doorbells(h: &Hca) {
    let in_use = h.state.lock().uars_in_use();
    let mut seen = 0;
    for (w, &bits) in in_use.iter().enumerate() {
        let mut bits = bits;
        while bits != 0 {
            let uar = (w * 64) as u32 + bits.trailing_zeros();
            bits &= bits - 1;
            let sq = h.uar_map.take(uar, 0x14, false) as u32;
            let cq = (h.uar_map.take(uar, 0x20, true) >> 32) as u32;
            if sq == 0 && cq == 0 {
                continue;
            }
            let mut s = h.state.lock();
            let u = uar as usize;
            if sq != 0 {
                seen += 1;
                s.sq_db_writes[u] = s.sq_db_writes[u].wrapping_add(1);
                let qpn = sq >> 8;
                match s.qps.get_mut(&qpn) {
                    Some(rec) if sq & 0xff == 0 && be32(rec.ctx.usr_page) & 0xff_ffff == uar => {
                        rec.rung = true;
                    }
                    Some(rec) => {
                        let owner = be32(rec.ctx.usr_page) & 0xff_ffff;
                        drop(s);
                        violation(
                            h,
                            format_args!(
                                "send doorbell {:#010x} on UAR {} for QP {:#x} of UAR {}",
                                sq, uar, qpn, owner
                            ),
                        );
                        continue;
                    }
                    None => {
                        // Late: rung on a QP destroyed in the last two seconds on this page.
                        let late = s.recently_gone(qpn, uar, now_ms());
                        drop(s);
                        if !late {
                            violation(
                                h,
                                format_args!(
                                    "send doorbell {:#010x} on UAR {} names no QP",
                                    sq, uar
                                ),
                            );
                        }
                        continue;
                    }
                }
            }
            if cq != 0 {
                seen += 1;
                s.cq_db_writes[u] = s.cq_db_writes[u].wrapping_add(1);
                let cqn = cq & 0xff_ffff;
                match s.cqs.get_mut(&cqn) {
                    Some(rec) if rec.uar == uar && cq & (3 << 24) != 0 => {
                        rec.arm_db = cq & 0xff00_0000;
                    }
                    _ => {
                        let late = s.recently_gone(cqn | crate::hca::GONE_CQ, uar, now_ms());
                        drop(s);
                        if !late {
                            violation(
                                h,
                                format_args!(
                                    "CQ doorbell {:#010x} on UAR {} names no CQ of that UAR",
                                    cq, uar
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
    if seen != 0 {
        use crate::hca::doorbells_param;
        doorbells_param::set(doorbells_param::get().wrapping_add(seen));
    }
}

impl State {
    /// Whether the send queue of `qp` may run: a doorbell named it since it was last idle, or
    /// its UAR page was written since (a doorbell for it may have been overwritten there).
    pub(crate) fn sq_rung(&self, qp: &QpView) -> bool {
        let writes = self.sq_db_writes.get(qp.uar as usize).copied().unwrap_or(0);
        self.qps
            .get(&qp.qpn)
            .is_some_and(|r| r.rung || r.idle_writes != writes)
    }

    /// The send queue of `qp` was found empty: the next WQE needs a doorbell again.
    pub(crate) fn sq_idle(&mut self, qp: &QpView) {
        let writes = self.sq_db_writes.get(qp.uar as usize).copied().unwrap_or(0);
        if let Some(r) = self.qps.get_mut(&qp.qpn) {
            r.rung = false;
            r.idle_writes = writes;
        }
    }

    /// Whether the arm request `arm` of `cq`'s doorbell record was also rung on its UAR page
    /// (the same `sn` and command), or may have been overwritten there by another CQ's.
    pub(crate) fn cq_rung(&self, cq: &CqRec, arm: u32) -> bool {
        let writes = self.cq_db_writes.get(cq.uar as usize).copied().unwrap_or(0);
        cq.arm_db != 0 && cq.arm_db == arm & 0xff00_0000 || cq.idle_writes != writes
    }

    /// `cqn` fired: the next event needs a new arm doorbell.
    pub(crate) fn cq_fired(&mut self, cqn: u32) {
        let Some(uar) = self.cqs.get(&cqn).map(|c| c.uar as usize) else {
            return;
        };
        let writes = self.cq_db_writes.get(uar).copied().unwrap_or(0);
        if let Some(cq) = self.cqs.get_mut(&cqn) {
            cq.arm_db = 0;
            cq.idle_writes = writes;
        }
    }
}
